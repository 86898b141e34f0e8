"""Bad input in .env is refused once, in settings, with the variable, the line and the fix
(issue 15 item 6, issue 12 item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.errors import ConfigError
from devkit.settings.config import load_settings, read_env_file


def project(tmp_path: Path, env: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tmp_path / ".env").write_text(env)
    return tmp_path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("PORT=0", "PORT=0 in .env: port 0 means 'any free port'"),
        ("PORT=99999", "PORT=99999 in .env is out of range (ports are 1 to 65535)"),
        ("PORT=abc", "PORT='abc' in .env is not a port number"),
        ("METRO_PORT=-1", "METRO_PORT='-1' in .env is not a port number"),
        ("POSTGRES_PORT=70000", "POSTGRES_PORT=70000 in .env is out of range"),
        ("POSTGRES_PORT=5432.5", "POSTGRES_PORT='5432.5' in .env is not a port number"),
    ],
)
def test_every_port_setting_is_checked_when_settings_load(
    tmp_path: Path, line: str, message: str
) -> None:
    root = project(tmp_path, f"A=1\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(root)
    assert message in caught.value.message
    name = line.split("=")[0]
    assert f"set {name} to a whole number from 1 to 65535" in caught.value.hint


def test_good_and_missing_ports(tmp_path: Path) -> None:
    settings = load_settings(project(tmp_path, "PORT=5001\nMETRO_PORT=\n"))
    assert (settings.api_port, settings.metro_port, settings.postgres_port) == (5001, 8081, 5432)


@pytest.mark.parametrize(
    ("text", "line", "quote"),
    [
        ('A=1\nX="abc\nB=2\n', 2, '"'),
        ("X='abc\n", 1, "'"),
        ('A=1\n\nP="ends with an escaped quote\\"\nB=2\n', 3, '"'),
    ],
)
def test_unterminated_quote_is_refused_with_its_line(
    tmp_path: Path, text: str, line: int, quote: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_env_file(env)
    assert f".env line {line}: the value of " in caught.value.message
    assert f"opens a {quote} quote that is not closed" in caught.value.message
    assert f"line {line} of {env}" in caught.value.hint
    captured = capsys.readouterr()
    assert "python-dotenv" not in captured.out + captured.err  # no library warning either


def test_quoted_values_that_are_fine(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('C="x y" # comment\nD=\'it\'\nE="a\\"b"\nF=a"b\nG=\n')
    assert read_env_file(env) == {"C": "x y", "D": "it", "E": 'a"b', "F": 'a"b', "G": ""}
