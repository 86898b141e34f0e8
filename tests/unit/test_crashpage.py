"""The crashed API's 503 body: what the person sees on a phone or in curl."""

from __future__ import annotations

import json

from devkit.warmfork.crashpage import body, response

CRASH = {
    "exception": "NameError",
    "message": "name 'db' is not defined",
    "file": "server/notes.py",
    "line": 42,
    "traceback": ["Traceback (most recent call last):", "NameError: name 'db' is not defined"],
}


def test_the_body_names_exception_file_and_line() -> None:
    error = json.loads(body(CRASH, development=True))["error"]
    assert error["code"] == "api_crashed"
    assert (error["exception"], error["file"], error["line"]) == (
        "NameError",
        "server/notes.py",
        42,
    )
    assert "NameError: name 'db' is not defined (server/notes.py, line 42)" in error["message"]
    assert error["traceback"][-1] == "NameError: name 'db' is not defined"


def test_the_traceback_is_only_shown_in_development() -> None:
    error = json.loads(body(CRASH, development=False))["error"]
    assert "traceback" not in error and error["line"] == 42


def test_the_response_is_a_complete_http_message() -> None:
    payload = body(CRASH, development=False)
    head, _, rest = response(payload).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert f"Content-Length: {len(payload)}".encode() in head
    assert b"Connection: close" in head and rest == payload
