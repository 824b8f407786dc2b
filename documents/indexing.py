"""The indexer's own state: change-source checkpoints and refused search documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


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
