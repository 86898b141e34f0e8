"""tests/unit is pure: logic over injected inputs, no database, no servers, no devkit processes.

A test here that asks for a PostgreSQL or server fixture is refused at collection with the
place it belongs (tests/integration, or tests/server for the API), so the fast suite stays fast
and runs where PostgreSQL is not installed.
"""

from __future__ import annotations

import pytest

IMPURE_FIXTURES = frozenset(
    {"pg_cluster", "pg_url", "migrated_template", "migrated_url", "run_server"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = IMPURE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used and "tests/unit/" in str(item.path).replace("\\", "/"):
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(sorted(used))}: tests/unit is pure; "
                "move it to tests/integration (or tests/server for the API)"
            )
