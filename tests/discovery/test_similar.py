"""GET /v1/listings/{listing_id}/similar: like this one, nearer first, bookable, never itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from bson import ObjectId

from service.listings.store import apply_write
from tests.conftest import Account, listing_body
from tests.discovery.conftest import Sync, publish

AMSTERDAM = {"location": {"lat": 52.37, "lon": 4.89}}
PARIS = {
    "location": {"lat": 48.86, "lon": 2.35},
    "address": {"line1": "Rue 1", "city": "Paris", "country": "FR"},
}
CABIN = {
    "title": "Lakeside log cabin with sauna",
    "description": "Wooden cabin by the lake, wood stove and private sauna.",
    "category": "cabin",
    "amenities": ["sauna", "fireplace"],
}


async def _similar(client: httpx.AsyncClient, lid: str, **params: object) -> list[dict]:
    r = await client.get(f"/v1/listings/{lid}/similar", params=params)
    assert r.status_code == 200, r.text
    return r.json()["hits"]


async def test_similar_shares_category_or_text_and_ranks_nearer_first(
    client: httpx.AsyncClient, host: Account, sync: Sync
) -> None:
    here = await publish(client, host.headers, listing_body(**CABIN, **AMSTERDAM))
    there = await publish(client, host.headers, listing_body(**CABIN, **PARIS))
    near = await publish(client, host.headers, listing_body(**CABIN, **AMSTERDAM))
    far = await publish(client, host.headers, listing_body(**CABIN, **PARIS))
    unrelated = await publish(
        client,
        host.headers,
        listing_body(
            title="Office desk",
            description="Standing desk, monitor.",
            category="desk",
            amenities=[],
        ),
    )
    await sync()

    hits = await _similar(client, here)
    ids = [h["id"] for h in hits]
    assert here not in ids and unrelated not in ids
    for h in hits:
        assert h["category"] == "cabin" or "cabin" in h["title"].lower()
    # Same text, category and price: distance decides, both ways round.
    assert ids.index(near) < ids.index(far) and ids.index(near) < ids.index(there)
    assert hits[0]["distance_km"] < 1
    from_paris = [h["id"] for h in await _similar(client, there)]
    assert from_paris.index(far) < from_paris.index(near)
    assert from_paris.index(far) < from_paris.index(here)


async def test_similar_applies_search_bookability_and_only_published(
    client: httpx.AsyncClient, host: Account, sync: Sync
) -> None:
    here = await publish(client, host.headers, listing_body(**CABIN))
    booked = await publish(client, host.headers, listing_body(**CABIN))
    small = await publish(client, host.headers, listing_body(**CABIN, capacity=1))
    r = await client.post("/v1/listings", json=listing_body(**CABIN), headers=host.headers)
    draft = r.json()["id"]
    # Within the booking horizon: search only returns stays that could be booked.
    day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=60)
    night = (day0 + timedelta(days=1)).date()
    hold = {
        "booking_id": "b1",
        "start": day0,
        "end": day0 + timedelta(days=3),
        "seats": 0,
        "quantity": 0,
    }
    assert await apply_write(ObjectId(booked), {"$push": {"availability.holds": hold}})
    await sync()

    assert {h["id"] for h in await _similar(client, here)} == {booked, small}
    dated = {"check_in": night.isoformat(), "check_out": (night + timedelta(days=1)).isoformat()}
    assert {h["id"] for h in await _similar(client, here, **dated)} == {small}
    assert {h["id"] for h in await _similar(client, here, guests=3)} == {booked}
    r = await client.get(f"/v1/listings/{draft}/similar")
    assert r.status_code == 404
    assert (await client.get("/v1/listings/not-an-id/similar")).status_code == 404
    r = await client.get(f"/v1/listings/{here}/similar", params={"check_in": night.isoformat()})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "check_out"]
    r = await client.get(f"/v1/listings/{here}/similar", params={"limit": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "limit"]
