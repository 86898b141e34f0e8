"""The throwaway cluster fixture itself: real server, per-test databases, 127.0.0.1 only."""

import psycopg


def test_fresh_database_is_isolated(pg_url: str, pg_cluster) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
    assert listen == "127.0.0.1"
    other = pg_cluster.create_database()
    with psycopg.connect(pg_cluster.url(other)) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone()[0] is None
    pg_cluster.drop_database(other)
