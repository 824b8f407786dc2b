"""Claim and release: each is ONE conditional atomic update of the listing via apply_write.

The filter asserts that what the booking wants is still free; the update takes it and records a
`Hold`. Nothing is read first and written later, so two racing requests cannot both win: the
second finds the filter false and gets None (a 409 for the caller). Release is the mirror image,
conditional on the booking's hold still being there, so it can happen at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from documents import Booking, Hold, Listing, ListingStatus, Unit
from service.listings.store import apply_write

HOUR = timedelta(hours=1)


def hour_keys(start: datetime, end: datetime) -> list[str]:
    """The "YYYY-MM-DDTHH" (UTC) keys of the whole hours in [start, end)."""
    keys: list[str] = []
    t = start
    while t < end:
        keys.append(t.strftime("%Y-%m-%dT%H"))
        t += HOUR
    return keys


def no_overlap(start: datetime, end: datetime) -> dict[str, Any]:
    """Matches an array of periods none of which overlaps the half-open [start, end)."""
    return {"$not": {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}}


def claim_write(listing: Listing, booking: Booking) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (conditions, update) that claim what `booking` asks for on `listing`."""
    bid = str(booking.id)
    conditions: dict[str, Any] = {
        "status": ListingStatus.published.value,
        "unit": booking.unit.value,
        # Capacity read for validation must still be the capacity when the claim applies.
        "capacity": listing.capacity,
    }
    update: dict[str, Any] = {}
    if booking.unit == Unit.night:
        assert booking.start is not None and booking.end is not None
        conditions["availability.holds"] = no_overlap(booking.start, booking.end)
        conditions["availability.blocks"] = no_overlap(booking.start, booking.end)
        hold = Hold(booking_id=bid, start=booking.start, end=booking.end)
    elif booking.unit == Unit.hour:
        assert booking.start is not None and booking.end is not None
        most = listing.capacity - booking.seats  # seats already taken may not exceed this
        keys = hour_keys(booking.start, booking.end)
        for key in keys:
            conditions[f"availability.hour_seats.{key}"] = {"$not": {"$gt": most}}
        conditions["availability.blocks"] = no_overlap(booking.start, booking.end)
        update["$inc"] = {f"availability.hour_seats.{key}": booking.seats for key in keys}
        hold = Hold(booking_id=bid, start=booking.start, end=booking.end, seats=booking.seats)
    else:
        conditions["availability.stock_left"] = {"$gte": booking.quantity}
        update["$inc"] = {"availability.stock_left": -booking.quantity}
        hold = Hold(booking_id=bid, quantity=booking.quantity)
    update["$push"] = {"availability.holds": hold.model_dump()}
    return conditions, update


async def claim(listing: Listing, booking: Booking) -> Listing | None:
    """Take the nights/seats/stock for `booking`; None when they are not (or no longer) free."""
    conditions, update = claim_write(listing, booking)
    return await apply_write(ObjectId(booking.listing_id), update, conditions=conditions)


def release_write(booking: Booking) -> tuple[dict[str, Any], dict[str, Any]]:
    bid = str(booking.id)
    conditions: dict[str, Any] = {"availability.holds.booking_id": bid}
    update: dict[str, Any] = {"$pull": {"availability.holds": {"booking_id": bid}}}
    if booking.unit == Unit.hour:
        assert booking.start is not None and booking.end is not None
        update["$inc"] = {
            f"availability.hour_seats.{key}": -booking.seats
            for key in hour_keys(booking.start, booking.end)
        }
    elif booking.unit == Unit.item:
        update["$inc"] = {"availability.stock_left": booking.quantity}
    return conditions, update


async def release(booking: Booking) -> bool:
    """Give back what `booking` holds. True if this call released it, False if nothing was held
    (never claimed, already released, or the listing was deleted): the hold itself is the
    exactly-once guard. Either way nothing is held afterwards, which `released` records."""
    conditions, update = release_write(booking)
    pulled = await apply_write(ObjectId(booking.listing_id), update, conditions=conditions)
    await Booking.get_motor_collection().update_one(
        {"_id": booking.id}, {"$set": {"released": True}}
    )
    return pulled is not None
