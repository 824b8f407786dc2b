"""Wishlists: a user's saved listings, and the `saved` flag on search results.

The flag is computed per request after the Elasticsearch query (one indexed Mongo look-up of
the page's ids), so search results themselves stay the same for every caller.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pymongo.errors
from bson import ObjectId

from documents import Listing, ListingStatus, User, WishlistEntry
from documents.values import utcnow
from service.core.errors import not_found
from service.core.pagination import After, before


async def saved_among(user_id: str, listing_ids: list[str]) -> set[str]:
    if not listing_ids:
        return set()
    rows = WishlistEntry.get_motor_collection().find(
        {"user_id": user_id, "listing_id": {"$in": listing_ids}}, projection={"listing_id": 1}
    )
    return {row["listing_id"] async for row in rows}


async def mark_saved(user: User | None, hits: list[dict[str, Any]]) -> None:
    """Sets `saved` on each hit for a signed-in caller; leaves anonymous hits unchanged."""
    if user is None:
        return
    saved = await saved_among(str(user.id), [h["id"] for h in hits])
    for h in hits:
        h["saved"] = h["id"] in saved


async def add(user: User, *, listing_id: ObjectId) -> None:
    """Idempotent: saving a saved listing changes nothing. A listing the caller may not see
    (someone else's draft, deleted, unknown) is 404."""
    listing = await Listing.find_one({"_id": listing_id, "deleted_at": None})
    visible = listing is not None and (
        listing.status == ListingStatus.published or listing.owner_id == str(user.id)
    )
    if not visible:
        raise not_found("listing")
    # A concurrent PUT of the same entry may win the upsert: same outcome.
    with contextlib.suppress(pymongo.errors.DuplicateKeyError):
        await WishlistEntry.get_motor_collection().update_one(
            {"user_id": str(user.id), "listing_id": str(listing_id)},
            {"$setOnInsert": {"created_at": utcnow()}},
            upsert=True,
        )


async def remove(user: User, *, listing_id: ObjectId) -> None:
    """Idempotent: removing an entry that is not there is fine."""
    await WishlistEntry.get_motor_collection().delete_one(
        {"user_id": str(user.id), "listing_id": str(listing_id)}
    )


async def page(
    user: User, *, limit: int, after: After | None
) -> list[tuple[WishlistEntry, Listing | None]]:
    """Newest saved first, `limit + 1` rows, each with its listing (None once deleted)."""
    query = {"user_id": str(user.id), **before("created_at", after)}
    found = WishlistEntry.find(query).sort([("created_at", -1), ("_id", -1)])
    entries = await found.limit(limit + 1).to_list()
    ids = [ObjectId(e.listing_id) for e in entries if ObjectId.is_valid(e.listing_id)]
    listings = {str(li.id): li for li in await Listing.find({"_id": {"$in": ids}}).to_list()}
    return [(e, listings.get(e.listing_id)) for e in entries]
