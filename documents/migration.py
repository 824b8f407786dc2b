"""Which data migrations are applied (the runner keeps its state here)."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


class AppliedMigration(Document):
    name: str
    applied_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "migrations_applied"
        use_state_management = False
        indexes = [pymongo.IndexModel([("name", 1)], unique=True, name="name_unique")]
