"""GET /openapi.json: the OpenAPI 3.0.3 description of every route the app serves.

The document is written out by hand (not generated from the routes) so a test can compare it
with `app.url_map`: a route added without documentation, or documentation for a route that
does not exist, fails that test. Every /api/v1/... operation is also served under /api/...
(the mobile app's alias) and is documented at both paths. The request-body schemas are not
written here: they are generated from the pydantic models that validate them (server/models.py).
"""

from __future__ import annotations

import copy
from importlib import metadata
from typing import Any

from flask import Blueprint, jsonify

from server.models import openapi_schemas
from server.notes import LIMIT_DEFAULT, LIMIT_MAX
from server.prefixes import ALIAS_PREFIX, API_PREFIX
from server.validation import BIGINT_MAX

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.0.3"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{description}"}


# Response bodies; the request bodies come from their pydantic models (server/models.py).
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "example": "validation_error"},
                    "message": {"type": "string"},
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "The request field at fault, or null.",
                    },
                },
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "created_at"],
        "properties": {
            "id": {"type": "integer", "format": "int64", "minimum": 1},
            "username": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "AuthResponse": {
        "type": "object",
        "required": ["token", "user"],
        "properties": {
            "token": {
                "type": "string",
                "description": "HS256 JWT; send it as 'Authorization: Bearer <token>'.",
            },
            "user": _ref("User"),
        },
    },
    "MeResponse": {
        "type": "object",
        "required": ["user"],
        "properties": {"user": _ref("User")},
    },
    "Note": {
        "type": "object",
        "required": ["id", "title", "body", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer", "format": "int64", "minimum": 1},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "NoteList": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref("Note")},
            "next_cursor": {
                "type": "string",
                "nullable": True,
                "description": "Pass as ?cursor= for the next (older) page; null on the last.",
            },
        },
    },
    "Status": {
        "type": "object",
        "required": ["status", "db"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "db": {"type": "string", "enum": ["ok", "down"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "version": {"type": "string"},
        },
    },
}

RESPONSES: dict[str, Any] = {
    "BadRequest": _json(
        _ref("Error"),
        "Invalid JSON (invalid_json), a field or query "
        "parameter failed validation (validation_error; `field` names it), or "
        "a malformed X-App-Version header (invalid_app_version).",
    ),
    "Unauthorized": _json(
        _ref("Error"), "Missing, expired or tampered bearer token (unauthorized)."
    ),
    "NotFound": _json(_ref("Error"), "No such note for this user (not_found)."),
    "PayloadTooLarge": _json(_ref("Error"), "Body above MAX_BODY_BYTES (payload_too_large)."),
    "UnsupportedMediaType": _json(
        _ref("Error"), "Body is not application/json (unsupported_media_type)."
    ),
    "UpgradeRequired": _json(
        _ref("Error"),
        "X-App-Version is below MIN_APP_VERSION (unsupported_version): update the app.",
    ),
    "ServiceUnavailable": _json(
        _ref("Error"), "The database is unreachable (db_unavailable); retry shortly."
    ),
}

PARAMETERS: dict[str, Any] = {
    "AppVersion": {
        "name": "X-App-Version",
        "in": "header",
        "required": False,
        "description": "The mobile app's version, e.g. 1.4.0. When MIN_APP_VERSION is set, "
        "an older version gets 426 and a malformed one 400.",
        "schema": {"type": "string"},
    },
    "NoteId": {
        "name": "note_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        404: "NotFound",
        413: "PayloadTooLarge",
        415: "UnsupportedMediaType",
        426: "UpgradeRequired",
        503: "ServiceUnavailable",
    }
    return {str(code): _error(names[code]) for code in codes}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


AUTHED: list[dict[str, list[str]]] = [{"bearerAuth": []}]
BODY_ERRORS = (400, 413, 415)

# API operations relative to the /api/v1 prefix: {path: {method: operation}}.
API_OPERATIONS: dict[str, dict[str, Any]] = {
    "/auth/register": {
        "post": {
            "operationId": "register",
            "tags": ["auth"],
            "summary": "Create an account and get a token.",
            "requestBody": _body("Credentials"),
            "responses": {
                "201": _json(_ref("AuthResponse"), "Account created."),
                "409": _json(_ref("Error"), "Username already taken (username_taken)."),
                **_errors(*BODY_ERRORS, 426, 503),
            },
        }
    },
    "/auth/login": {
        "post": {
            "operationId": "login",
            "tags": ["auth"],
            "summary": "Exchange username and password for a token.",
            "requestBody": _body("LoginRequest"),
            "responses": {
                "200": _json(_ref("AuthResponse"), "Logged in."),
                "401": _json(
                    _ref("Error"),
                    "Wrong username or password, one generic error (invalid_credentials).",
                ),
                **_errors(*BODY_ERRORS, 426, 503),
            },
        }
    },
    "/auth/me": {
        "get": {
            "operationId": "me",
            "tags": ["auth"],
            "summary": "The account the token belongs to.",
            "security": AUTHED,
            "responses": {
                "200": _json(_ref("MeResponse"), "The current user."),
                **_errors(400, 401, 426, 503),
            },
        }
    },
    "/notes": {
        "get": {
            "operationId": "listNotes",
            "tags": ["notes"],
            "summary": "The user's notes, newest first, one page at a time.",
            "security": AUTHED,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": LIMIT_MAX,
                        "default": LIMIT_DEFAULT,
                    },
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "Opaque next_cursor from the previous page.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _json(_ref("NoteList"), "One page of notes."),
                **_errors(400, 401, 426, 503),
            },
        },
        "post": {
            "operationId": "createNote",
            "tags": ["notes"],
            "summary": "Create a note.",
            "security": AUTHED,
            "requestBody": _body("NoteCreate"),
            "responses": {
                "201": {
                    **_json(_ref("Note"), "Note created."),
                    "headers": {
                        "Location": {
                            "description": "URL of the new note.",
                            "schema": {"type": "string"},
                        }
                    },
                },
                **_errors(*BODY_ERRORS, 401, 426, 503),
            },
        },
    },
    "/notes/{note_id}": {
        "parameters": [{"$ref": "#/components/parameters/NoteId"}],
        "get": {
            "operationId": "getNote",
            "tags": ["notes"],
            "summary": "One note.",
            "security": AUTHED,
            "responses": {
                "200": _json(_ref("Note"), "The note."),
                **_errors(400, 401, 404, 426, 503),
            },
        },
        "patch": {
            "operationId": "updateNote",
            "tags": ["notes"],
            "summary": "Change a note's title and/or body (updated_at moves).",
            "security": AUTHED,
            "requestBody": _body("NoteUpdate"),
            "responses": {
                "200": _json(_ref("Note"), "The updated note."),
                **_errors(*BODY_ERRORS, 401, 404, 426, 503),
            },
        },
        "delete": {
            "operationId": "deleteNote",
            "tags": ["notes"],
            "summary": "Delete a note.",
            "security": AUTHED,
            "responses": {
                "204": {"description": "Deleted."},
                **_errors(400, 401, 404, 426, 503),
            },
        },
    },
}

CORE_PATHS: dict[str, dict[str, Any]] = {
    "/status": {
        "get": {
            "operationId": "status",
            "tags": ["ops"],
            "summary": "Liveness and database health (exempt from the version gate).",
            "responses": {
                "200": _json(_ref("Status"), "Healthy."),
                "503": _json(_ref("Status"), "The database is unreachable (degraded)."),
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "tags": ["ops"],
            "summary": "Prometheus metrics (exempt from the version gate).",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "tags": ["ops"],
            "summary": "This document (exempt from the version gate).",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
}

METHODS = ("get", "put", "post", "patch", "delete")


def _with_prefix(prefix: str, alias: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in API_OPERATIONS.items():
        item = copy.deepcopy(item)
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            op.setdefault("parameters", []).append({"$ref": "#/components/parameters/AppVersion"})
            if alias:
                op["operationId"] += "Alias"
                op["description"] = f"Alias of {API_PREFIX}{path} (same behaviour)."
        paths[prefix + path] = item
    return paths


def _version() -> str:
    try:
        return metadata.version("devkit")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def build_document() -> dict[str, Any]:
    """The full OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "AIOS API",
            "version": _version(),
            "description": (
                "Accounts and notes for the AIOS app. Every /api/v1/... path is also served "
                'at /api/... . Errors are {"error": {"code", "message", "field"}}. '
                "Every response carries an X-Request-ID header."
            ),
        },
        "tags": [
            {"name": "auth", "description": "Accounts and tokens."},
            {"name": "notes", "description": "The user's own notes."},
            {"name": "ops", "description": "Health, metrics, this document."},
        ],
        "paths": {
            **copy.deepcopy(CORE_PATHS),
            **_with_prefix(API_PREFIX, alias=False),
            **_with_prefix(ALIAS_PREFIX, alias=True),
        },
        "components": {
            "schemas": {**openapi_schemas(), **copy.deepcopy(SCHEMAS)},
            "responses": copy.deepcopy(RESPONSES),
            "parameters": copy.deepcopy(PARAMETERS),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Any:
    return jsonify(build_document())
