"""Shared fixtures and helpers for the transaction tests (bookings, payments, reviews, ...).

These tests need no Elasticsearch: `settings` is overridden without it (search is exercised
where it matters, in tests/reviews), with rate limits off (hundreds of requests from one client)
and without the background sweeper (tests call `sweep` themselves, deterministically).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI

from documents import Booking, LedgerEntry, Listing
from service.core.config import Settings
from service.payments import ledger
from service.payments.provider import BuiltinProvider
from tests.conftest import Account, listing_body, make_settings
from tests.services import RedisServer


def pooled(url: str) -> str:
    """redis-py 8's asyncio pool defaults to 100 connections and then *raises*
    (MaxConnectionsError, surfacing as 503) instead of waiting; 200 concurrent requests need more.
    service/core/redis.py does not size the pool, so the URL does (a documented redis-py option)."""
    return f"{url}?max_connections=1000"


_pooled = pooled


@pytest.fixture
def settings(redis_server: RedisServer, store_settings: dict[str, Any]) -> Settings:
    redis.Redis.from_url(redis_server.url).flushall()
    return make_settings(
        _pooled(redis_server.url),
        None,
        rate_limit_enabled=False,
        run_booking_sweeper=False,
        **store_settings,
    )


def future_day(days: int = 30) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def future_hour(days: int = 30, hour: int = 10) -> datetime:
    d = future_day(days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def iso(d: date | datetime) -> str:
    return d.isoformat().replace("+00:00", "Z")


async def publish(client: httpx.AsyncClient, host: Account, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/v1/listings", json=listing_body(**overrides), headers=host.headers)
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    r = await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def book(
    client: httpx.AsyncClient, guest: Account, listing_id: str, **body: Any
) -> httpx.Response:
    payload = {"listing_id": listing_id}
    for k, v in body.items():
        payload[k] = iso(v) if isinstance(v, date | datetime) else v
    return await client.post("/v1/bookings", json=payload, headers=guest.headers)


async def book_nights(
    client: httpx.AsyncClient, guest: Account, listing_id: str, start: int = 30, n: int = 2
) -> dict[str, Any]:
    r = await book(
        client,
        guest,
        listing_id,
        check_in=future_day(start),
        check_out=future_day(start + n),
        guests=1,
    )
    assert r.status_code == 201, r.text
    return r.json()


def provider_of(app: FastAPI) -> BuiltinProvider:
    from service.payments.deps import app_provider

    provider = app_provider(app.state)
    assert isinstance(provider, BuiltinProvider)
    return provider


async def pay(
    client: httpx.AsyncClient, app: FastAPI, guest: Account, booking_id: str
) -> dict[str, Any]:
    """Create the intent, let the provider confirm it, deliver its signed webhook."""
    r = await client.post(f"/v1/bookings/{booking_id}/payment", headers=guest.headers)
    assert r.status_code == 201, r.text
    payment = r.json()
    delivery = await provider_of(app).confirm(payment["provider_intent_id"])
    w = await client.post("/v1/payments/webhook", content=delivery.body, headers=delivery.headers)
    assert w.status_code == 200, w.text
    return payment


async def listing_doc(listing_id: str) -> Listing:
    from bson import ObjectId

    raw = await Listing.get_motor_collection().find_one({"_id": ObjectId(listing_id)})
    assert raw is not None
    return Listing.model_validate(raw)


LIVE = ("requested", "accepted")


async def live_bookings(listing_id: str) -> list[Booking]:
    cursor = Booking.get_motor_collection().find(
        {"listing_id": listing_id, "status": {"$in": [*LIVE, "completed"]}}
    )
    return [Booking.model_validate(raw) async for raw in cursor]


async def assert_availability_matches_bookings(listing_id: str) -> None:
    """The listing's holds/seats/stock are exactly the sum of its live bookings."""
    listing = await listing_doc(listing_id)
    live = await live_bookings(listing_id)
    av = listing.availability
    assert sorted(h.booking_id for h in av.holds) == sorted(str(b.id) for b in live)
    if listing.unit.value == "hour":
        expected: dict[str, int] = {}
        from service.availability.claims import hour_keys

        for b in live:
            assert b.start is not None and b.end is not None
            for k in hour_keys(b.start, b.end):
                expected[k] = expected.get(k, 0) + b.seats
        actual = {k: v for k, v in av.hour_seats.items() if v}
        assert actual == expected
        assert all(v <= listing.capacity for v in actual.values())
    if listing.unit.value == "item":
        assert listing.stock is not None
        assert av.stock_left == listing.stock - sum(b.quantity for b in live)
        assert av.stock_left is not None and av.stock_left >= 0
    if listing.unit.value == "night":
        periods = sorted((h.start, h.end) for h in av.holds)
        for (_, e1), (s2, _) in itertools.pairwise(periods):
            assert e1 is not None and s2 is not None and e1 <= s2, "overlapping night holds"


async def assert_ledger_balanced() -> None:
    assert await ledger.unbalanced() == []
    rows = await LedgerEntry.get_motor_collection().find({}).to_list(None)
    assert sum(r["amount"] for r in rows) == 0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[timedelta], None]]:
    """Move the bookings service's notion of "now" forward (completion, expiry, policy)."""
    import service.bookings.service as bookings_service

    def advance(delta: timedelta) -> None:
        monkeypatch.setattr(bookings_service, "utcnow", lambda: datetime.now(UTC) + delta)

    yield advance
