"""The dashboard must not shadow Textual's own members: Textual calls `App._flush(stderr=...)`
whenever something writes to stdout/stderr while the app runs (a warning, logging's fallback
handler, a thread's exception hook). A same-named method of ours broke that with a TypeError."""

from __future__ import annotations

import sys

from tests.ui.conftest import make_app
from tests.ui.scripted import ScriptedController


async def test_writing_to_stderr_while_the_dashboard_runs_is_harmless(
    controller: ScriptedController,
) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)) as pilot:
        print("a stray line on stderr", file=sys.stderr, flush=True)
        app._flush(stderr=True)  # what Textual's captured stderr calls on flush
        app._flush(stderr=False)
        await pilot.pause()
        assert app.is_running


async def test_widgets_keep_textuals_attributes(controller: ScriptedController) -> None:
    app = make_app(controller)
    async with app.run_test(size=(80, 24)):
        assert isinstance(app.log_view.visible, bool)  # Textual's DOMNode.visible
        assert not callable(app.devices.content)  # Textual's Static.content
