"""Operational records: idempotency keys, audit trail, indexer state, applied migrations."""

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


class AuditEvent(Document):
    action: str  # e.g. "auth.login_failed", "account.erased", "payout.created"
    actor_id: str | None = None
    subject_id: str | None = None
    ip: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "audit_events"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("created_at", -1)], name="recent"),
            pymongo.IndexModel([("actor_id", 1), ("created_at", -1)], name="actor_recent"),
        ]


class IndexerCheckpoint(Document):
    """Where a change source resumes; written only after Elasticsearch acknowledged a batch."""

    name: str  # e.g. "listings:changestream" or "listings:poll"
    resume_token: dict[str, Any] | None = None
    last_updated_at: datetime | None = None
    last_id: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "indexer_checkpoints"
        use_state_management = False
        indexes = [pymongo.IndexModel([("name", 1)], unique=True, name="name_unique")]


class DeadLetter(Document):
    """A search document Elasticsearch refused (e.g. mapping error), kept for a human."""

    listing_id: str
    version: int
    index: str
    error: dict[str, Any]
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "indexer_dead_letters"
        use_state_management = False
        indexes = [pymongo.IndexModel([("listing_id", 1), ("version", 1)], name="listing_ver")]


class AppliedMigration(Document):
    name: str
    applied_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "migrations_applied"
        use_state_management = False
        indexes = [pymongo.IndexModel([("name", 1)], unique=True, name="name_unique")]
