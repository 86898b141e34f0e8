"""A user's notes: create, list (cursor pagination, newest first), read, update, delete.

Every query is scoped by user id, so another user's note is indistinguishable from a
missing one (404). The list cursor is opaque to clients: base64url of
"<created_at ISO-8601>|<id>" of the last item returned, i.e. a keyset position.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from psycopg.rows import tuple_row

from server import db
from server.auth import require_auth, unauthorized
from server.errors import ApiError
from server.models import NoteCreate, NoteUpdate, parse_body
from server.validation import BIGINT_MAX, int_query_param, validation_error

bp = Blueprint("notes", __name__)

LIMIT_DEFAULT, LIMIT_MAX = 20, 100

_COLUMNS = "id, title, body, created_at, updated_at"
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]{1,200}")


_KEYS = ("id", "title", "body", "created_at", "updated_at")  # the order of _COLUMNS


def note_json(row: dict[str, Any]) -> dict[str, Any]:
    """A note for a response: datetimes stay datetimes, the app's JSON provider writes them
    as isoformat() does (server/jsonprovider.py)."""
    return {key: row[key] for key in _KEYS}


def note_item(row: tuple[Any, ...]) -> dict[str, Any]:
    """note_json of a row of _COLUMNS read as a tuple (the list reads tuples: a dict per row
    built by psycopg and then another by us cost a tenth of a list request)."""
    return dict(zip(_KEYS, row, strict=True))


def not_found() -> ApiError:
    return ApiError(404, "not_found", "No such note; it may have been deleted.")


def encode_cursor(created_at: datetime, note_id: int) -> str:
    raw = f"{created_at.isoformat()}|{note_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (created_at, id) position in a cursor; 400 for anything not made by us."""
    bad = validation_error("cursor", "Invalid cursor; pass next_cursor from a previous page.")
    if not _CURSOR_RE.fullmatch(cursor):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, id_text = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if created_at.tzinfo is None or not id_text.isascii() or not id_text.isdigit():
        raise bad
    note_id = int(id_text)
    if note_id > BIGINT_MAX:
        raise bad
    return created_at, note_id


def _fetch_own(conn: Any, note_id: int) -> dict[str, Any]:
    if not 0 < note_id <= BIGINT_MAX:
        raise not_found()
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM notes WHERE id = %s AND user_id = %s",
        (note_id, g.user_id),
    ).fetchone()
    if row is None:
        raise not_found()
    return row


@bp.get("/notes")
@require_auth
def list_notes() -> Any:
    limit = int_query_param("limit", default=LIMIT_DEFAULT, minimum=1, maximum=LIMIT_MAX)
    cursor = request.args.get("cursor")
    params: list[Any] = [g.user_id]
    where = "user_id = %s"
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        where += " AND (created_at, id) < (%s, %s)"
        params += [created_at, last_id]
    params.append(limit + 1)
    with db.single_statement() as conn:
        rows = (
            conn.cursor(row_factory=tuple_row)
            .execute(
                f"SELECT {_COLUMNS} FROM notes WHERE {where} "
                "ORDER BY created_at DESC, id DESC LIMIT %s",
                params,
            )
            .fetchall()
        )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][3], page[-1][0]) if len(rows) > limit else None
    return jsonify({"items": [note_item(r) for r in page], "next_cursor": next_cursor})


@bp.post("/notes")
@require_auth
def create_note() -> Any:
    note = parse_body(NoteCreate)
    title, body = note.title, note.body
    with db.connection() as conn:
        row = conn.execute(
            f"INSERT INTO notes (user_id, title, body) "
            f"SELECT id, %s, %s FROM users WHERE id = %s RETURNING {_COLUMNS}",
            (title, body, g.user_id),
        ).fetchone()
    if row is None:
        raise unauthorized("The account for this token no longer exists; register again.")
    response = jsonify(note_json(row))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_note", note_id=row["id"])
    return response


@bp.get("/notes/<int:note_id>")
@require_auth
def get_note(note_id: int) -> Any:
    with db.single_statement() as conn:
        return jsonify(note_json(_fetch_own(conn, note_id)))


@bp.patch("/notes/<int:note_id>")
@require_auth
def update_note(note_id: int) -> Any:
    change = parse_body(NoteUpdate)
    title, body = change.title, change.body
    with db.connection() as conn:
        _fetch_own(conn, note_id)
        row = conn.execute(
            f"UPDATE notes SET title = COALESCE(%s, title), body = COALESCE(%s, body), "
            f"updated_at = now() WHERE id = %s AND user_id = %s RETURNING {_COLUMNS}",
            (title, body, note_id, g.user_id),
        ).fetchone()
    if row is None:
        raise not_found()
    return jsonify(note_json(row))


@bp.delete("/notes/<int:note_id>")
@require_auth
def delete_note(note_id: int) -> Any:
    if not 0 < note_id <= BIGINT_MAX:
        raise not_found()
    with db.connection() as conn:
        row = conn.execute(
            "DELETE FROM notes WHERE id = %s AND user_id = %s RETURNING id",
            (note_id, g.user_id),
        ).fetchone()
    if row is None:
        raise not_found()
    return "", 204
