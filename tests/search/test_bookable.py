"""Property: every hit of a dated search can be booked for exactly those dates, and nothing
bookable is missing.

One index per module, seeded once with generated listings (units, booking rules, holds,
blocks, taken hour seats, stock); hypothesis varies the searches. The oracle
(`tests.search.expected.bookable`) runs the booking service's own validation and the claim's
condition on the stored documents, so "bookable" means what `POST /v1/bookings` means.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import Availability, BookingRules, Hold, Listing, ListingStatus, Pricing, Unit
from documents.values import Money, Period, midnight, utcnow
from indexers.definition import QUOTED_NIGHTS
from tests.indexers.helpers import make_listing
from tests.search.conftest import SearchEnv, seeded_env
from tests.search.expected import (
    bookable,
    expected,
    flexible_stay,
    matches,
    total_of,
    units_of,
)

TODAY = utcnow().date()
DAY0 = midnight(TODAY)
HORIZON_DAYS = 60  # listings are busy within this many days of today


def generated_listings(rng: random.Random, n: int) -> list[Listing]:
    out: list[Listing] = []
    for i in range(n):
        unit = rng.choice([Unit.night] * 6 + [Unit.hour] * 3 + [Unit.item])
        capacity = rng.randint(1, 6)
        av = Availability()
        stock = None
        if unit == Unit.night:
            for k in range(rng.randint(0, 4)):
                start = DAY0 + timedelta(days=rng.randrange(-3, HORIZON_DAYS))
                end = start + timedelta(days=rng.randint(1, 6))
                av.holds.append(Hold(booking_id=f"b{i}-{k}", start=start, end=end))
            if rng.random() < 0.4:
                start = DAY0 + timedelta(days=rng.randrange(0, HORIZON_DAYS))
                av.blocks.append(Period(start=start, end=start + timedelta(days=rng.randint(1, 9))))
        elif unit == Unit.hour:
            for d in range(rng.randint(0, 4)):
                day = DAY0 + timedelta(days=rng.randrange(1, 8))
                for h in rng.sample(range(6, 22), rng.randint(1, 8)):
                    key = (day + timedelta(hours=h)).strftime("%Y-%m-%dT%H")
                    av.hour_seats[key] = rng.randint(0, capacity)
                if d == 0 and rng.random() < 0.3:
                    s = day + timedelta(hours=rng.randrange(6, 20))
                    av.blocks.append(Period(start=s, end=s + timedelta(hours=rng.randint(1, 4))))
        else:
            stock = rng.choice([1, 2, 5, 10])
            av.stock_left = rng.randint(0, stock)
        rules = BookingRules()
        if unit != Unit.item and rng.random() < 0.7:
            low = rng.choice([1, 1, 2, 3, 5, 7, 14, 28])
            rules = BookingRules(
                min_nights=low,
                max_nights=rng.choice([low, low + 2, 10, 30, 365, max(low, 7)]),
                advance_notice_hours=rng.choice([0, 0, 6, 24, 48, 24 * 10, 24 * 40]),
            )
        listing = make_listing(
            title=f"generated {unit.value} {i}",
            price=rng.randrange(1_000, 40_000),
            unit=unit,
            capacity=capacity,
            stock=stock,
            availability=av,
            status=ListingStatus.published if rng.random() < 0.95 else ListingStatus.draft,
            created_at=DAY0 - timedelta(days=400, hours=i),
        )
        listing.rules = rules
        if unit == Unit.night and rng.random() < 0.6:
            listing.pricing = Pricing(
                cleaning_fee=Money(amount=rng.choice([0, 1, 2_500, 7_999]), currency="EUR")
                if rng.random() < 0.7
                else None,
                weekly_discount_bps=rng.choice([0, 1, 333, 1_000, 2_500]),
                monthly_discount_bps=rng.choice([0, 0, 1_500, 4_999]),
            )
        out.append(listing)
    return out


@pytest.fixture(scope="module", autouse=True)
def _one_day() -> Iterator[None]:
    """Every date here is an offset from TODAY, fixed at import, while the service and the
    oracle read the clock. Run the module on TODAY's clock, ticking from mid-morning: a run
    that crosses midnight would otherwise search for a check-in that has just begun, which
    nothing can book."""
    with time_machine.travel(DAY0 + timedelta(hours=10), tick=True):
        yield


@pytest.fixture(scope="module")
async def env(redis_server, es_url: str) -> AsyncIterator[SearchEnv]:
    make = lambda: generated_listings(random.Random(7), 160)  # noqa: E731
    async with seeded_env(redis_server, es_url, make) as e:
        yield e


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def _hour(offset: int) -> str:
    return (DAY0 + timedelta(hours=offset)).isoformat().replace("+00:00", "Z")


nightly = st.builds(
    lambda first, n, guests, unit: {
        "check_in": _day(first),
        "check_out": _day(first + n),
        **({"guests": guests} if guests else {}),
        **({"unit": unit} if unit else {}),
    },
    first=st.integers(-2, HORIZON_DAYS + 5),
    n=st.sampled_from([1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 14, 21, 28, 30, 35]),
    guests=st.one_of(st.none(), st.integers(1, 7)),
    unit=st.sampled_from([None, ["night"], ["hour", "item"]]),
)
hourly = st.builds(
    lambda first, n, seats: {
        "start": _hour(first),
        "end": _hour(first + n),
        **({"guests": seats} if seats else {}),
    },
    first=st.integers(-3, 24 * 9),
    n=st.integers(1, 12),
    seats=st.one_of(st.none(), st.integers(1, 6)),
)
flexible = st.builds(
    lambda first, span, n, guests: {
        "nights": n,
        "from": _day(first),
        "to": _day(first + span),
        **({"guests": guests} if guests else {}),
    },
    first=st.integers(-2, HORIZON_DAYS),
    span=st.integers(0, 20),
    n=st.sampled_from([1, 2, 3, 5, 7, 10, 14, 28, 30]),
    guests=st.one_of(st.none(), st.integers(1, 7)),
)
ordered = st.builds(
    lambda q, unit: {"quantity": q, **({"unit": unit} if unit else {})},
    q=st.integers(1, 11),
    unit=st.sampled_from([None, ["item"], ["night"]]),
)
undated = st.builds(
    lambda unit: {"unit": unit} if unit else {},
    unit=st.sampled_from([None, ["night"], ["hour"], ["item"], ["night", "hour"]]),
)
BOUNDS = st.fixed_dictionaries(
    {},
    optional={
        "price_min": st.integers(0, 400_000),
        "price_max": st.integers(0, 800_000),
        "sort": st.sampled_from(["price_asc", "price_desc", "newest"]),
    },
)
SEARCHES = st.builds(
    lambda base, bounds: {**base, **bounds},
    st.one_of(nightly, nightly, hourly, hourly, ordered, undated, flexible, flexible),
    BOUNDS,
)


async def _hits(env: SearchEnv, params: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
    """Every hit, over as many pages as it takes (and `total` agrees on each page)."""
    hits: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await env.client.get("/v1/search/listings", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        hits += body["hits"]
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["total"] == len(hits)
            return hits


async def _ids(env: SearchEnv, params: dict[str, Any]) -> list[str]:
    """Every hit, over as many pages as it takes (and `total` agrees)."""
    ids: list[str] = []
    cursor = None
    while True:
        q = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await env.client.get("/v1/search/listings", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [h["id"] for h in body["hits"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["total"] == len(ids)
            return ids


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(params=SEARCHES)
async def test_dated_hits_are_exactly_the_bookable_listings(
    env: SearchEnv, params: dict[str, Any]
) -> None:
    if ("check_in" in params or "nights" in params) and (units_of(params) or 0) > QUOTED_NIGHTS:
        # Longer stays refuse price use (a 422, tested below): search them without.
        params = {k: v for k, v in params.items() if k not in ("price_min", "price_max")}
        if params.get("sort") in ("price_asc", "price_desc"):
            params["sort"] = "newest"
    if params.get("price_min", 0) > params.get("price_max", 10**12):
        params["price_min"], params["price_max"] = params["price_max"], params["price_min"]
    hits = await _hits(env, params, limit=100 if "nights" not in params else 30)
    ordered_ids = [h["id"] for h in hits]
    assert len(ordered_ids) == len(set(ordered_ids))
    got = set(ordered_ids)
    want = {str(x.id) for x in env.listings if matches(x, params)}
    if params.get("sort") in ("price_asc", "price_desc"):
        # Ordered by the stay's total (dated) or the unit price; ties by id.
        assert ordered_ids == [str(x.id) for x in expected(env.listings, params)]
    by_id = {str(x.id): x for x in env.listings}
    dated = any(k in params for k in ("check_in", "start", "quantity"))
    unbookable = {i for i in got if dated and not bookable(by_id[i], params)}
    if "nights" in params:
        unbookable = {i for i in got if flexible_stay(by_id[i], params) is None}
    assert not unbookable, f"hits that POST /v1/bookings would refuse: {sorted(unbookable)}"
    assert got == want, {"missing": sorted(want - got), "extra": sorted(got - want)}
    if "nights" in params:
        for hit in hits:
            listing = by_id[hit["id"]]
            stay = flexible_stay(listing, params)
            assert stay is not None
            assert (hit["stay"]["check_in"], hit["stay"]["check_out"]) == stay
            assert hit["quote"]["total"]["amount"] == total_of(listing, params)


async def test_the_generated_set_is_not_vacuous(env: SearchEnv) -> None:
    """Rules, holds and seats each turn some listing down and let others through."""
    listings = env.listings
    for params in (
        {"check_in": _day(3), "check_out": _day(4)},
        {"check_in": _day(10), "check_out": _day(17)},
        {"check_in": _day(1), "check_out": _day(3), "guests": 3},
        {"start": _hour(24 * 2 + 8), "end": _hour(24 * 2 + 14), "guests": 2},
        {"quantity": 2},
    ):
        hits = [x for x in listings if matches(x, params)]
        unit = "night" if "check_in" in params else "hour" if "start" in params else "item"
        same_unit = [x for x in listings if x.unit == unit and matches(x, {})]
        assert 0 < len(hits) < len(same_unit), params


BOUNDARY_SEARCHES: list[dict[str, Any]] = [
    {"check_in": _day(2), "check_out": _day(3)},
    {"check_in": _day(4), "check_out": _day(11)},  # weekly discount
    {"check_in": _day(1), "check_out": _day(29)},  # monthly discount
    {"check_in": _day(33), "check_out": _day(63)},
    {"start": _hour(24 * 3 + 9), "end": _hour(24 * 3 + 12), "guests": 2},
    {"quantity": 3},
]


@pytest.mark.parametrize("params", BOUNDARY_SEARCHES, ids=lambda p: ",".join(p))
async def test_price_bounds_are_exact_at_the_total(env: SearchEnv, params: dict[str, Any]) -> None:
    """price_max == a hit's total keeps it and total - 1 drops it; likewise price_min with
    total and total + 1. The total is the quote, which is the booking service's price."""
    r = await env.client.get("/v1/search/listings", params={**params, "limit": 100})
    hits = r.json()["hits"]
    assert hits
    by_id = {str(x.id): x for x in env.listings}
    for hit in hits[:8]:
        total = hit["quote"]["total"]["amount"]
        assert total == total_of(by_id[hit["id"]], params)
        for bound, value, kept in (
            ("price_max", total, True),
            ("price_max", total - 1, False),
            ("price_min", total, True),
            ("price_min", total + 1, False),
        ):
            ids = set(await _ids(env, {**params, bound: value}))
            assert (hit["id"] in ids) is kept, (bound, value, hit["quote"])


async def test_sort_by_total_differs_from_sort_by_unit_price(env: SearchEnv) -> None:
    """Cleaning fees and discounts reorder a stay's hits: the sort follows the total."""
    params = {"check_in": _day(4), "check_out": _day(11), "sort": "price_asc"}
    ids = await _ids(env, params)
    by_id = {str(x.id): x for x in env.listings}
    totals = [total_of(by_id[i], params) for i in ids]
    assert totals == sorted(totals)
    units = [by_id[i].price.amount for i in ids]
    assert units != sorted(units)  # the fixture makes this non-vacuous


async def test_long_stays_refuse_price_use_beyond_materialised_totals(env: SearchEnv) -> None:
    base = {"check_in": _day(1), "check_out": _day(40)}
    ok = await env.client.get("/v1/search/listings", params=base)
    assert ok.status_code == 200
    for extra in ({"price_max": 10}, {"sort": "price_asc"}, {"facets": "price"}):
        r = await env.client.get("/v1/search/listings", params={**base, **extra})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "check_out"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"nights": 3}, "from"),
        ({"nights": 3, "from": _day(5)}, "to"),
        ({"from": _day(5), "to": _day(9)}, "nights"),
        ({"nights": 3, "from": _day(9), "to": _day(5)}, "from"),
        ({"nights": 3, "from": _day(5), "to": _day(9), "check_in": _day(5)}, "check_out"),
        (
            {
                "nights": 3,
                "from": _day(5),
                "to": _day(9),
                "check_in": _day(5),
                "check_out": _day(8),
            },
            "nights",
        ),
    ],
)
async def test_bad_flexible_combinations_are_422(
    env: SearchEnv, params: dict[str, Any], name: str
) -> None:
    r = await env.client.get("/v1/search/listings", params=params)
    assert r.status_code == 422, r.text
    assert any(name in e["loc"] for e in r.json()["errors"]), r.json()


async def test_availability_can_start_agrees_with_bookings_and_search(env: SearchEnv) -> None:
    """A night `can_start` exactly when a stay of min_nights from it is bookable, and then a
    search for that stay finds the listing."""
    nightly = [x for x in env.listings if x.unit == Unit.night and matches(x, {})][:12]
    checked = 0
    for listing in nightly:
        lid = str(listing.id)
        r = await env.client.get(
            f"/v1/listings/{lid}/availability", params={"from": _day(-1), "to": _day(45)}
        )
        assert r.status_code == 200, r.text
        for night in r.json()["nights"]:
            d = night["date"]
            n = listing.rules.min_nights
            stay = {"check_in": d, "check_out": (date.fromisoformat(d) + timedelta(n)).isoformat()}
            assert night["can_start"] == bookable(listing, stay), (lid, d, listing.rules)
            if night["can_start"] and checked < 15:
                checked += 1
                assert lid in set(await _ids(env, stay))
    assert checked
