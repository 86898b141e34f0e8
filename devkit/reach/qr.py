"""QR codes for the terminal (two modules per character, half blocks) and as PNG files.

Terminal colours: a QR code must be dark modules on a light background with a light quiet
zone around it. By default devkit assumes a dark terminal background with light text, so it
draws the *light* modules (and the quiet zone) with block characters and leaves the dark
modules as spaces. `invert=True` is for light-background terminals: dark modules are drawn.

Quiet zone: 4 modules, as the QR standard asks. When the terminal is too narrow for that,
`fit` drops to 2 modules, which phone cameras read fine in practice (the terminal border
around it is itself background colour); narrower than that, the code is printed anyway with a
warning from the caller, since a clipped code is useless either way.
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M

FULL_QUIET_ZONE = 4
MIN_QUIET_ZONE = 2
# index = top + 2 * bottom (1 = drawn): nothing, upper half, lower half, full block
_BLOCKS = (" ", "\u2580", "\u2584", "\u2588")


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the smallest code holding `data` (True = dark), without quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def fit(size: int, width: int | None) -> int:
    """The quiet zone (in modules) for a code of `size` modules in `width` columns."""
    if width is None or size + 2 * FULL_QUIET_ZONE <= width:
        return FULL_QUIET_ZONE
    return MIN_QUIET_ZONE


def render_qr_text(
    data: str, invert: bool = False, *, width: int | None = None, quiet_zone: int | None = None
) -> str:
    """The code as lines of half-block characters (see the module docstring for colours)."""
    modules = qr_matrix(data)
    size = len(modules)
    border = fit(size, width) if quiet_zone is None else quiet_zone
    total = size + 2 * border

    def drawn(row: int, col: int) -> int:
        if row >= total:  # below the last row: terminal background, never drawn
            return 0
        r, c = row - border, col - border
        dark = 0 <= r < size and 0 <= c < size and modules[r][c]
        return int(dark if invert else not dark)

    lines = []
    for row in range(0, total, 2):
        lines.append(
            "".join(_BLOCKS[drawn(row, col) + 2 * drawn(row + 1, col)] for col in range(total))
        )
    return "\n".join(lines)


def side_by_side(blocks: list[str], gap: int = 3, width: int | None = None) -> str | None:
    """Put text blocks next to each other; None when they do not fit in `width`."""
    split = [block.splitlines() for block in blocks]
    widths = [max((len(line) for line in lines), default=0) for lines in split]
    if width is not None and sum(widths) + gap * (len(blocks) - 1) > width:
        return None
    height = max(len(lines) for lines in split)
    rows = []
    for i in range(height):
        parts = [
            (lines[i] if i < len(lines) else "").ljust(w)
            for lines, w in zip(split, widths, strict=True)
        ]
        rows.append((" " * gap).join(parts).rstrip())
    return "\n".join(rows)


def write_png(
    data: str, path: Path | str, box_size: int = 10, quiet_zone: int = FULL_QUIET_ZONE
) -> Path:
    """Write the code as a PNG (black on white, full quiet zone); returns the path."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=quiet_zone)
    code.add_data(data)
    code.make(fit=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    code.make_image(fill_color="black", back_color="white").save(str(path))
    return path
