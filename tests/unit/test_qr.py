"""QR codes: the half-block text is a real, decodable code on dark and light terminals.

The text is turned back into pixels the way a terminal shows it (drawn half blocks in the
foreground colour, spaces in the background colour) and decoded with zbarimg.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from devkit.reach.qr import (
    FULL_QUIET_ZONE,
    MIN_QUIET_ZONE,
    fit,
    qr_matrix,
    render_qr_text,
    side_by_side,
    write_png,
)

DATA = "exp://192.168.77.1:8081"
TOP, BOTTOM = {"\u2580", "\u2588"}, {"\u2584", "\u2588"}

needs_zbar = pytest.mark.skipif(
    shutil.which("zbarimg") is None,
    reason="zbarimg not installed (Debian: apt-get install zbar-tools)",
)


def terminal_png(text: str, path, dark_terminal: bool, scale: int = 6, margin: int = 3):
    """Paint `text` as a terminal would: drawn halves in fg, the rest (and around it) in bg."""
    fg, bg = (255, 0) if dark_terminal else (0, 255)
    lines = text.split("\n")
    cols = max(len(line) for line in lines)
    rows = 2 * len(lines)
    image = Image.new("L", ((cols + 2 * margin) * scale, (rows + 2 * margin) * scale), bg)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            for half, drawn in ((0, char in TOP), (1, char in BOTTOM)):
                if drawn:
                    left, top = (x + margin) * scale, (2 * y + half + margin) * scale
                    image.paste(fg, (left, top, left + scale, top + scale))
    image.save(path)
    return path


def zbar(path) -> str:
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, f"zbarimg could not decode {path}: {result.stderr}"
    return result.stdout.strip()


@needs_zbar
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("quiet_zone", [FULL_QUIET_ZONE, MIN_QUIET_ZONE])
def test_text_rendering_decodes_on_the_matching_terminal(tmp_path, invert, quiet_zone):
    text = render_qr_text(DATA, invert=invert, quiet_zone=quiet_zone)
    png = terminal_png(text, tmp_path / "t.png", dark_terminal=not invert)
    assert zbar(png) == DATA


@needs_zbar
def test_default_rendering_is_not_readable_as_is_on_a_light_terminal(tmp_path):
    """Proves the colour choice matters: the default is made for dark terminals."""
    text = render_qr_text(DATA)
    png = terminal_png(text, tmp_path / "wrong.png", dark_terminal=False)
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() != DATA


def test_two_modules_per_character_and_quiet_zone():
    size = len(qr_matrix(DATA))
    total = size + 2 * FULL_QUIET_ZONE
    lines = render_qr_text(DATA).split("\n")
    assert len(lines) == (total + 1) // 2
    assert all(len(line) == total for line in lines)
    # dark terminal: the quiet zone is light, so it is drawn: two full rows of full blocks
    assert lines[0] == lines[1] == "\u2588" * total
    assert all(line[:FULL_QUIET_ZONE] == "\u2588" * FULL_QUIET_ZONE for line in lines[:-1])
    inverted = render_qr_text(DATA, invert=True).split("\n")
    assert inverted[0] == inverted[1] == " " * total
    assert set("".join(inverted)) <= {" ", "\u2580", "\u2584", "\u2588"}


def test_fit_keeps_four_modules_when_there_is_room_else_two():
    size = len(qr_matrix(DATA))
    assert fit(size, None) == 4
    assert fit(size, size + 8) == 4
    assert fit(size, size + 7) == 2
    narrow = render_qr_text(DATA, width=size + 5).split("\n")
    assert len(narrow[0]) == size + 4


def test_longer_data_makes_a_bigger_code():
    assert len(qr_matrix("http://192.168.77.1:5000/status")) > len(qr_matrix("exp://a:1"))


@needs_zbar
def test_png_export_decodes_with_white_quiet_zone(tmp_path):
    path = write_png(DATA, tmp_path / "sub" / "expo.png", box_size=8)
    assert zbar(path) == DATA
    image = Image.open(path).convert("L")
    size = len(qr_matrix(DATA))
    assert image.size == ((size + 8) * 8, (size + 8) * 8)
    assert image.getpixel((0, 0)) == 255 and image.getpixel((4 * 8 - 1, 4 * 8 - 1)) == 255
    assert image.getpixel((4 * 8, 4 * 8)) == 0  # top-left finder pattern starts there


def test_side_by_side_joins_or_refuses():
    joined = side_by_side(["ab\ncd\nef", "XY"], gap=2)
    assert joined == "ab  XY\ncd\nef"
    assert side_by_side(["abc", "def"], gap=2, width=7) is None
    assert side_by_side(["abc", "def"], gap=2, width=8) == "abc  def"
