"""What a user keeps for later: wishlisted listings, saved searches and their notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import Money, utcnow


class WishlistEntry(Document):
    """One listing on one user's wishlist; (user_id, listing_id) is unique (PUT is idempotent)."""

    user_id: str
    listing_id: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "wishlist_entries"
        use_state_management = False
        indexes = [
            pymongo.IndexModel(
                [("user_id", 1), ("listing_id", 1)], unique=True, name="user_listing_unique"
            ),
            pymongo.IndexModel(
                [("user_id", 1), ("created_at", -1), ("_id", -1)], name="user_recent"
            ),
        ]


class SavedSearch(Document):
    """Search parameters a user keeps, and what the alert job has already seen for them.

    `seen` maps each listing id the job has matched to the price (minor units) it last saw, so
    a listing is announced once as new and a price is announced only when it drops below the
    last one seen.
    """

    user_id: str
    name: str
    params: dict[str, Any]  # SearchFilters as JSON, re-validated on every run
    seen: dict[str, int] = Field(default_factory=dict)
    last_run_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "saved_searches"
        use_state_management = False
        indexes = [
            pymongo.IndexModel(
                [("user_id", 1), ("created_at", -1), ("_id", -1)], name="user_recent"
            ),
            pymongo.IndexModel([("last_run_at", 1)], name="last_run"),
        ]


class NotificationKind(StrEnum):
    new_listing = "new_listing"
    price_drop = "price_drop"


class Notification(Document):
    user_id: str
    kind: NotificationKind
    saved_search_id: str
    listing_id: str
    title: str
    price: Money
    previous_price: Money | None = None
    # One notification per (saved search, listing, kind, price): a re-run or a second worker
    # inserting the same one hits the unique index instead of notifying twice.
    dedupe_key: str
    read_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "notifications"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("dedupe_key", 1)], unique=True, name="dedupe_unique"),
            pymongo.IndexModel(
                [("user_id", 1), ("created_at", -1), ("_id", -1)], name="user_recent"
            ),
            pymongo.IndexModel([("user_id", 1), ("read_at", 1)], name="user_unread"),
        ]
