"""Secret masking: the one place that decides what a printed line may not show.

Used by the log buffers (every component line), the db tools and doctor (connection strings in
errors) and the probes. Two forms of connection string carry passwords: URLs
(postgresql://user:secret@host/db) and libpq key=value strings (host=... password=secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "****"
_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY)", re.IGNORECASE)
# scheme://user:password@host -> scheme://user:****@host
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#\s@]*:)([^@\s/]+)(@)")
# libpq key=value: password=secret or password='se cret' (quotes escaped with \')
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)", re.IGNORECASE)
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


class Masker:
    """Replaces known secret values, URL passwords and password=... with ****."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._values = values
        self._pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Masker:
        """Secrets are the values of variables whose names say they are secret."""
        return cls(value for name, value in env.items() if _SECRET_NAME.search(name))

    def __call__(self, text: str) -> str:
        if "://" in text and "@" in text:
            text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        if "=" in text and "assword" in text.lower():
            text = _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return text


_PLAIN = Masker()


def mask_url(url: str) -> str:
    """The password hidden in a connection string of either form:
    postgresql://user:secret@host/db -> postgresql://user:****@host/db,
    host=h password=secret dbname=d -> host=h password=**** dbname=d."""
    return _PLAIN(url)
