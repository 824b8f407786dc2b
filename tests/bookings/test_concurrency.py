"""200 concurrent requests through the real API for the same scarce thing: exactly what fits
succeeds, the rest get 409, and the listing's availability equals the successful bookings."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.bookings.support import (
    assert_availability_matches_bookings,
    book,
    future_day,
    future_hour,
    listing_doc,
    publish,
)
from tests.conftest import Account, MakeUser

# The races prove most on a real server: mongomock applies each operation under the GIL.
pytestmark = pytest.mark.stores  # embedded and server tiers

N = 200


async def _guests(make_user: MakeUser, n: int = 4) -> list[Account]:
    return [await make_user(["guest"]) for _ in range(n)]


async def _storm(
    client: httpx.AsyncClient, guests: list[Account], lid: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    return await asyncio.gather(
        *(book(client, guests[i % len(guests)], lid, **b) for i, b in enumerate(bodies))
    )


def _tally(responses: list[httpx.Response]) -> Counter[int]:
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    return codes


async def test_same_nights_exactly_one_wins(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host)
    guests = await _guests(make_user)
    body = {"check_in": future_day(40), "check_out": future_day(43), "guests": 1}
    codes = _tally(await _storm(client, guests, listing["id"], [body] * N))
    assert codes == Counter({201: 1, 409: N - 1})
    await assert_availability_matches_bookings(listing["id"])


async def test_overlapping_night_ranges_never_double_book(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host)
    guests = await _guests(make_user)
    rng = random.Random(7)
    bodies = []
    for _ in range(N):
        start = rng.randrange(40, 52)
        bodies.append(
            {"check_in": future_day(start), "check_out": future_day(start + rng.randint(1, 4))}
        )
    responses = await _storm(client, guests, listing["id"], bodies)
    codes = _tally(responses)
    assert codes[201] >= 3  # 12 days of range: several disjoint stays must fit
    won = [r.json() for r in responses if r.status_code == 201]
    nights: list[str] = []
    for b in won:
        d, end = date.fromisoformat(b["check_in"]), date.fromisoformat(b["check_out"])
        nights += [(d + timedelta(days=i)).isoformat() for i in range((end - d).days)]
    assert len(nights) == len(set(nights)), "a night was sold twice"
    await assert_availability_matches_bookings(listing["id"])
    # Every loser really overlapped a winner (no spurious 409 under contention).
    taken = set(nights)
    for body, r in zip(bodies, responses, strict=True):
        if r.status_code == 409:
            d, end = body["check_in"], body["check_out"]
            wanted = {(d + timedelta(days=i)).isoformat() for i in range((end - d).days)}
            assert wanted & taken


async def test_same_hour_slot_fills_exactly_to_capacity(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host, unit="hour", capacity=12)
    guests = await _guests(make_user)
    body = {"start": future_hour(hour=9), "end": future_hour(hour=11), "seats": 1}
    codes = _tally(await _storm(client, guests, listing["id"], [body] * N))
    assert codes == Counter({201: 12, 409: N - 12})
    await assert_availability_matches_bookings(listing["id"])
    doc = await listing_doc(listing["id"])
    assert {k: v for k, v in doc.availability.hour_seats.items() if v} == {
        future_hour(hour=9).strftime("%Y-%m-%dT%H"): 12,
        future_hour(hour=10).strftime("%Y-%m-%dT%H"): 12,
    }


async def test_overlapping_hour_ranges_with_seats(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host, unit="hour", capacity=7)
    guests = await _guests(make_user)
    rng = random.Random(11)
    bodies = []
    for _ in range(N):
        h = rng.randrange(8, 16)
        bodies.append(
            {
                "start": future_hour(hour=h),
                "end": future_hour(hour=min(h + rng.randint(1, 3), 23)),
                "seats": rng.randint(1, 3),
            }
        )
    codes = _tally(await _storm(client, guests, listing["id"], bodies))
    assert codes[201] >= 3
    await assert_availability_matches_bookings(listing["id"])  # also: no hour over capacity


async def test_last_items_sell_exactly_once(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host, unit="item", stock=25, capacity=1)
    guests = await _guests(make_user)
    codes = _tally(await _storm(client, guests, listing["id"], [{"quantity": 1}] * N))
    assert codes == Counter({201: 25, 409: N - 25})
    await assert_availability_matches_bookings(listing["id"])
    assert (await listing_doc(listing["id"])).availability.stock_left == 0


async def test_mixed_quantities_never_oversell(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host, unit="item", stock=40, capacity=1)
    guests = await _guests(make_user)
    rng = random.Random(3)
    bodies = [{"quantity": rng.randint(1, 5)} for _ in range(N)]
    responses = await _storm(client, guests, listing["id"], bodies)
    _tally(responses)
    sold = sum(r.json()["quantity"] for r in responses if r.status_code == 201)
    assert 0 < sold <= 40
    await assert_availability_matches_bookings(listing["id"])
