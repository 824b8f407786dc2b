"""Reviews API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from documents import Review
from documents.values import LongText, StrictModel


class ReviewIn(StrictModel):
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    text: LongText = ""


class ReviewOut(BaseModel):
    id: str
    booking_id: str
    listing_id: str
    guest_id: str
    rating: int
    text: str
    created_at: datetime

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(
            id=str(r.id),
            booking_id=r.booking_id,
            listing_id=r.listing_id,
            guest_id=r.guest_id,
            rating=r.rating,
            text=r.text,
            created_at=r.created_at,
        )
