"""Bookings (nights, hour slots) and orders (items) share one document."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import pymongo
from beanie import Document
from pydantic import BaseModel, Field, model_validator

from documents.listing import CancellationPolicy, Unit
from documents.values import Money, utcnow


class BookingStatus(StrEnum):
    pending = "pending"  # inserted, claim on the listing not yet confirmed
    requested = "requested"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    cancelled = "cancelled"
    withdrawn = "withdrawn"  # the guest took back a request before the host answered
    completed = "completed"
    failed = "failed"  # the claim lost its race; never visible as a live booking


class PriceBreakdown(BaseModel):
    """Computed server-side in minor units and frozen on the booking.

    `charged = subtotal - discount + cleaning_fee` is what the stay costs before the guest fee;
    the fees are shares of it. Bookings made before discounts and cleaning fees existed read
    with both zero (then charged == subtotal, as it was).
    """

    unit_price: Money
    units: int
    subtotal: Money
    discount: Money  # off the subtotal (weekly / monthly discount of a stay)
    cleaning_fee: Money  # once per stay
    guest_fee: Money
    commission: Money
    total: Money  # what the guest pays: charged + guest_fee
    host_payout: Money  # charged - commission

    @model_validator(mode="before")
    @classmethod
    def _zero_for_older_bookings(cls, data: Any) -> Any:
        if isinstance(data, dict) and "subtotal" in data:
            sub = data["subtotal"]
            cur = sub.currency if isinstance(sub, Money) else sub["currency"]
            for name in ("discount", "cleaning_fee"):
                if data.get(name) is None:
                    data = {**data, name: {"amount": 0, "currency": cur}}
        return data

    @property
    def charged(self) -> int:
        """subtotal - discount + cleaning_fee: the base of the fees, refunds and payouts."""
        return self.total.amount - self.guest_fee.amount


class Booking(Document):
    listing_id: str
    guest_id: str
    host_id: str
    unit: Unit
    start: datetime | None = None  # check_in (midnight) or first hour slot
    end: datetime | None = None  # check_out (midnight) or end of the last hour slot
    guests: int = 0
    seats: int = 0
    quantity: int = 0
    status: BookingStatus = BookingStatus.pending
    price: PriceBreakdown
    cancellation_policy: CancellationPolicy = CancellationPolicy.moderate
    category: str = ""  # the listing's category when booked (revenue reports group by it)
    # Set when cancelled: who cancelled and what the guest gets back (per policy, frozen).
    cancelled_by: str | None = None
    refund: Money | None = None
    refund_percent: int | None = None
    # Whether what this booking claimed on the listing has been given back (exactly once).
    released: bool = False
    # Whether the follow-up of its final status (money settled, claim released) is done; the
    # sweeper finishes bookings whose request crashed between the transition and this.
    finalized: bool = False
    expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "bookings"
        use_state_management = False
        indexes = [
            pymongo.IndexModel(
                [("guest_id", 1), ("created_at", -1), ("_id", -1)], name="guest_recent"
            ),
            pymongo.IndexModel(
                [("host_id", 1), ("created_at", -1), ("_id", -1)], name="host_recent"
            ),
            pymongo.IndexModel([("listing_id", 1), ("status", 1)], name="listing_status"),
            pymongo.IndexModel([("status", 1), ("expires_at", 1)], name="status_expiry"),
            pymongo.IndexModel([("finalized", 1), ("status", 1)], name="finalized_status"),
        ]
