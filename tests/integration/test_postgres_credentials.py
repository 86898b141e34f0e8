"""A cluster created with other credentials: authentication failure is permanent, so devkit says
so on the first attempt instead of retrying for the whole start timeout (issue 15 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.core.events import State
from devkit.host import pgcluster
from tests.integration.supervisor_helpers import Harness
from tests.integration.test_postgres_native import PASSWORD, pg_settings, supervisor
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(
    pgcluster.find_bindir() is None, reason="no PostgreSQL binaries: " + pgcluster.INSTALL_HINT
)


def failed_logins(h: Harness) -> int:
    return sum("password authentication failed" in line.text for line in h.sup.logs("postgres"))


async def test_wrong_password_for_an_existing_cluster_is_said_once(tmp_path: Path) -> None:
    port = free_port()
    first = pg_settings(tmp_path, port=port)
    async with Harness(supervisor(first)) as h:
        await h.state("postgres", State.HEALTHY, timeout=60)
    changed = pg_settings(tmp_path, port=port)
    changed.env["POSTGRES_PASSWORD"] = "a-new-password-1"  # type: ignore[index]
    changed.env["DATABASE_URL"] = changed.env["DATABASE_URL"].replace(  # type: ignore[index]
        PASSWORD, "a-new-password-1"
    )
    async with Harness(supervisor(changed)) as h:
        status = await h.state("postgres", State.CRASHED, timeout=20)
        assert "created with other credentials" in status.detail
        assert "retrying cannot help" in status.detail
        assert not h.sup.components["postgres"].wanted  # given up: not retried
        text = "\n".join(status.last_error)
        assert f"delete {first.state_dir / 'postgres'}" in text
        assert failed_logins(h) <= 1  # one attempt, not thousands
        assert "a-new-password-1" not in text
