from __future__ import annotations

import threading

from devkit.core.logbuf import LogStore, Masker, mask_url


def test_ring_buffers_are_bounded_per_component_and_merged_keeps_order() -> None:
    store = LogStore(lines_per_component=3, merged_lines=4)
    for i in range(5):
        store.append("api", f"a{i}")
    store.append("metro", "m0")
    assert [x.text for x in store.lines("api")] == ["a2", "a3", "a4"]
    assert [x.text for x in store.lines()] == ["a2", "a3", "a4", "m0"]
    assert [x.text for x in store.lines("api", limit=2)] == ["a3", "a4"]
    assert store.lines("nobody") == []
    assert store.total == 6


def test_secret_values_and_url_passwords_are_masked() -> None:
    masker = Masker.from_env(
        {
            "JWT_SECRET": "jwt-very-secret-value",
            "POSTGRES_PASSWORD": "pg-pw-1",
            "PORT": "5000",
            "API_TOKEN": "tok-abc",
        }
    )
    store = LogStore(10, masker)
    line = store.append("api", "token jwt-very-secret-value pw pg-pw-1 tok-abc port 5000")
    assert line.text == "token **** pw **** **** port 5000"
    url = store.append("api", "connecting to postgresql://aios:hunter2x@127.0.0.1:5432/aios")
    assert url.text == "connecting to postgresql://aios:****@127.0.0.1:5432/aios"
    assert mask_url("redis://:pa55@host:6379/0") == "redis://:****@host:6379/0"
    assert mask_url("http://example.com/a@b") == "http://example.com/a@b"


def test_short_values_are_not_treated_as_secrets() -> None:
    masker = Masker(["ab", ""])
    assert masker("ab cd") == "ab cd"


def test_appends_from_many_threads_are_all_kept_within_bounds() -> None:
    store = LogStore(lines_per_component=1000, merged_lines=5000)

    def writer(name: str) -> None:
        for i in range(500):
            store.append(name, str(i))

    threads = [threading.Thread(target=writer, args=(f"c{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.total == 2000
    assert all(len(store.lines(f"c{n}")) == 500 for n in range(4))
    assert len(store.lines()) == 2000
