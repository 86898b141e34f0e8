"""Bundling errors read from Metro's (Expo CLI's) output.

Metro keeps answering /status while the app's code does not build: a syntax error in App.js
makes every bundle request a 500 (TransformError) and phones show a red screen, yet a /status
probe says "running". Expo CLI reports each bundle on its output, which is where devkit
learns of it (measured with Expo SDK 57):

    iOS Bundling failed 10ms index.js (1 module)
     ERROR  SyntaxError: /abs/client/App.js: Unexpected token, expected "," (7:27)
    <blank>, the code frame, then "    at ..." stack lines
    Android Bundling failed 11173ms index.js (732 modules)
    Unable to resolve "./nope" from "App.js"
    iOS Bundled 64ms index.js (1 module)        <- the next good build clears iOS's error

Errors are kept per platform: a good iOS bundle does not clear Android's failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from devkit.host.health import Problem

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_FAILED = re.compile(r"^(?P<platform>[A-Za-z][\w.-]*) Bundling failed \d+ms\b")
_BUNDLED = re.compile(r"^(?P<platform>[A-Za-z][\w.-]*) Bundled \d+ms\b")
_LEVEL = re.compile(r"^\s*(ERROR|WARN|LOG|INFO)\s+")
_STACK = re.compile(r"^\s+at \S")
MAX_LINES = 14  # message + code frame; the stack is left in the log


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text) if "\x1b" in text else text


@dataclass
class BundleErrors:
    """Feed it every output line; `problem` is the newest unresolved bundling error."""

    client_dir: str = ""  # absolute paths under it are shown relative (App.js, not /x/y/App.js)
    errors: dict[str, list[str]] = field(default_factory=dict)  # platform -> lines, oldest first
    _capturing: str | None = None

    def reset(self) -> None:
        self.errors.clear()
        self._capturing = None

    def feed(self, raw: str) -> bool:
        """Take one line; True when the set of errors changed (a new one, or one cleared).
        Lines added to an error's explanation also count: the panel shows them."""
        line = strip_ansi(raw).rstrip()
        if self.client_dir:
            line = line.replace(self.client_dir.rstrip("/") + "/", "")
        if match := _BUNDLED.match(line):
            self._capturing = None
            return self.errors.pop(match["platform"], None) is not None
        if match := _FAILED.match(line):
            platform = match["platform"]
            self.errors.pop(platform, None)  # re-inserted last: the newest is shown
            self.errors[platform] = []
            self._capturing = platform
            return True
        if self._capturing is None:
            return False
        lines = self.errors.get(self._capturing)
        if lines is None or _STACK.match(line) or line.strip() == "Import stack:":
            self._capturing = None
            return False
        if not lines and not line.strip():
            return False  # blank lines before the message
        lines.append(_LEVEL.sub("", line, count=1) if not lines else line)
        if len(lines) >= MAX_LINES:
            self._capturing = None
        return True

    @property
    def problem(self) -> Problem | None:
        if not self.errors:
            return None
        platform, lines = next(reversed(self.errors.items()))
        message = next((text.strip() for text in lines if text.strip()), "see Metro's log")
        others = [p for p in self.errors if p != platform]
        also = f" (also failing: {', '.join(others)})" if others else ""
        summary = f"{platform} bundle failed: {message}{also}"
        return Problem(summary, tuple(lines))
