"""`?`: every key binding with what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("↑ ↓", "select a component"),
    ("r", "restart the selected component"),
    ("s", "stop / start the selected component"),
    ("R", "restart every component"),
    ("a", "logs of all components / the selected one only"),
    ("/", "filter logs (text, or /regex/); Esc closes"),
    ("f", "follow: keep scrolling to the newest line"),
    ("c", "clear the log view"),
    ("e", "export the visible log to a file"),
    ("d", "devices: Expo Go QR code / URL table"),
    ("?", "this help"),
)
IN_PROCESS_KEYS = (("q  Ctrl-C", "quit (stops everything; press again to force)"),)
ATTACHED_KEYS = (
    ("q  Ctrl-C", "leave the dashboard; devkit keeps running (devkit attach to come back)"),
    ("X", "stop devkit: every component, like `devkit down` (press q again to force)"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss_help", "close", show=False)]

    def __init__(self, attached: bool = False) -> None:
        super().__init__()
        self.attached = attached

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, text in KEYS + (ATTACHED_KEYS if self.attached else IN_PROCESS_KEYS):
            table.add_row(key, text)
        title = "devkit dashboard keys (attached)" if self.attached else "devkit dashboard keys"
        with Vertical(id="help"):
            yield Static(f"[b]{title}[/b]\n")
            yield Static(table)
            yield Static("\n[dim]Esc or ? to close[/dim]")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
