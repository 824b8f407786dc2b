"""Keyset cursors over (created_at or another time, _id), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from service.core.errors import ProblemError
from service.core.pagination import decode_cursor, encode_cursor


def decode_after(secret: str, cursor: str | None) -> tuple[datetime, ObjectId] | None:
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


def before(field: str, after: tuple[datetime, ObjectId] | None) -> dict[str, Any]:
    """The filter for rows strictly after `after` in (field desc, _id desc) order."""
    if after is None:
        return {}
    when, oid = after
    return {"$or": [{field: {"$lt": when}}, {field: when, "_id": {"$lt": oid}}]}
