"""Bookings API shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from documents import Booking, BookingStatus, CancellationPolicy, PriceBreakdown, Unit
from documents.values import Money, StrictModel, as_utc


class BookingIn(StrictModel):
    """Nights: check_in, check_out, guests. Hour slots: start, end, seats. Items: quantity."""

    listing_id: str = Field(min_length=1, max_length=64)
    check_in: date | None = None
    check_out: date | None = None
    guests: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    start: datetime | None = None
    end: datetime | None = None
    seats: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)


class BookingOut(BaseModel):
    id: str
    listing_id: str
    guest_id: str
    host_id: str
    unit: Unit
    status: BookingStatus
    check_in: date | None = None
    check_out: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    guests: int
    seats: int
    quantity: int
    price: PriceBreakdown
    cancellation_policy: CancellationPolicy
    cancelled_by: str | None = None
    refund: Money | None = None
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: Booking) -> BookingOut:
        start = as_utc(b.start) if b.start else None
        end = as_utc(b.end) if b.end else None
        nightly = b.unit == Unit.night
        return cls(
            id=str(b.id),
            listing_id=b.listing_id,
            guest_id=b.guest_id,
            host_id=b.host_id,
            unit=b.unit,
            status=b.status,
            check_in=start.date() if nightly and start else None,
            check_out=end.date() if nightly and end else None,
            start=start,
            end=end,
            guests=b.guests,
            seats=b.seats,
            quantity=b.quantity,
            price=b.price,
            cancellation_policy=b.cancellation_policy,
            cancelled_by=b.cancelled_by,
            refund=b.refund,
            expires_at=b.expires_at if b.status == BookingStatus.requested else None,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )
