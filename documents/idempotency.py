"""Idempotency keys: the first response to a key, kept (with a TTL) so a replay returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow

IDEMPOTENCY_TTL_S = 24 * 3600


class IdempotencyRecord(Document):
    """The first response to an Idempotency-Key, kept durably so a replay returns it."""

    key: str
    scope: str  # user id + route, so two users' keys never collide
    request_hash: str
    status_code: int | None = None  # None while the first request is still running
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "idempotency_records"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("scope", 1), ("key", 1)], unique=True, name="scope_key_unique"),
            pymongo.IndexModel(
                [("created_at", 1)], expireAfterSeconds=IDEMPOTENCY_TTL_S, name="ttl"
            ),
        ]
