"""`devkit web` in real headless Chromium: the page shows the components table with their
states. xterm.js draws on a canvas, so the text assertion reads what the page's websocket
received (a WebSocket wrapper installed before the page's scripts run), and a screenshot is
kept as an artifact (its path is printed). Without the token the server answers 403."""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.chromium import Chromium, chromium_binary
from tests.support.control import ControlProject, make_control_project, running
from tests.support.devkit_proc import Output, devkit, process_tree, still_alive_after
from tests.support.ports import free_port
from tests.support.wait import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_binary() is None, reason="chromium is not installed (apt-get install chromium)"
    ),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artifacts"
ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
CAPTURE = """
(() => {
  const Original = window.WebSocket;
  const decoder = new TextDecoder("utf-8");
  window.__devkitReceived = [];
  function Capturing(url, protocols) {
    const ws = protocols === undefined ? new Original(url) : new Original(url, protocols);
    ws.addEventListener("message", (event) => {
      const data = event.data;
      if (typeof data === "string") window.__devkitReceived.push(data);
      else if (data instanceof ArrayBuffer) window.__devkitReceived.push(decoder.decode(data));
      else if (data instanceof Blob) data.text().then((t) => window.__devkitReceived.push(t));
    });
    return ws;
  }
  Capturing.prototype = Original.prototype;
  Object.assign(Capturing, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Capturing;
})();
"""


@pytest.fixture
def project(tmp_path: Path) -> ControlProject:
    return make_control_project(tmp_path / "proj")


def received_text(browser: Chromium) -> str:
    raw = browser.evaluate("(window.__devkitReceived || []).join('')") or ""
    return ANSI.sub(" ", raw)


@pytest.mark.timeout(180)
def test_web_dashboard_in_chromium_shows_the_components_and_needs_the_token(
    project: ControlProject,
) -> None:
    binary = chromium_binary()
    assert binary is not None
    with running(project):
        port = free_port()
        web = devkit(project.root, "web", "--port", str(port))
        out = Output(web)
        browser = None
        try:
            out.wait("devkit dashboard: http://127.0.0.1:", 30)
            url = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", out.text)
            assert url is not None, out.text
            base = f"http://127.0.0.1:{port}/"
            for wrong in (base, base + "?token=wrong", base + "static/js/textual.js"):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(wrong, timeout=10)
                assert refused.value.code == 403

            browser = Chromium(binary)
            browser.open_page()
            browser.send("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
            browser.send("Page.navigate", url=url.group(1))

            def table_shown() -> bool:
                text = received_text(browser)  # type: ignore[arg-type]
                return all(
                    re.search(rf"{name}\s+process\s+healthy", text) for name in ("web", "speaker")
                )

            try:
                wait_for(table_shown, 60, interval=0.25, what="the components table in the page")
            except TimeoutError:
                raise AssertionError(received_text(browser)[-3000:]) from None
            text = received_text(browser)
            assert "component" in text and "all healthy" in text
            canvases = browser.evaluate(
                "document.querySelectorAll('.textual-terminal canvas').length"
            )
            assert canvases and canvases > 0
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "devkit-web-dashboard.png"
            wait_for(
                lambda: browser.evaluate("document.body.classList.contains('-first-byte')"), 10
            )
            browser.screenshot(shot)
            assert shot.stat().st_size > 5000  # a drawn page, not a blank one
            print(f"\nscreenshot of the web dashboard: {shot}")
            tree = process_tree(web.pid)
            assert len(tree) >= 2  # the server and the `devkit attach` it runs for the page
        finally:
            if browser is not None:
                browser.close()
            tree = process_tree(web.pid)
            web.send_signal(signal.SIGTERM)
            web.wait(20)
        assert still_alive_after(tree, 10) == []
