"""Opaque, tamper-evident cursors, keyset pages and the list envelope.

Every list of the API pages newest first over `(time field, _id)`: `before` is the Mongo filter
for the rows after a position, `decode_after` reads a position from a cursor and `next_page`
cuts the one extra row a store fetched (`limit + 1`) into the page and the next cursor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from bson import ObjectId
from fastapi import Query
from pydantic import BaseModel

from service.core.errors import ProblemError, invalid

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=100, description="page size (max 100)")]
CursorParam = Annotated[str | None, Query(max_length=1024, description="opaque cursor")]
After = tuple[datetime, ObjectId]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(secret: str, position: dict[str, Any]) -> str:
    payload = orjson.dumps(position, option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor stands for; a forged or garbled cursor is a 422 on `cursor`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:12], raw[12:]
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, expected):
            raise ValueError("bad signature")
        position = orjson.loads(payload)
        if not isinstance(position, dict):
            raise ValueError("not an object")
        return position
    except (ValueError, orjson.JSONDecodeError):
        raise invalid(["query", "cursor"], "invalid cursor") from None


# --- keyset pages over (time, _id), newest first ----------------------------------------------


def decode_after(secret: str, cursor: str | None) -> After | None:
    position = decode_cursor(secret, cursor)
    if position is None:
        return None
    try:
        when = datetime.fromisoformat(position["c"])
        oid = str(position["i"])
        if not ObjectId.is_valid(oid):
            raise ValueError(oid)
        return when, ObjectId(oid)
    except (KeyError, ValueError, TypeError):
        raise ProblemError(
            422,
            "cursor: invalid cursor",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


def encode_after(secret: str, when: datetime, oid: Any) -> str:
    return encode_cursor(secret, {"c": when.isoformat(), "i": str(oid)})


def before(field: str, after: After | None) -> dict[str, Any]:
    """The filter for rows strictly after `after` in (field desc, _id desc) order."""
    if after is None:
        return {}
    when, oid = after
    return {"$or": [{field: {"$lt": when}}, {field: when, "_id": {"$lt": oid}}]}


def next_page(
    secret: str, rows: Sequence[T], limit: int, field: str = "created_at"
) -> tuple[list[T], str | None]:
    """`rows` holds up to `limit + 1` rows: the page, and the cursor after it when one is left."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    last: Any = page[-1]
    return page, encode_after(secret, getattr(last, field), last.id)
