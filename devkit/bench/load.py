"""What to load and how to report progress: shared by both drivers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from devkit.settings.masking import mask_url

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class LoadSpec:
    url: str  # the full URL of the endpoint under load
    requests: int = 1000
    concurrency: int = 10
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0  # per request (ab -s)
    keep_alive: bool = False  # the seed's ab command does not use -k

    def describe_headers(self) -> str:
        """Headers for display: the bearer token is a secret."""
        shown = []
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                scheme, _, _ = value.partition(" ")
                value = f"{scheme} ****"
            shown.append(f"{name}: {value}")
        return ", ".join(shown)

    @property
    def shown_url(self) -> str:
        return mask_url(self.url)


def no_progress(done: int, total: int) -> None:
    """The default progress callback: nothing."""
