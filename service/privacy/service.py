"""Export and erasure, testable without HTTP.

Erasure keeps the records the business must keep (bookings, payments, payouts, ledger entries,
reviews' ratings) but strips the person from them: the user record stays as a tombstone with an
unusable email and password, message texts are replaced, sessions are revoked, and the user's
listings are soft-deleted through the one writer path so the indexer removes them from search.
Wishlist entries, saved searches and notifications are deleted outright.
"""

from __future__ import annotations

from typing import Any

from beanie import Document

from documents import (
    AuditEvent,
    Booking,
    Conversation,
    LedgerEntry,
    Listing,
    Message,
    Notification,
    Payment,
    Payout,
    Review,
    SavedSearch,
    User,
    WishlistEntry,
)
from documents.values import utcnow
from service import audit
from service.core.sessions import SessionStore
from service.listings.store import apply_write

ERASED_DISPLAY_NAME = "Deleted user"
ERASED_MESSAGE_TEXT = "[message deleted by its author]"
# Not a valid argon2 hash: verification fails closed, nothing can ever log in with it.
UNUSABLE_PASSWORD = "!erased"
_EXPORT_CAP = 10_000  # per collection; an export is for a person, not a bulk dump


def _dump(doc: Document, exclude: set[str] | None = None) -> dict[str, Any]:
    return doc.model_dump(mode="json", exclude=exclude or set())


async def _all(model: type[Document], query: dict[str, Any]) -> list[dict[str, Any]]:
    rows = await model.find(query).sort("_id").limit(_EXPORT_CAP).to_list()
    return [_dump(r) for r in rows]


async def export(user: User) -> dict[str, Any]:
    uid = str(user.id)
    conversations = await _all(Conversation, {"participants": uid})
    conversation_ids = [c["id"] for c in conversations]
    return {
        "profile": _dump(user, exclude={"password_hash"}),
        "listings": await _all(Listing, {"owner_id": uid}),
        "bookings_as_guest": await _all(Booking, {"guest_id": uid}),
        "bookings_as_host": await _all(Booking, {"host_id": uid}),
        "reviews": await _all(Review, {"guest_id": uid}),
        "conversations": conversations,
        "messages": await _all(Message, {"conversation_id": {"$in": conversation_ids}}),
        "payments": await _all(Payment, {"guest_id": uid}),
        "payouts": await _all(Payout, {"host_id": uid}),
        "ledger_entries": await _all(LedgerEntry, {"account": {"$regex": f":{uid}$"}}),
        "audit_events": await _all(AuditEvent, {"$or": [{"actor_id": uid}, {"subject_id": uid}]}),
        "wishlist": await _all(WishlistEntry, {"user_id": uid}),
        "saved_searches": await _all(SavedSearch, {"user_id": uid}),
        "notifications": await _all(Notification, {"user_id": uid}),
        "exported_at": utcnow().isoformat(),
    }


async def erase(user: User, sessions: SessionStore, ip: str | None = None) -> dict[str, int]:
    """Anonymise the account; safe to re-run (every step is idempotent)."""
    uid = str(user.id)
    now = utcnow()
    await User.get_motor_collection().update_one(
        {"_id": user.id},
        {
            "$set": {
                "email": f"erased-{uid}@invalid",
                "display_name": ERASED_DISPLAY_NAME,
                "bio": "",
                "password_hash": UNUSABLE_PASSWORD,
                "erased_at": now,
                "updated_at": now,
            }
        },
    )
    messages = await Message.get_motor_collection().update_many(
        {"sender_id": uid, "text": {"$ne": ERASED_MESSAGE_TEXT}},
        {"$set": {"text": ERASED_MESSAGE_TEXT}},
    )
    revoked = await sessions.revoke_all(uid)
    # What the person kept for later is about them only: gone, not anonymised.
    wishlist = await WishlistEntry.get_motor_collection().delete_many({"user_id": uid})
    searches = await SavedSearch.get_motor_collection().delete_many({"user_id": uid})
    notes = await Notification.get_motor_collection().delete_many({"user_id": uid})
    removed = 0
    live = Listing.get_motor_collection().find(
        {"owner_id": uid, "deleted_at": None}, projection={"_id": 1}
    )
    async for row in live:
        # Through the writer path: the version bump is what tells the indexer to drop it.
        if await apply_write(row["_id"], {"$set": {"deleted_at": now}}) is not None:
            removed += 1
    counts = {
        "messages": messages.modified_count,
        "sessions": revoked,
        "listings": removed,
        "wishlist": wishlist.deleted_count,
        "saved_searches": searches.deleted_count,
        "notifications": notes.deleted_count,
    }
    await audit.record(audit.ACCOUNT_ERASED, actor_id=uid, subject_id=uid, ip=ip, **counts)
    return counts
