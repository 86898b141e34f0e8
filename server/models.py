"""Request bodies as pydantic models: the one place their rules are written.

Each model both validates the body (`parse_body(Model)`) and feeds the OpenAPI document
(`openapi_schemas()` in server/openapi.py), so the limits a client reads in /openapi.json are
the ones the server enforces. Failures keep the API's error shape: the first failing field
becomes a 400 `validation_error` naming it, with a sentence a person can act on.

Patterns are written so they hold in both regex dialects that read them: pydantic's (Rust
`regex`, where `$` is the true end) and OpenAPI's (ECMA 262, used by schemathesis).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from server.errors import ApiError
from server.validation import json_body, validation_error

USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 128
# login only checks the shape: the account rules are not revealed to someone guessing
LOGIN_USERNAME_MAX, LOGIN_PASSWORD_MAX = 256, 1024
TITLE_MAX = 200
BODY_MAX = 10_000

# Text PostgreSQL can store: no NUL characters (lone surrogates fail as "string_unicode").
NO_NUL = "^[^\\u0000]*$"
# ... and with at least one character that is neither a space nor NUL.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
USERNAME_PATTERN = f"^[A-Za-z0-9_.-]{{{USERNAME_MIN},{USERNAME_MAX}}}$"

# What a failed pattern means, in words (keyed by the pattern).
PATTERN_HINTS = {
    NO_NUL: "must not contain NUL (\\u0000) characters.",
    NOT_BLANK: "must not be blank.",
    USERNAME_PATTERN: "may contain only letters, digits, '_', '.' and '-'.",
}


def _text(min_length: int, max_length: int, pattern: str, **extra: Any) -> Any:
    return Field(min_length=min_length, max_length=max_length, pattern=pattern, **extra)


Username = Annotated[
    str,
    _text(USERNAME_MIN, USERNAME_MAX, USERNAME_PATTERN, description="Unique, case-insensitively."),
]
Password = Annotated[str, _text(PASSWORD_MIN, PASSWORD_MAX, NO_NUL)]
Title = Annotated[
    str, _text(1, TITLE_MAX, NOT_BLANK, description="Not blank (needs a non-space character).")
]
NoteBody = Annotated[str, _text(0, BODY_MAX, NO_NUL)]


class RequestBody(BaseModel):
    """Strict JSON types (no "1" for 1, no 1 for "1"); unknown fields are ignored.

    defer_build: a model's validator is built on first use, not at import, so a forked dev
    server child (devkit's reload) does not pay for models the request does not need."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)


class Credentials(RequestBody):
    username: Username
    password: Password


class LoginRequest(RequestBody):
    username: Annotated[str, _text(1, LOGIN_USERNAME_MAX, NO_NUL)]
    password: Annotated[str, _text(1, LOGIN_PASSWORD_MAX, NO_NUL)]


class NoteCreate(RequestBody):
    title: Title
    body: NoteBody = ""


class NoteUpdate(RequestBody):
    """Partial update: send title, body or both (null is not a value: leave the field out)."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["title"]}, {"required": ["body"]}]}
    )

    title: Title | None = None
    body: NoteBody | None = None

    @field_validator("title", "body", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # an explicit null: absent fields never reach this validator
            raise PydanticCustomError("string_type", "Input should be a valid string")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> NoteUpdate:
        if self.title is None and self.body is None:
            raise PydanticCustomError("nothing_to_update", "nothing to update")
        return self


REQUEST_MODELS: tuple[type[RequestBody], ...] = (Credentials, LoginRequest, NoteCreate, NoteUpdate)

M = TypeVar("M", bound=RequestBody)


def parse_body(model: type[M]) -> M:
    """The request's JSON body as `model`, or the API's 400/413/415 error."""
    data = json_body()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc) from None


def first_error(exc: ValidationError) -> ApiError:
    """The first failure as a 400 naming its field, in the words server/validation.py uses."""
    error = exc.errors(include_url=False)[0]
    field = str(error["loc"][0]) if error["loc"] else None
    return validation_error(field, _message(field, error))


def _message(field: str | None, error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "nothing_to_update":
        return "Send at least one of 'title' and 'body' to update."
    name = f"'{field}'"
    if kind == "missing":
        return f"{name} is required."
    if kind == "string_type":
        return f"{name} must be a string."
    if kind == "string_unicode":
        return f"{name} must be valid Unicode text (no unpaired surrogates)."
    if kind == "string_too_short":
        return f"{name} must be at least {ctx['min_length']} characters long."
    if kind == "string_too_long":
        return f"{name} must be at most {ctx['max_length']} characters long."
    if kind == "string_pattern_mismatch":
        if "\x00" in str(error.get("input", "")):
            return f"{name} {PATTERN_HINTS[NO_NUL]}"
        return f"{name} {PATTERN_HINTS.get(ctx.get('pattern', ''), 'has an invalid format.')}"
    return f"{name}: {error['msg']}."


def openapi_schemas() -> dict[str, Any]:
    """The request models as OpenAPI 3.0 component schemas (one per model, by class name)."""
    return {model.__name__: _openapi_30(model.model_json_schema()) for model in REQUEST_MODELS}


def _openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema 2020-12 from pydantic -> the OpenAPI 3.0 subset: no "title" noise, and an
    optional field (`X | None = None`, where null itself is refused) documented as plain X."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties":
            out[key] = {name: _property(prop) for name, prop in value.items()}
        else:
            out[key] = value
    return out


def _property(prop: dict[str, Any]) -> dict[str, Any]:
    prop = {k: v for k, v in prop.items() if k != "title"}
    variants = prop.pop("anyOf", None)
    if variants is not None:
        concrete = [v for v in variants if v.get("type") != "null"]
        if len(concrete) != 1:
            raise ValueError(f"cannot express {variants} in OpenAPI 3.0")
        prop = {**concrete[0], **prop}
        if prop.get("default", ...) is None:
            del prop["default"]
    return prop
