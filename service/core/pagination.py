"""Opaque, tamper-evident cursors and the list envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from service.core.errors import invalid

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=100, description="page size (max 100)")]
CursorParam = Annotated[str | None, Query(max_length=1024, description="opaque cursor")]


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
