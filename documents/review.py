"""Reviews: one per completed booking."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


class Review(Document):
    booking_id: str
    listing_id: str
    guest_id: str
    rating: int = Field(ge=1, le=5)
    text: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    # True once the listing's review_summary $inc for this review has been applied; the repair
    # path recomputes summaries of listings with stale unsummarised reviews.
    summarized: bool = False

    class Settings:
        name = "reviews"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("booking_id", 1)], unique=True, name="booking_unique"),
            pymongo.IndexModel(
                [("listing_id", 1), ("created_at", -1), ("_id", -1)], name="listing_recent"
            ),
            pymongo.IndexModel([("summarized", 1), ("created_at", 1)], name="unsummarized"),
        ]
