"""Seeded data: deterministic, internally consistent, shaped like the Beanie documents."""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest
from beanie import init_beanie
from bson import BSON
from mongomock import helpers
from motor.motor_asyncio import AsyncIOMotorClient
from typer.testing import CliRunner

from documents import ALL_DOCUMENTS, Booking, Listing, Review, Unit, User
from documents.values import CURRENCY_EXPONENT, as_utc, midnight
from service.seeding import DEMO_PASSWORD, Generator, SeedError, seed_database
from service.seeding.catalog import CATEGORIES
from service.seeding.places import CITIES
from tests.seeding.conftest import ANCHOR, CHEAP, Seeder, dump, fresh_db

UNIT_OF = {c.name: c.unit.value for c in CATEGORIES}
CITY = {c.name: c for c in CITIES}
LIVE = {"requested", "accepted", "completed"}


async def test_same_seed_same_data(seeder: Seeder) -> None:
    db1, r1 = await seeder(listings=800, users=90, seed=7)
    first = await dump(db1)
    db2, r2 = await seeder(listings=800, users=90, seed=7)
    second = await dump(db2)
    assert first == second  # ids, password hash, timestamps: everything
    assert r1.summary() | {"seconds": 0} == r2.summary() | {"seconds": 0}
    db3, _ = await seeder(listings=800, users=90, seed=8)
    other = await dump(db3)
    assert [d["title"] for d in other["listings"]] != [d["title"] for d in first["listings"]]


async def test_invariants(seeder: Seeder) -> None:
    db, report = await seeder(listings=3000, users=300)
    data = await dump(db)
    users = {u["_id"]: u for u in data["users"]}
    roles = {str(k): set(u["roles"]) for k, u in users.items()}
    bookings = {str(b["_id"]): b for b in data["bookings"]}
    reviews_by_listing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for review in data["reviews"]:
        reviews_by_listing[review["listing_id"]].append(review)
    held: Counter[str] = Counter()
    units_with_holds: set[str] = set()

    assert len(data["listings"]) == report.counts.listings == 3000
    assert len(data["bookings"]) == report.counts.bookings > 0
    assert len(data["reviews"]) == report.counts.reviews > 0
    statuses = Counter(listing["status"] for listing in data["listings"])
    assert statuses["published"] > 0.8 * 3000 and statuses["draft"] > 0

    for raw in data["listings"]:
        listing = Listing.model_validate(raw)  # the stored shape is the document's shape
        lid = str(listing.id)
        assert "host" in roles[listing.owner_id]
        assert listing.unit.value == UNIT_OF[listing.category]
        assert (listing.stock is not None) == (listing.unit == Unit.item)
        # Money: integer minor units in the city's currency, sensibly rounded.
        city = CITY[listing.address.city]
        assert listing.price.currency == city.currency and listing.address.country == city.country
        assert isinstance(raw["price"]["amount"], int) and raw["price"]["amount"] > 0
        # Place: valid GeoJSON within a few km of the real city centre.
        lat, lon = listing.location.lat, listing.location.lon
        assert -90 <= lat <= 90 and -180 <= lon <= 180
        assert _km(lat, lon, city.lat, city.lon) < 9.0
        # Indexer contract: a version and an updated_at that orders the writes.
        assert listing.version >= 1 and listing.updated_at >= listing.created_at
        assert (listing.published_at is None) == (listing.status.value == "draft")
        assert listing.deleted_at is None

        # Holds <-> bookings.
        nights: list[tuple[Any, Any]] = []
        seats: Counter[str] = Counter()
        for hold in listing.availability.holds:
            booking = bookings[hold.booking_id]
            held[hold.booking_id] += 1
            units_with_holds.add(listing.unit.value)
            assert booking["listing_id"] == lid and booking["host_id"] == listing.owner_id
            assert booking["status"] in LIVE and booking["released"] is False
            assert (hold.start, hold.end) == (booking["start"], booking["end"])
            assert (hold.seats, hold.quantity) == (booking["seats"], booking["quantity"])
            if listing.unit == Unit.night:
                nights.append((hold.start, hold.end))
            elif listing.unit == Unit.hour:
                assert hold.start is not None and hold.end is not None
                slot = hold.start
                while slot < hold.end:
                    seats[slot.strftime("%Y-%m-%dT%H")] += hold.seats
                    slot += timedelta(hours=1)
        nights.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(nights)), lid
        assert listing.availability.hour_seats == dict(seats)
        assert all(n <= listing.capacity for n in seats.values())
        if listing.unit == Unit.item:
            taken = sum(h.quantity for h in listing.availability.holds)
            assert listing.availability.stock_left == listing.stock - taken >= 0  # type: ignore[operator]
        else:
            assert listing.availability.stock_left is None

        # Review summary == the reviews, exactly.
        mine = reviews_by_listing.get(lid, [])
        assert listing.review_summary.count == len(mine)
        assert listing.review_summary.sum == sum(r["rating"] for r in mine)
        assert listing.review_summary.histogram == {
            str(i): sum(1 for r in mine if r["rating"] == i) for i in range(1, 6)
        }

    for bid, raw in bookings.items():
        booking = Booking.model_validate(raw)
        assert held[bid] == (0 if booking.released else 1), bid
        assert booking.released == (booking.status.value == "cancelled")
        assert "guest" in roles[booking.guest_id] and booking.guest_id != booking.host_id
        p = booking.price
        for money in (p.unit_price, p.subtotal, p.guest_fee, p.commission, p.total, p.host_payout):
            assert isinstance(money.amount, int) and money.currency == p.unit_price.currency
        assert p.subtotal.amount == p.unit_price.amount * p.units
        assert p.total.amount == p.subtotal.amount + p.guest_fee.amount
        assert p.host_payout.amount == p.subtotal.amount - p.commission.amount
        if booking.start is not None and booking.status.value == "completed":
            assert as_utc(booking.end) <= midnight(ANCHOR)  # type: ignore[arg-type]

    assert units_with_holds == {"night", "hour", "item"}  # every kind of claim is exercised
    reviewed = Counter(r["booking_id"] for r in data["reviews"])
    assert max(reviewed.values()) == 1
    for raw in data["reviews"]:
        review = Review.model_validate(raw)
        booking = bookings[review.booking_id]
        assert booking["status"] == "completed" and booking["guest_id"] == review.guest_id
        assert booking["listing_id"] == review.listing_id
        assert review.created_at > (booking["end"] or booking["created_at"])
    for raw in data["users"]:
        User.model_validate(raw)

    # Variety: several continents, currencies and categories.
    assert len({listing["price"]["currency"] for listing in data["listings"]}) >= 12
    assert len({listing["category"] for listing in data["listings"]}) == len(CATEGORIES)
    # Unique indexes were rebuilt after the bulk load (and so proved the data unique).
    assert (await db["users"].index_information())["email_unique"]["unique"] is True
    assert (await db["reviews"].index_information())["booking_unique"]["unique"] is True


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def test_generated_documents_are_stored_as_generated() -> None:
    """The embedded fast path skips mongomock's per-document normalisation; that is only right
    if the normalisation (and a BSON round trip) leaves the generated documents unchanged."""
    gen = Generator(listings=400, users=40, seed=3, anchor=ANCHOR)
    docs: list[dict[str, Any]] = gen.users("hash")
    for batch in gen.batches(200):
        docs += batch.listings + batch.bookings + batch.reviews
    for doc in docs:
        assert helpers.patch_datetime_awareness_in_document(doc) == doc
        assert BSON.encode(doc).decode() == doc


def test_prices_use_each_currency_minor_units() -> None:
    gen = Generator(listings=2000, users=50, seed=5, anchor=ANCHOR)
    gen.users("hash")
    listings = [doc for batch in gen.batches() for doc in batch.listings]
    by_currency: dict[str, list[int]] = defaultdict(list)
    for doc in listings:
        by_currency[doc["price"]["currency"]].append(doc["price"]["amount"])
    assert set(by_currency) <= set(CURRENCY_EXPONENT)
    # A night in Tokyo costs thousands of yen (exponent 0), in Paris tens of euros (in cents).
    assert 3_000 < sorted(by_currency["JPY"])[len(by_currency["JPY"]) // 2] < 100_000
    assert 2_000 < sorted(by_currency["EUR"])[len(by_currency["EUR"]) // 2] < 50_000


async def test_seeding_twice_is_refused(seeder: Seeder) -> None:
    await seeder(listings=50, users=20)
    with pytest.raises(SeedError, match="already seeded"):
        await seed_database(listings=50, users=20, anchor=ANCHOR, settings=CHEAP)


async def test_demo_password_verifies(seeder: Seeder) -> None:
    from service.accounts.passwords import verify_password

    db, report = await seeder(listings=20, users=20)
    host = await db["users"].find_one({"email": report.demo_logins[0]})
    assert host["roles"] == ["host"]
    assert await verify_password(CHEAP, host["password_hash"], DEMO_PASSWORD)
    assert not await verify_password(CHEAP, host["password_hash"], DEMO_PASSWORD + "x")


async def test_progress_is_reported(seeder: Seeder) -> None:
    seen: list[tuple[str, int, int]] = []
    await seeder(listings=1200, users=30, progress=lambda *a: seen.append(a), chunk_size=500)
    listing_steps = [s for s in seen if s[0] == "listings"]
    assert [done for _, done, _ in listing_steps] == [0, 500, 1000, 1200]
    assert ("users", 31, 31) in seen  # 30 + the admin


async def test_timing_10k_listings() -> None:
    await fresh_db()
    started = time.perf_counter()
    report = await seed_database(listings=10_000, users=1000, anchor=ANCHOR, settings=CHEAP)
    elapsed = time.perf_counter() - started
    assert report.counts.listings == 10_000
    assert await Listing.get_motor_collection().count_documents({}) == 10_000
    print(f"\nseeded 10k listings into the embedded store in {elapsed:.2f} s: {report.summary()}")


def test_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import app
    from service.core.config import get_settings

    monkeypatch.delenv("MONGODB_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["seed", "--listings", "300", "--users", "40", "--seed", "3", "--anchor", "2026-06-01"],
            env={"COLUMNS": "200", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "64"},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "listings: 300" in result.output and "anchor: 2026-06-01" in result.output
    assert "host1@example.com" in result.output and DEMO_PASSWORD in result.output


@pytest.mark.realmongo
async def test_real_mongodb_stores_the_same_documents(seeder: Seeder, mongo_url: str) -> None:
    """The insert_many path (a server) and the embedded fast path store identical data."""
    url = mongo_url
    embedded, _ = await seeder(listings=400, users=40)
    expected = await dump(embedded)
    client = AsyncIOMotorClient(url, tz_aware=True, serverSelectionTimeoutMS=3000)
    name = f"seeding_{uuid.uuid4().hex[:10]}"
    try:
        db = client[name]
        await init_beanie(database=db, document_models=ALL_DOCUMENTS)
        await seed_database(listings=400, users=40, anchor=ANCHOR, settings=CHEAP)
        assert await dump(db) == expected
    finally:
        await client.drop_database(name)
        client.close()
