"""The app's JSON responses (server/jsonprovider.py): orjson, datetimes as isoformat() writes
them, Flask's `default` for the rest, a trailing newline as Flask's own provider writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from flask import Flask, jsonify

from server.jsonprovider import OrjsonProvider


def app_with(payload: object) -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)

    @app.get("/")
    def view() -> object:
        return jsonify(payload)

    return app


def body_of(payload: object) -> bytes:
    response = app_with(payload).test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.data


def test_datetimes_are_written_as_isoformat_writes_them() -> None:
    stamps = [
        datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 12, 0, 0, 120000, tzinfo=UTC),
        datetime(2024, 7, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=-3))),
        datetime(2024, 1, 1, 8, 30),
    ]
    assert json.loads(body_of(stamps)) == [stamp.isoformat() for stamp in stamps]
    assert json.loads(body_of({"day": date(2024, 2, 29)})) == {"day": "2024-02-29"}


def test_compact_keys_in_order_and_a_final_newline() -> None:
    assert body_of({"b": 1, "a": [1, 2], 3: None}) == b'{"b":1,"a":[1,2],"3":null}\n'


def test_text_round_trips_and_unknown_types_go_to_flask_default() -> None:
    data = {"title": "caf\u00e9 \u2603 \U0001f600", "price": Decimal("1.10")}
    assert json.loads(body_of(data)) == {"title": data["title"], "price": "1.10"}


def test_dumps_with_json_module_arguments_uses_the_json_module() -> None:
    app = Flask(__name__)
    provider = OrjsonProvider(app)
    assert provider.dumps({"a": 1}) == '{"a":1}'
    assert provider.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'
