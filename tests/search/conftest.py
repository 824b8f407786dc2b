"""One seeded index shared by the read-only search tests of a module (seeding is the slow
part); the expected answers are computed from the same listings in Python."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch

from documents import Availability, BookingRules, Hold, Listing, ListingStatus, Unit
from documents.values import Period, midnight, utcnow
from indexers.definition import alias_name
from indexers.runner import Indexer
from service.app import create_app
from service.core.config import Settings
from tests.conftest import _drop_test_indices, make_settings
from tests.indexers.helpers import insert, make_listing

CITIES = {
    "Amsterdam": (52.37, 4.89, "NL"),
    "Utrecht": (52.09, 5.12, "NL"),
    "Berlin": (52.52, 13.40, "DE"),
    "Paris": (48.86, 2.35, "FR"),
}
CATEGORIES = ["apartment", "house", "cabin", "studio"]
AMENITIES = ["wifi", "kitchen", "parking", "pool", "sauna"]
ADJECTIVES = ["sunny", "quiet", "spacious", "cosy", "modern", "rustic"]
FEATURES = ["harbour", "garden", "forest", "rooftop", "riverside"]
# Nights and slots are planned from here: ahead of today, within the booking horizon, so a
# dated search finds what POST /v1/bookings would accept.
BASE_DAY = midnight(utcnow().date() + timedelta(days=40))


def day(offset: int) -> str:
    """BASE_DAY + offset days as a query date."""
    return (BASE_DAY + timedelta(days=offset)).date().isoformat()


def hour(offset_hours: int) -> str:
    """BASE_DAY + offset hours as a query time."""
    return (BASE_DAY + timedelta(hours=offset_hours)).isoformat().replace("+00:00", "Z")


@dataclass
class SearchEnv:
    client: httpx.AsyncClient
    es: AsyncElasticsearch
    settings: Settings
    listings: list[Listing]  # everything seeded, searchable or not


def seed_listings(rng: random.Random, n: int) -> list[Listing]:
    out: list[Listing] = []
    created = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(n):
        city = rng.choice(list(CITIES))
        lat, lon, country = CITIES[city]
        category = rng.choice(CATEGORIES)
        roll = rng.random()
        unit = Unit.night if roll < 0.7 else Unit.hour if roll < 0.85 else Unit.item
        capacity = rng.randint(1, 8)
        availability = Availability()
        stock = None
        if unit == Unit.night:
            for k in range(rng.randint(0, 2)):
                start = BASE_DAY + timedelta(days=rng.randrange(0, 40))
                end = start + timedelta(days=rng.randint(1, 5))
                availability.holds.append(Hold(booking_id=f"b{i}-{k}", start=start, end=end))
            if rng.random() < 0.3:
                start = BASE_DAY + timedelta(days=rng.randrange(0, 40))
                availability.blocks.append(Period(start=start, end=start + timedelta(days=2)))
        elif unit == Unit.hour:
            for h in rng.sample(range(8, 20), 4):
                key = (BASE_DAY + timedelta(hours=h)).strftime("%Y-%m-%dT%H")
                availability.hour_seats[key] = rng.randint(1, capacity)
        else:
            stock = rng.choice([0, 1, 3])
            availability.stock_left = stock
        count = rng.randint(0, 12)
        status = ListingStatus.published
        if rng.random() < 0.1:
            status = ListingStatus.draft
        feature = rng.choice(FEATURES)
        listing = make_listing(
            title=f"{rng.choice(ADJECTIVES)} {category} {i}",
            description=f"A {feature} place with {rng.choice(ADJECTIVES)} rooms.",
            category=category,
            amenities=rng.sample(AMENITIES, rng.randint(0, 4)),
            lat=lat + rng.uniform(-0.05, 0.05),
            lon=lon + rng.uniform(-0.05, 0.05),
            city=city,
            country=country,
            price=rng.randrange(2_000, 80_000),
            unit=unit,
            capacity=capacity,
            stock=stock,
            status=status,
            availability=availability,
            reviews=(count, rng.randint(count, 5 * count)),
            created_at=created + timedelta(hours=i * 7 + rng.randint(0, 5)),
        )
        # Deterministic (no rng draw), so the rest of the seeded data is as it always was.
        listing.rules = BookingRules(instant_book=i % 3 == 0, min_nights=1 + i % 4)
        if rng.random() < 0.05:
            listing.deleted_at = listing.created_at
        if unit != Unit.item and rng.random() < 0.4:
            low = rng.choice([1, 2, 3, 7])
            listing.rules = BookingRules(
                instant_book=i % 3 == 0,
                min_nights=low,
                max_nights=rng.choice([low, low + 3, 365]),
                advance_notice_hours=rng.choice([0, 24, 24 * 60]),
            )
        out.append(listing)
    return out


@asynccontextmanager
async def seeded_env(
    redis_server, es_url: str, make: Callable[[], list[Listing]], **overrides: Any
) -> AsyncIterator[SearchEnv]:
    """An app and an index holding the listings `make` builds (once the documents are set up),
    drained and refreshed, for one test module; `overrides` are Settings fields."""
    settings = make_settings(redis_server.url, es_url, rate_limit_enabled=False, **overrides)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        stored = await insert(*make())
        es = AsyncElasticsearch(es_url, request_timeout=30)
        await Indexer.polling(es, settings).drain()
        await es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield SearchEnv(c, es, settings, stored)
        await es.close()
    await _drop_test_indices(settings)


@pytest.fixture(scope="module")
async def search_env(redis_server, es_url: str) -> AsyncIterator[SearchEnv]:
    async with seeded_env(
        redis_server, es_url, lambda: seed_listings(random.Random(2031), 90)
    ) as env:
        yield env
