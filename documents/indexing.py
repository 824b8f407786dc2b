"""The indexer's own state: change-source checkpoints, the writer lease, and refused search
documents."""

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
    # The lease epoch of the indexer that last wrote this checkpoint: a holder with an older
    # epoch (one that lost its lease without noticing) can no longer move it.
    fence: int | None = None
    resume_token: dict[str, Any] | None = None
    last_updated_at: datetime | None = None
    last_id: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "indexer_checkpoints"
        use_state_management = False
        indexes = [pymongo.IndexModel([("name", 1)], unique=True, name="name_unique")]


class IndexerLease(Document):
    """Who may write an index alias: one active `marketplace indexer run` per alias.

    `_id` is the alias, so two processes that both find the lease free cannot both create it
    (the second upsert fails on the `_id` key). There is deliberately no TTL index: expiry is
    a field compared on acquisition, and the document (with its epoch) outlives every holder,
    so epochs only grow and can fence checkpoint writes.
    """

    id: str  # type: ignore[assignment]  # the index alias, e.g. "listings"
    holder: str  # "host:pid:random" of the process holding it
    epoch: int = 0  # +1 on every acquisition: the fencing token
    acquired_at: datetime = Field(default_factory=utcnow)
    renewed_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "indexer_leases"
        use_state_management = False


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
