"""GET /metrics: Prometheus text with request counts, latency, errors and pool figures."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from server.config import Config


def samples(client: FlaskClient) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def requests_total(found: dict, route: str, status: str, method: str = "GET") -> float:
    key = (
        "aios_http_requests_total",
        tuple(sorted({"route": route, "status": status, "method": method}.items())),
    )
    return found.get(key, 0.0)


def test_counts_by_route_and_status(client: FlaskClient) -> None:
    assert requests_total(samples(client), "/status", "200") == 0
    client.get("/status")
    client.get("/status")
    client.get("/missing/1")
    found = samples(client)
    assert requests_total(found, "/status", "200") == 2
    assert requests_total(found, "unmatched", "404") == 1
    latency_count = (
        "aios_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/status")),
    )
    assert found[latency_count] == 2


def test_routes_with_parameters_share_one_label(client: FlaskClient) -> None:
    rules = [r.rule for r in client.application.url_map.iter_rules() if "<" in r.rule]
    client.get("/api/v1/notes/1")
    client.get("/api/v1/notes/2")
    found = samples(client)
    routes = {
        dict(labels).get("route") for (name, labels) in found if name == "aios_http_requests_total"
    }
    assert not any(r.startswith("/api/v1/notes/") and "<" not in r for r in routes if r)
    assert any(r in rules for r in routes if r)


def test_errors_and_pool_figures(server_config: Config, make_app: Callable[..., Flask]) -> None:
    app = make_app(server_config, db_pool_min=1, db_pool_max=4)

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("x")

    client = app.test_client()
    client.get("/bug")
    client.get("/status")
    found = samples(client)
    assert found[("aios_http_errors_total", (("route", "/bug"), ("status", "500")))] == 1
    assert found[("aios_db_pool_max", ())] == 4
    assert found[("aios_db_pool_min", ())] == 1
    assert found[("aios_db_requests_num", ())] >= 1
    assert found[("aios_db_pool_size", ())] >= 1


def test_apps_do_not_share_counters(server_config: Config, make_app: Callable[..., Flask]) -> None:
    one, two = make_app(server_config).test_client(), make_app(server_config).test_client()
    one.get("/status")
    assert requests_total(samples(one), "/status", "200") == 1
    assert requests_total(samples(two), "/status", "200") == 0


def test_unknown_methods_are_grouped(client: FlaskClient) -> None:
    client.open("/status", method="BREW")
    client.open("/status", method="FROB")
    assert requests_total(samples(client), "unmatched", "405", method="OTHER") == 2
