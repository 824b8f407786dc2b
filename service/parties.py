"""Who may see and act on a booking: its two parties, the guest and the host.

Shared by bookings, payments, reviews and messaging, so that none of them imports another
money domain for a party check.
"""

from __future__ import annotations

from bson import ObjectId

from documents import Booking, BookingStatus, User
from service.core.errors import forbidden, not_found

# Never shown to anyone: a pending booking has not claimed yet, a failed one lost its claim.
HIDDEN = {BookingStatus.pending, BookingStatus.failed}


async def load(booking_id: ObjectId) -> Booking | None:
    raw = await Booking.get_motor_collection().find_one({"_id": booking_id})
    return None if raw is None else Booking.model_validate(raw)


async def record_refund(booking_id: str, amount: int, currency: str) -> None:
    """What was actually returned to the guest (payments calls it once a refund went out)."""
    await Booking.get_motor_collection().update_one(
        {"_id": ObjectId(booking_id)},
        {"$set": {"refund": {"amount": amount, "currency": currency}}},
    )


async def visible(booking_id: ObjectId, user: User) -> Booking:
    """The booking if `user` is its guest or host; 404 for everyone else (they may not know it)."""
    booking = await load(booking_id)
    uid = str(user.id)
    if (
        booking is None
        or booking.status in HIDDEN
        or uid not in (booking.guest_id, booking.host_id)
    ):
        raise not_found("booking")
    return booking


async def as_guest(booking_id: ObjectId, user: User) -> Booking:
    booking = await visible(booking_id, user)
    if booking.guest_id != str(user.id):
        raise forbidden("only the guest of this booking may do this")
    return booking


async def as_host(booking_id: ObjectId, user: User) -> Booking:
    booking = await visible(booking_id, user)
    if booking.host_id != str(user.id):
        raise forbidden("only the listing's owner may do this")
    return booking
