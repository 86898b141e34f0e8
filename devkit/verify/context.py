"""What a verify run knows: the URL, how to trust its certificate, the test user, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from devkit.errors import DevkitError

API_PREFIX = "/api"


@dataclass
class VerifyContext:
    url: str  # the deployment's base URL, e.g. https://api.example.com
    ca_file: Path | None = None  # trust this CA (a self-signed one in tests)
    insecure: bool = False  # certificate problems warn instead of failing
    user: str | None = None
    password: str | None = None
    http_port: int | None = None  # where plain http listens (default 80)
    timeout: float = 5.0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # set by the certificate check: the HTTP checks then run without verification so that
    # one bad certificate is one failure, not every check failing its handshake
    cert_trusted: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DevkitError(
                f"{self.url!r} is not an http(s) URL",
                "give the deployment's base URL, e.g. devkit verify https://api.example.com",
            )
        if self.ca_file is not None and not self.ca_file.is_file():
            raise DevkitError(
                f"--ca-file {self.ca_file}: no such file", "give the CA certificate (PEM) path"
            )
        self.url = f"{parts.scheme}://{parts.netloc}"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

    @property
    def http_url(self) -> str:
        """The same host over plain http (what must redirect to https)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = self.http_port or 80
        return f"http://{host}" + ("" if port == 80 else f":{port}")
