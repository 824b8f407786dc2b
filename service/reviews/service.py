"""Reviews: one per completed booking, by its guest; the listing summary follows by $inc.

Insert-then-$inc without a transaction: the review is inserted with `summarized=False` (the
unique index on booking_id makes a second review a 409), then the listing's review_summary gets
`$inc` count/sum/histogram through apply_write (so the version bumps and the indexer reindexes),
then the review is marked summarized. If the process dies between the insert and the $inc, the
review stays unsummarized; `repair_summaries` (run by the sweeper) recomputes such listings'
summaries from the reviews collection with an aggregation and a version-guarded $set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from documents import BookingStatus, Review, User
from documents.values import utcnow
from service import parties
from service.core.errors import conflict, forbidden
from service.core.pagination import After, before
from service.listings.store import apply_write, get_live

REPAIR_GRACE = timedelta(minutes=5)


async def create(user: User, *, booking_id: ObjectId, rating: int, text: str) -> Review:
    booking = await parties.visible(booking_id, user)
    if booking.guest_id != str(user.id):
        raise forbidden("only the guest of this booking may review it")
    if booking.status != BookingStatus.completed:
        raise forbidden("only a completed booking can be reviewed")
    review = Review(
        booking_id=str(booking.id),
        listing_id=booking.listing_id,
        guest_id=booking.guest_id,
        rating=rating,
        text=text,
    )
    try:
        await review.insert()
    except DuplicateKeyError:
        raise conflict("this booking has already been reviewed") from None
    await apply_summary(review)
    return review


async def apply_summary(review: Review) -> bool:
    updated = await apply_write(
        ObjectId(review.listing_id),
        {
            "$inc": {
                "review_summary.count": 1,
                "review_summary.sum": review.rating,
                f"review_summary.histogram.{review.rating}": 1,
            }
        },
    )
    await Review.get_motor_collection().update_one(
        {"_id": review.id}, {"$set": {"summarized": True}}
    )
    return updated is not None


async def recompute_summary(listing_id: str, attempts: int = 5) -> bool:
    """Set the listing's summary to what its reviews say (aggregation), guarded by version."""
    oid = ObjectId(listing_id)
    for _ in range(attempts):
        listing = await get_live(oid)
        if listing is None:
            return False
        rows = (
            await Review.get_motor_collection()
            .aggregate(
                [
                    {"$match": {"listing_id": listing_id}},
                    {"$group": {"_id": "$rating", "n": {"$sum": 1}}},
                ]
            )
            .to_list(None)
        )
        histogram = {str(i): 0 for i in range(1, 6)}
        for r in rows:
            histogram[str(r["_id"])] = r["n"]
        count = sum(histogram.values())
        total = sum(int(k) * v for k, v in histogram.items())
        summary = {"count": count, "sum": total, "histogram": histogram}
        written = await apply_write(
            oid, {"$set": {"review_summary": summary}}, expected_version=listing.version
        )
        if written is not None:
            return True
    return False


async def repair_summaries(now: datetime | None = None) -> int:
    """Recompute summaries of listings with reviews left unsummarized by a crash."""
    cutoff = (now or utcnow()) - REPAIR_GRACE
    col = Review.get_motor_collection()
    stale = {"summarized": False, "created_at": {"$lte": cutoff}}
    listing_ids = {raw["listing_id"] async for raw in col.find(stale, {"listing_id": 1})}
    for listing_id in listing_ids:
        await recompute_summary(listing_id)
        await col.update_many({"listing_id": listing_id, **stale}, {"$set": {"summarized": True}})
    return len(listing_ids)


async def page(*, listing_id: str, limit: int, after: After | None) -> list[Review]:
    query: dict[str, Any] = {"listing_id": listing_id, **before("created_at", after)}
    cursor = (
        Review.get_motor_collection()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    return [Review.model_validate(raw) async for raw in cursor]
