"""Conversations: one per (listing, guest), between the guest and the listing's owner.

Only the two participants can see a conversation (anyone else gets 404). Unread counts live on
the conversation per participant: a message `$inc`s the other side's counter in the same update
that moves `last_message_at`; reading the messages resets the reader's counter to zero.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import Conversation, ListingStatus, Message, User
from documents.values import utcnow
from service import parties
from service.core.errors import invalid, not_found
from service.core.pagination import After, before
from service.listings.store import get_live


async def start(user: User, *, listing_id: str, text: str, booking_id: str | None) -> Conversation:
    """Open (or continue) the conversation about a listing and post the first message.

    A guest writes to the owner. The owner can write to a guest only about a booking of theirs
    (booking_id), since otherwise there is no guest to address."""
    if not ObjectId.is_valid(listing_id):
        raise invalid("listing_id", "not a listing id")
    listing = await get_live(ObjectId(listing_id))
    uid = str(user.id)
    if listing is None or (listing.status != ListingStatus.published and listing.owner_id != uid):
        raise not_found("listing")
    guest_id = uid
    if booking_id is not None:
        if not ObjectId.is_valid(booking_id):
            raise invalid("booking_id", "not a booking id")
        booking = await parties.visible(ObjectId(booking_id), user)
        if booking.listing_id != listing_id:
            raise invalid("booking_id", "belongs to another listing")
        guest_id = booking.guest_id
    if guest_id == listing.owner_id:
        raise invalid("listing_id", "you cannot start a conversation with yourself")
    now = utcnow()
    conversation = Conversation(
        listing_id=listing_id,
        guest_id=guest_id,
        host_id=listing.owner_id,
        booking_id=booking_id,
        participants=[guest_id, listing.owner_id],
        unread={guest_id: 0, listing.owner_id: 0},
        last_message_at=now,
        created_at=now,
    )
    try:
        await conversation.insert()
    except DuplicateKeyError:
        raw = await Conversation.get_motor_collection().find_one(
            {"listing_id": listing_id, "guest_id": guest_id}
        )
        conversation = Conversation.model_validate(raw)
        if booking_id is not None and conversation.booking_id is None:
            await Conversation.get_motor_collection().update_one(
                {"_id": conversation.id, "booking_id": None}, {"$set": {"booking_id": booking_id}}
            )
    await post(user, conversation_id=conversation.id, text=text)
    return await get(user, conversation_id=conversation.id)


async def get(user: User, *, conversation_id: Any) -> Conversation:
    raw = await Conversation.get_motor_collection().find_one(
        {"_id": conversation_id, "participants": str(user.id)}
    )
    if raw is None:
        raise not_found("conversation")
    return Conversation.model_validate(raw)


async def post(user: User, *, conversation_id: Any, text: str) -> Message:
    conversation = await get(user, conversation_id=conversation_id)
    uid = str(user.id)
    other = next(p for p in conversation.participants if p != uid)
    message = Message(conversation_id=str(conversation.id), sender_id=uid, text=text)
    await message.insert()
    await Conversation.get_motor_collection().find_one_and_update(
        {"_id": conversation.id},
        {"$inc": {f"unread.{other}": 1}, "$max": {"last_message_at": message.created_at}},
        return_document=ReturnDocument.AFTER,
    )
    return message


async def messages(
    user: User, *, conversation_id: Any, limit: int, after: After | None
) -> list[Message]:
    """Newest first; reading resets the reader's unread counter."""
    conversation = await get(user, conversation_id=conversation_id)
    query: dict[str, Any] = {
        "conversation_id": str(conversation.id),
        **before("created_at", after),
    }
    cursor = (
        Message.get_motor_collection()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    rows = [Message.model_validate(raw) async for raw in cursor]
    if after is None:
        await Conversation.get_motor_collection().update_one(
            {"_id": conversation.id}, {"$set": {f"unread.{user.id}": 0}}
        )
    return rows


async def conversations(user: User, *, limit: int, after: After | None) -> list[Conversation]:
    query: dict[str, Any] = {"participants": str(user.id), **before("last_message_at", after)}
    cursor = (
        Conversation.get_motor_collection()
        .find(query)
        .sort([("last_message_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    return [Conversation.model_validate(raw) async for raw in cursor]
