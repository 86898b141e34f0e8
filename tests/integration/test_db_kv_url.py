"""DATABASE_URL in libpq's key=value form: the db tools accept it as `up` does, and no command
prints its password, right or wrong (issue 15 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.dbtools.target import DbTarget
from tests.integration.db_helpers import seed
from tests.integration.test_db_cli import devkit
from tests.support.devkit_proc import run_devkit


def kv_project(tmp_path: Path, pg_url: str, password: str) -> Path:
    target = DbTarget.from_url(pg_url)
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (root / ".env").write_text(
        f"POSTGRES_PASSWORD={password}\nPOSTGRES_PORT={target.port}\nBACKUP_DIR=dumps\n"
        f"DATABASE_URL=host=127.0.0.1 port={target.port} user={target.user} "
        f"password={password} dbname={target.dbname}\n"
    )
    return root


def test_key_value_url_works_for_the_db_tools(tmp_path: Path, pg_url: str) -> None:
    seed(pg_url)
    secret = DbTarget.from_url(pg_url).password
    root = kv_project(tmp_path, pg_url, secret)
    for args in (("status",), ("backup",)):
        done = devkit(root, *args)
        assert done.returncode == 0, done.stderr
        assert secret not in done.stdout + done.stderr
    assert "pending" in devkit(root, "status").stdout


@pytest.mark.parametrize("command", [("db", "status"), ("db", "backup"), ("doctor",)])
def test_a_wrong_key_value_password_is_never_printed(
    tmp_path: Path, pg_url: str, command: tuple[str, ...]
) -> None:
    wrong = "Wr0ngButSecret-9f3k"
    root = kv_project(tmp_path, pg_url, wrong)
    done = run_devkit(root, *command, timeout=90)
    assert done.returncode == 1
    both = done.stdout + done.stderr
    assert "password authentication failed" in both
    assert wrong not in both
    assert "Traceback" not in both
