"""Listings built straight as documents (fast seeding), and index look-ups for assertions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from elasticsearch import AsyncElasticsearch

from documents import Availability, Listing, ListingStatus, ReviewSummary, Unit
from documents.values import Address, GeoPoint, Money, utcnow
from indexers.definition import alias_name
from indexers.rebuild import indexed_versions


def make_listing(
    *,
    title: str = "Quiet room",
    description: str = "",
    category: str = "apartment",
    amenities: list[str] | None = None,
    lat: float = 52.37,
    lon: float = 4.89,
    city: str = "Amsterdam",
    country: str = "NL",
    price: int = 10_000,
    currency: str = "EUR",
    unit: Unit = Unit.night,
    capacity: int = 2,
    stock: int | None = None,
    status: ListingStatus = ListingStatus.published,
    availability: Availability | None = None,
    reviews: tuple[int, int] = (0, 0),  # (count, sum)
    created_at: datetime | None = None,
    owner_id: str = "owner",
    **extra: Any,
) -> Listing:
    now = created_at or utcnow()
    count, total = reviews
    return Listing(
        owner_id=owner_id,
        title=title,
        description=description,
        category=category,
        amenities=sorted(amenities or []),
        location=GeoPoint(coordinates=(lon, lat)),
        address=Address(line1="Street 1", city=city, country=country),
        price=Money(amount=price, currency=currency),
        unit=unit,
        capacity=capacity,
        stock=stock,
        availability=availability or Availability(stock_left=stock if unit == Unit.item else None),
        review_summary=ReviewSummary(count=count, sum=total),
        status=status,
        created_at=now,
        updated_at=now,
        published_at=now if status == ListingStatus.published else None,
        **extra,
    )


async def insert(*listings: Listing) -> list[Listing]:
    for listing in listings:
        await listing.insert()
    return list(listings)


async def refresh(es: AsyncElasticsearch, prefix: str) -> None:
    await es.indices.refresh(index=alias_name(prefix))


async def index_state(es: AsyncElasticsearch, prefix: str) -> dict[str, int]:
    """id -> version of everything in the index behind the alias."""
    await refresh(es, prefix)
    return await indexed_versions(es, alias_name(prefix))


async def mongo_state() -> dict[str, int]:
    """id -> version of every listing that should be searchable."""
    cursor = Listing.get_motor_collection().find(
        {"status": "published", "deleted_at": None}, {"version": 1}
    )
    return {str(r["_id"]): r["version"] async for r in cursor}


def oid(listing: Listing) -> ObjectId:
    assert listing.id is not None
    return listing.id


def days(n: float) -> timedelta:
    return timedelta(days=n)


async def until_in_sync(es: AsyncElasticsearch, prefix: str, timeout_s: float = 20) -> None:
    """Wait until the index holds exactly the searchable listings at their Mongo versions."""
    for _ in range(int(timeout_s / 0.2)):
        if await index_state(es, prefix) == await mongo_state():
            return
        await asyncio.sleep(0.2)
    assert await index_state(es, prefix) == await mongo_state()
