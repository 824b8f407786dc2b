"""The one writer path for listings: every change bumps `version` and `updated_at` atomically.

The indexer orders events by `version` (Elasticsearch external versioning), and the polling
source scans by `updated_at`; a write that skipped this function would be invisible to both.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from documents import Listing
from documents.values import utcnow

LIVE: dict[str, Any] = {"deleted_at": None}


async def apply_write(
    listing_id: ObjectId,
    update: dict[str, Any],
    *,
    conditions: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Listing | None:
    """Apply `update` if the listing is live and `conditions` hold; None when they don't.

    `update` is a Mongo update document without `version`/`updated_at`; both are added here.
    """
    query: dict[str, Any] = {"_id": listing_id, **LIVE, **(conditions or {})}
    if expected_version is not None:
        query["version"] = expected_version
    full = dict(update)
    full["$inc"] = {**full.get("$inc", {}), "version": 1}
    full["$set"] = {**full.get("$set", {}), "updated_at": utcnow()}
    raw = await Listing.get_motor_collection().find_one_and_update(
        query, full, return_document=ReturnDocument.AFTER
    )
    return None if raw is None else Listing.model_validate(raw)


async def get_live(listing_id: ObjectId) -> Listing | None:
    raw = await Listing.get_motor_collection().find_one({"_id": listing_id, **LIVE})
    return None if raw is None else Listing.model_validate(raw)
