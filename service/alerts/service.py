"""Saved searches, their alerts and the caller's notifications, testable without HTTP.

A saved search keeps, per listing it has matched, the last price seen (`SavedSearch.seen`).
Each run of the job compares what the search finds now with that: a listing not seen before
and published after the search was saved is `new_listing`; a seen listing whose price is
lower than the last one seen is `price_drop`. Notifications carry a unique `dedupe_key`, so a
re-run, or two workers racing past the lock, never notify twice.
"""

from __future__ import annotations

import logging
from typing import Any

import pymongo.errors
from bson import ObjectId
from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from documents import Listing, Notification, NotificationKind, SavedSearch, User
from documents.values import Money, as_utc, utcnow
from service.alerts.schemas import ReadIn, SavedSearchIn, SavedSearchParams
from service.core.config import Settings
from service.core.errors import ProblemError, conflict, invalid, not_found
from service.core.pagination import After, before
from service.search import query as sq
from service.search.service import watched_hits

log = logging.getLogger(__name__)

MAX_SAVED_SEARCHES = 50


def _search_params(params: SavedSearchParams) -> sq.SearchParams:
    """Validated exactly as `GET /v1/search/listings` validates its query, but the errors name
    the body field (`params.<name>`) instead of the query string."""
    try:
        return params.to_params()
    except ProblemError as exc:
        errors = [
            {**e, "loc": ["params", *[p for p in e["loc"] if p != "query"]]} for e in exc.errors
        ]
        first = ".".join(map(str, errors[0]["loc"])) if errors else "params"
        raise ProblemError(
            422, f"{first}: {errors[0]['msg'] if errors else exc.detail}", errors=errors
        ) from None


async def create_saved_search(user: User, *, data: SavedSearchIn) -> SavedSearch:
    _search_params(data.params)
    uid = str(user.id)
    if await SavedSearch.find({"user_id": uid}).count() >= MAX_SAVED_SEARCHES:
        raise conflict(f"at most {MAX_SAVED_SEARCHES} saved searches", limit=MAX_SAVED_SEARCHES)
    doc = SavedSearch(
        user_id=uid,
        name=data.name,
        params=data.params.model_dump(mode="json", exclude_defaults=True),
    )
    await doc.insert()
    return doc


async def saved_searches_page(user: User, *, limit: int, after: After | None) -> list[SavedSearch]:
    query = {"user_id": str(user.id), **before("created_at", after)}
    found = SavedSearch.find(query).sort([("created_at", -1), ("_id", -1)])
    return await found.limit(limit + 1).to_list()


async def delete_saved_search(user: User, *, saved_search_id: ObjectId) -> None:
    """Another user's saved search does not exist for the caller (404)."""
    res = await SavedSearch.get_motor_collection().delete_one(
        {"_id": saved_search_id, "user_id": str(user.id)}
    )
    if res.deleted_count == 0:
        raise not_found("saved search")


# --- notifications -----------------------------------------------------------------------------


async def unread_count(user: User) -> int:
    return await Notification.find({"user_id": str(user.id), "read_at": None}).count()


async def notifications_page(user: User, *, limit: int, after: After | None) -> list[Notification]:
    query = {"user_id": str(user.id), **before("created_at", after)}
    found = Notification.find(query).sort([("created_at", -1), ("_id", -1)])
    return await found.limit(limit + 1).to_list()


async def mark_read(user: User, *, data: ReadIn) -> int:
    """Marks the given notifications (or all) read; an id that is not the caller's is 404."""
    uid = str(user.id)
    if data.all == bool(data.ids):
        raise invalid("ids", "give either ids or all: true")
    coll = Notification.get_motor_collection()
    query: dict[str, Any] = {"user_id": uid}
    if data.ids:
        oids = [ObjectId(i) for i in data.ids if ObjectId.is_valid(i)]
        owned = await coll.count_documents({"user_id": uid, "_id": {"$in": oids}})
        if len(oids) != len(set(data.ids)) or owned != len(set(oids)):
            raise not_found("notification")
        query["_id"] = {"$in": oids}
    res = await coll.update_many({**query, "read_at": None}, {"$set": {"read_at": utcnow()}})
    return res.modified_count


# --- the alert job -----------------------------------------------------------------------------


async def _notify(doc: Notification) -> bool:
    try:
        await doc.insert()
    except pymongo.errors.DuplicateKeyError:
        return False  # already notified (a re-run, or another worker)
    return True


async def check_saved_search(es: AsyncElasticsearch, settings: Settings, saved: SavedSearch) -> int:
    """One saved search: notify what is new or cheaper since its last run; returns how many."""
    try:
        params = _search_params(SavedSearchParams.model_validate(saved.params))
    except (ValidationError, ProblemError):
        log.warning("saved search %s no longer validates; skipped", saved.id)
        return 0
    now = utcnow()
    hits = await watched_hits(es, settings, params=params, size=settings.alerts_watch_size)
    unseen = [h["id"] for h in hits if h["id"] not in saved.seen]
    published: dict[str, Any] = {}
    if unseen:
        oids = [ObjectId(i) for i in unseen if ObjectId.is_valid(i)]
        rows = Listing.get_motor_collection().find(
            {"_id": {"$in": oids}}, projection={"published_at": 1}
        )
        published = {str(r["_id"]): r.get("published_at") async for r in rows}
    saved_at = as_utc(saved.created_at)
    sid = str(saved.id)
    notified = 0
    seen_now: dict[str, int] = {}
    for hit in hits:
        lid, amount = hit["id"], int(hit["price"]["amount"])
        price = Money(amount=amount, currency=hit["price"]["currency"])
        before_amount = saved.seen.get(lid)
        note: Notification | None = None
        if before_amount is None:
            at = published.get(lid)
            # Matching when the search was saved is not news; published since then is.
            if at is not None and as_utc(at) >= saved_at:
                note = Notification(
                    user_id=saved.user_id,
                    kind=NotificationKind.new_listing,
                    saved_search_id=sid,
                    listing_id=lid,
                    title=hit["title"],
                    price=price,
                    dedupe_key=f"{sid}:{lid}:new",
                )
        elif amount < before_amount:
            note = Notification(
                user_id=saved.user_id,
                kind=NotificationKind.price_drop,
                saved_search_id=sid,
                listing_id=lid,
                title=hit["title"],
                price=price,
                previous_price=Money(amount=before_amount, currency=price.currency),
                dedupe_key=f"{sid}:{lid}:drop:{before_amount}:{amount}",
            )
        if note is not None and await _notify(note):
            notified += 1
        if before_amount != amount:
            seen_now[lid] = amount
    # Per-key $set: a concurrent run of the same search cannot erase what this one saw.
    sets: dict[str, Any] = {f"seen.{k}": v for k, v in seen_now.items()}
    sets["last_run_at"] = now
    await SavedSearch.get_motor_collection().update_one({"_id": saved.id}, {"$set": sets})
    return notified


async def run_alerts(es: AsyncElasticsearch, settings: Settings) -> dict[str, int]:
    """One tick of the job over every saved search (least recently run first)."""
    checked = notified = 0
    cursor = SavedSearch.find({}).sort([("last_run_at", 1), ("_id", 1)])
    async for saved in cursor:
        notified += await check_saved_search(es, settings, saved)
        checked += 1
    return {"checked": checked, "notified": notified}
