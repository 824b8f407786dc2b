"""Listing use cases, testable without HTTP."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from bson import ObjectId

from documents import Availability, Listing, ListingStatus, Unit, User
from documents.values import utcnow
from service.core.errors import ProblemError, conflict, not_found
from service.core.pagination import After, before
from service.listings.schemas import ListingIn, ListingPatch, check_pricing
from service.listings.store import apply_write, get_live

_PATCH_RETRIES = 5

# What the host edits (PATCH, publish/close). Availability and the review summary change with
# guests' bookings and reviews, and `version` counts every write, so none of them is in here.
EDITABLE = frozenset(
    {
        "title",
        "description",
        "category",
        "amenities",
        "attributes",
        "location",
        "address",
        "price",
        "unit",
        "capacity",
        "stock",
        "rules",
        "status",
    }
)


def edit_tag(listing: Listing) -> str:
    """A hash of the host-editable fields: equal exactly when a host's edit would be."""
    fields = listing.model_dump(mode="json", include=set(EDITABLE))
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


@dataclass(frozen=True)
class Precondition:
    """An If-Match: the edit tag a client read (from the ETag), or the legacy `version`."""

    edit_tag: str | None = None
    version: int | None = None

    def holds(self, listing: Listing) -> bool:
        if self.edit_tag is not None:
            return edit_tag(listing) == self.edit_tag
        return self.version is None or listing.version == self.version


async def create(owner: User, data: ListingIn) -> Listing:
    now = utcnow()
    listing = Listing(
        owner_id=str(owner.id),
        title=data.title,
        description=data.description,
        category=data.category,
        amenities=sorted(set(data.amenities)),
        attributes=data.attributes,
        location=data.location.to_geo(),
        address=data.address,
        price=data.price,
        unit=data.unit,
        capacity=data.capacity,
        stock=data.stock,
        rules=data.rules,
        pricing=data.pricing,
        availability=Availability(stock_left=data.stock if data.unit == Unit.item else None),
        created_at=now,
        updated_at=now,
    )
    await listing.insert()
    return listing


def visible_to(listing: Listing, user: User | None) -> bool:
    if user is not None and listing.owner_id == str(user.id):
        return True
    return listing.status == ListingStatus.published


async def get_visible(listing_id: ObjectId, user: User | None) -> Listing:
    listing = await get_live(listing_id)
    if listing is None or not visible_to(listing, user):
        raise not_found("listing")
    return listing


async def get_owned(listing_id: ObjectId, user: User) -> Listing:
    """The caller's own live listing. Someone else's draft is 404 (it may not be seen);
    someone else's published listing is 403 (it is visible, just not theirs)."""
    listing = await get_live(listing_id)
    if listing is None:
        raise not_found("listing")
    if listing.owner_id != str(user.id):
        if listing.status == ListingStatus.published:
            raise ProblemError(403, "only the owner may change this listing")
        raise not_found("listing")
    return listing


def _patch_update(listing: Listing, patch: ListingPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """The $set for a patch, and extra conditions that must still hold when it applies."""
    fields = patch.model_dump(exclude_unset=True)
    sets: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            raise ProblemError(
                422, f"{name}: may not be null", errors=[{"loc": [name], "msg": "may not be null"}]
            )
        if name == "location":
            sets["location"] = patch.location.to_geo().model_dump()  # type: ignore[union-attr]
        elif name == "amenities":
            sets["amenities"] = sorted(set(value))
        elif name == "stock":
            if listing.unit != Unit.item:
                raise ProblemError(
                    422,
                    "stock: only applies when unit is item",
                    errors=[{"loc": ["stock"], "msg": "only applies to items"}],
                )
            claimed = (listing.stock or 0) - (listing.availability.stock_left or 0)
            if value < claimed:
                raise conflict(f"stock cannot go below the {claimed} items already ordered")
            sets["stock"] = value
            sets["availability.stock_left"] = value - claimed
        else:
            sets[name] = value  # nested models are already plain dicts here
    if "pricing" in fields or "price" in fields:
        price = patch.price or listing.price
        pricing = patch.pricing if "pricing" in fields else listing.pricing
        why = check_pricing(listing.unit, price, pricing)
        if why:
            raise ProblemError(422, f"pricing: {why}", errors=[{"loc": ["pricing"], "msg": why}])
    return sets, conditions


async def update(
    listing_id: ObjectId, user: User, patch: ListingPatch, if_match: Precondition | None
) -> Listing:
    """Apply a host's patch. An If-Match from the ETag is stale only when a host-editable field
    changed since it was read: guests' bookings (which bump `version`) never make it stale.
    The legacy numeric If-Match (`version`) keeps its exact meaning."""
    for _ in range(_PATCH_RETRIES):
        listing = await get_owned(listing_id, user)
        if if_match is not None and not if_match.holds(listing):
            raise ProblemError(
                412,
                "the listing was edited since it was read",
                extra={"current_version": listing.version},
            )
        sets, conditions = _patch_update(listing, patch)
        # Guard on the version we read: derived values (stock_left) must not race a booking.
        # Losing that race to a booking retries on a fresh read (and re-checks If-Match).
        updated = await apply_write(
            listing_id,
            {"$set": sets} if sets else {},
            conditions=conditions,
            expected_version=listing.version,
        )
        if updated is not None:
            return updated
        if if_match is not None and if_match.version is not None:
            current = await get_live(listing_id)
            raise ProblemError(
                412,
                "listing changed since the given version",
                extra={"current_version": current.version if current else None},
            )
    raise conflict("listing is being changed concurrently; retry")


_TRANSITIONS: dict[str, tuple[set[ListingStatus], ListingStatus]] = {
    "publish": ({ListingStatus.draft, ListingStatus.closed}, ListingStatus.published),
    "close": ({ListingStatus.published, ListingStatus.draft}, ListingStatus.closed),
}


async def transition(listing_id: ObjectId, user: User, action: str) -> Listing:
    allowed_from, target = _TRANSITIONS[action]
    listing = await get_owned(listing_id, user)
    if listing.status == target:
        return listing  # publishing a published listing is a no-op, not an error
    if listing.status not in allowed_from:
        raise conflict(f"cannot {action} a {listing.status.value} listing")
    sets: dict[str, Any] = {"status": target.value}
    if target == ListingStatus.published:
        sets["published_at"] = utcnow()
    updated = await apply_write(
        listing_id,
        {"$set": sets},
        conditions={"status": {"$in": [s.value for s in allowed_from]}, "owner_id": str(user.id)},
    )
    if updated is None:
        raise conflict("listing changed concurrently; retry")
    return updated


async def soft_delete(listing_id: ObjectId, user: User) -> None:
    await get_owned(listing_id, user)
    deleted = await apply_write(
        listing_id, {"$set": {"deleted_at": utcnow()}}, conditions={"owner_id": str(user.id)}
    )
    if deleted is None:
        raise not_found("listing")


async def list_owned(
    user: User, limit: int, after: After | None, status: ListingStatus | None
) -> list[Listing]:
    query: dict[str, Any] = {
        "owner_id": str(user.id),
        "deleted_at": None,
        **before("created_at", after),
    }
    if status is not None:
        query["status"] = status.value
    cursor = (
        Listing.get_motor_collection()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    return [Listing.model_validate(raw) async for raw in cursor]
