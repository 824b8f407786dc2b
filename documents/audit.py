"""The audit trail: who did what to whom, append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


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
