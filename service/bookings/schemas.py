"""Bookings API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from documents import Booking, BookingStatus, CancellationPolicy, PriceBreakdown, Unit
from documents.values import Money, StrictModel, as_utc

ListingId = Annotated[str, Field(min_length=1, max_length=64)]


class BookingNightsIn(StrictModel):
    """Book nights of a `unit: night` listing: [check_in, check_out)."""

    listing_id: ListingId
    check_in: date
    check_out: date
    guests: int = Field(default=1, ge=1, le=10_000)


class BookingSlotsIn(StrictModel):
    """Book seats in whole UTC hours of a `unit: hour` listing: [start, end)."""

    listing_id: ListingId
    start: datetime
    end: datetime
    seats: int = Field(default=1, ge=1, le=10_000)


class BookingItemsIn(StrictModel):
    """Order `quantity` items of a `unit: item` listing."""

    listing_id: ListingId
    quantity: int = Field(ge=1, le=1_000_000)


SHAPES: tuple[type[StrictModel], ...] = (BookingNightsIn, BookingSlotsIn, BookingItemsIn)


class BookingIn(StrictModel):
    """Nights: check_in, check_out, guests. Hour slots: start, end, seats. Items: quantity.

    Published as `oneOf` the three named shapes above (which fields are present tells them
    apart), so generated clients cannot mix them; the server reads the same JSON into this one
    model and names the offending field in a 422 (a field of another shape, a missing one)."""

    listing_id: ListingId
    check_in: date | None = None
    check_out: date | None = None
    guests: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    start: datetime | None = None
    end: datetime | None = None
    seats: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Inline here; service.core.openapi_shapes names them in /openapi.json.
        shapes: list[dict[str, Any]] = [handler(s.__pydantic_core_schema__) for s in SHAPES]
        return {"title": "BookingIn", "oneOf": shapes}


# `none` until the guest starts paying; then the status of the booking's current payment.
BookingPaymentStatus = Literal[
    "none", "requires_payment", "succeeded", "failed", "refunded", "partially_refunded"
]


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
    payment_status: BookingPaymentStatus = "none"
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: Booking, payment_status: str = "none") -> BookingOut:
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
            payment_status=payment_status,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )
