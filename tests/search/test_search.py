"""Each filter, sort, facet and pagination path against a seeded index, checked in Python."""

from __future__ import annotations

from typing import Any

import pytest

from service.search.schemas import SearchResult
from tests.search.conftest import CITIES, SearchEnv, day, hour
from tests.search.expected import as_query, expected, haversine, matches

AMS = CITIES["Amsterdam"]
FILTER_CASES: list[dict[str, Any]] = [
    {},
    {"category": ["house"]},
    {"category": ["house", "cabin"]},
    {"amenities": ["wifi"]},
    {"amenities": ["wifi", "kitchen"]},
    {"city": ["Paris"]},
    {"price_min": 10_000, "price_max": 40_000},
    {"price_max": 9_000},
    {"rating_min": 4.0},
    {"guests": 5},
    {"lat": AMS[0], "lon": AMS[1], "radius_km": 15},
    {"bbox": (13.0, 52.2, 13.8, 52.8)},
    {"check_in": day(4), "check_out": day(8)},
    {"check_in": day(19), "check_out": day(20)},
    {"start": hour(9), "end": hour(13)},
    {"start": hour(9), "end": hour(13), "guests": 2},
    {"quantity": 2},
    {"unit": ["night", "item"]},
    {
        "category": ["apartment", "studio"],
        "amenities": ["wifi"],
        "price_max": 60_000,
        "guests": 2,
        "check_in": day(9),
        "check_out": day(14),
    },
]


async def _all_pages(env: SearchEnv, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        q = {**as_query(params), "limit": limit}
        if cursor:
            q["cursor"] = cursor
        r = await env.client.get("/v1/search/listings", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["hits"]) <= limit
        hits += body["hits"]
        cursor = body["next_cursor"]
        if cursor is None:
            return hits
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("params", FILTER_CASES, ids=lambda p: ",".join(p) or "none")
async def test_each_filter_matches_python(search_env: SearchEnv, params: dict[str, Any]) -> None:
    want = [str(x.id) for x in expected(search_env.listings, params)]
    r = await search_env.client.get(
        "/v1/search/listings", params={**as_query(params), "limit": 100}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(want)
    assert sorted(h["id"] for h in body["hits"]) == sorted(want)
    assert body["next_cursor"] is None


async def test_filters_are_not_vacuous(search_env: SearchEnv) -> None:
    """The seeded set makes every filter case exclude something and keep something."""
    everything = expected(search_env.listings, {})
    for params in FILTER_CASES[1:]:
        got = expected(search_env.listings, params)
        assert 0 < len(got) < len(everything), params


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "price_asc"},
        {"sort": "price_desc", "category": ["house", "apartment"]},
        {"sort": "distance", "lat": 51.0, "lon": 4.0},
        {"sort": "rating"},
        {"sort": "newest"},
        {"sort": "relevance"},
    ],
    ids=lambda p: p["sort"],
)
async def test_sorts_and_pagination_to_the_end(
    search_env: SearchEnv, params: dict[str, Any]
) -> None:
    want = [str(x.id) for x in expected(search_env.listings, params)]
    hits = await _all_pages(search_env, params, limit=7)
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids))  # no duplicates
    assert ids == want  # no gaps, right order


async def test_distance_km_on_hits_and_circle(search_env: SearchEnv) -> None:
    lat, lon = AMS[0], AMS[1]
    for sort in ("distance", "price_asc"):
        params = {"lat": lat, "lon": lon, "radius_km": 50, "sort": sort, "limit": 100}
        body = (await search_env.client.get("/v1/search/listings", params=params)).json()
        assert body["hits"]
        SearchResult.model_validate(body)
        for hit in body["hits"]:
            d = haversine(lat, lon, hit["location"]["lat"], hit["location"]["lon"])
            assert abs(hit["distance_km"] - d) < 0.01
            assert hit["distance_km"] <= 50
    body = (await search_env.client.get("/v1/search/listings")).json()
    assert all(h.get("distance_km") is None for h in body["hits"])


def _count_terms(listings: list, params: dict[str, Any], facet: str, values: Any) -> dict:
    pool = [x for x in listings if matches(x, params, skip=facet)]
    counts: dict[str, int] = {}
    for x in pool:
        for v in values(x):
            counts[v] = counts.get(v, 0) + 1
    return counts


async def test_facets_have_multi_select_counts(search_env: SearchEnv) -> None:
    params = {"category": ["house", "cabin"], "amenities": ["wifi"], "price_max": 60_000}
    r = await search_env.client.get(
        "/v1/search/listings",
        params={**params, "facets": "category,amenities,price,rating,city", "limit": 100},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    SearchResult.model_validate(body)  # the documented shape (served without re-validation)
    listings = search_env.listings
    assert body["total"] == len(expected(listings, params))
    facets = body["facets"]

    cat = _count_terms(listings, params, "category", lambda x: [x.category])
    assert {f["value"]: f["count"] for f in facets["category"]} == cat
    assert set(cat) - {"house", "cabin"}  # other categories still counted (multi-select)
    am = _count_terms(listings, params, "amenities", lambda x: x.amenities)
    assert {f["value"]: f["count"] for f in facets["amenities"]} == am
    assert am.get("wifi", 0) < sum(1 for x in listings if matches(x, params, skip="amenities"))
    city = _count_terms(listings, params, "city", lambda x: [x.address.city])
    assert {f["value"]: f["count"] for f in facets["city"]} == city

    pool = [x for x in listings if matches(x, params, skip="price")]
    for bucket in facets["price"]:
        lo, hi = bucket["from"], bucket["to"]
        # Money bounds are integer minor units, never floats.
        assert all(v is None or type(v) is int for v in (lo, hi)), bucket
        n = sum(
            1
            for x in pool
            if (lo is None or x.price.amount >= lo) and (hi is None or x.price.amount < hi)
        )
        assert bucket["count"] == n, bucket
    assert sum(b["count"] for b in facets["price"]) == len(pool)  # not narrowed by price_max

    pool = [x for x in listings if matches(x, params, skip="rating")]
    for bucket in facets["rating"]:
        n = sum(
            1
            for x in pool
            if x.review_summary.average is not None and x.review_summary.average >= bucket["from"]
        )
        assert bucket["count"] == n, bucket


async def test_keywords_and_fuzzy_matching(search_env: SearchEnv) -> None:
    listings = [x for x in search_env.listings if matches(x, {})]

    async def ids(q: str) -> set[str]:
        body = (
            await search_env.client.get("/v1/search/listings", params={"q": q, "limit": 100})
        ).json()
        return {h["id"] for h in body["hits"]}

    harbour = {str(x.id) for x in listings if "harbour" in x.description}
    assert harbour and await ids("harbour") == harbour
    assert await ids("harbuor") == harbour  # one transposition away
    amsterdam = {str(x.id) for x in listings if x.address.city == "Amsterdam"}
    assert await ids("amsterdm") == amsterdam  # city, one letter missing
    cabins = {str(x.id) for x in listings if x.category == "cabin"}
    got = (
        await search_env.client.get("/v1/search/listings", params={"q": "cabin", "limit": 100})
    ).json()
    assert {h["id"] for h in got["hits"]} == cabins
    # title^3 and category^2: a cabin's own title outranks nothing else here, all are cabins
    assert got["total"] == len(cabins)


async def test_keyword_pagination_is_stable(search_env: SearchEnv) -> None:
    params = {"q": "garden forest"}
    hits = await _all_pages(search_env, params, limit=4)
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids))
    want = {
        str(x.id)
        for x in search_env.listings
        if matches(x, {}) and ("garden" in x.description or "forest" in x.description)
    }
    assert set(ids) == want


async def test_cursor_is_bound_to_its_query_and_signed(search_env: SearchEnv) -> None:
    r = await search_env.client.get("/v1/search/listings", params={"limit": 3})
    cursor = r.json()["next_cursor"]
    assert cursor
    other = await search_env.client.get(
        "/v1/search/listings", params={"limit": 3, "cursor": cursor, "category": "house"}
    )
    assert other.status_code == 422 and other.json()["errors"][0]["loc"] == ["query", "cursor"]
    forged = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    bad = await search_env.client.get("/v1/search/listings", params={"cursor": forged})
    assert bad.status_code == 422


async def test_a_cursor_survives_dropping_facets(search_env: SearchEnv) -> None:
    """Issue #9: facets are counts beside the hits; they do not bind the cursor."""
    q = {"limit": 4, "sort": "price_asc", "category": "house"}
    first = await search_env.client.get(
        "/v1/search/listings", params={**q, "facets": "category,price"}
    )
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor and set(first.json()["facets"]) == {"category", "price"}
    plain = await search_env.client.get("/v1/search/listings", params={**q, "cursor": cursor})
    assert plain.status_code == 200, plain.text
    assert plain.json()["facets"] == {}
    # The same page as continuing with facets, and as paging without them from the start.
    with_facets = await search_env.client.get(
        "/v1/search/listings", params={**q, "cursor": cursor, "facets": "amenities"}
    )
    assert with_facets.status_code == 200
    ids = [h["id"] for h in plain.json()["hits"]]
    assert ids == [h["id"] for h in with_facets.json()["hits"]]
    start = await search_env.client.get("/v1/search/listings", params={**q, "limit": 8})
    assert [h["id"] for h in start.json()["hits"]][4:] == ids
    # Parameters that change the hits still bind it.
    for change in ({"sort": "price_desc"}, {"guests": 2}, {"q": "garden"}):
        other = await search_env.client.get(
            "/v1/search/listings", params={**q, **change, "cursor": cursor}
        )
        assert other.status_code == 422, change


async def test_hits_carry_what_booking_needs(search_env: SearchEnv) -> None:
    """Issue #8: unit, capacity, instant_book and min_nights on every hit (no extra reads)."""
    r = await search_env.client.get("/v1/search/listings", params={"limit": 100})
    by_id = {str(x.id): x for x in search_env.listings}
    hits = r.json()["hits"]
    assert hits
    for hit in hits:
        listing = by_id[hit["id"]]
        assert hit["unit"] == listing.unit.value
        assert hit["capacity"] == listing.capacity
        assert hit["instant_book"] is listing.rules.instant_book
        assert hit["min_nights"] == listing.rules.min_nights
    assert {h["instant_book"] for h in hits} == {True, False}
    SearchResult.model_validate(r.json())


async def test_suggest_completes_titles_categories_and_cities(search_env: SearchEnv) -> None:
    async def texts(q: str) -> list[str]:
        r = await search_env.client.get("/v1/search/suggest", params={"q": q})
        assert r.status_code == 200, r.text
        return [s["text"] for s in r.json()["suggestions"]]

    assert "Amsterdam" in await texts("amst")
    assert "cabin" in await texts("cab")
    sunny = await texts("sunny")
    assert sunny and all(t.lower().startswith("sunny") for t in sunny) and len(sunny) <= 10
    assert len(sunny) == len(set(sunny))
    assert await texts("zzzz") == []
    r = await search_env.client.get("/v1/search/suggest", params={"q": ""})
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 52.0}, "lon"),
        ({"radius_km": 5}, "radius_km"),
        ({"sort": "distance"}, "sort"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,60,10,50"}, "bbox"),
        ({"check_in": day(4), "check_out": day(4)}, "check_out"),
        ({"check_in": day(4)}, "check_out"),
        ({"start": hour(10), "end": hour(9)}, "end"),
        ({"start": "2031-03-01T10:30:00Z", "end": "2031-03-01T12:00:00Z"}, "start"),
        ({"start": hour(0), "end": hour(169)}, "end"),
        ({"quantity": 1, "check_in": day(4), "check_out": day(5)}, "quantity"),
        ({"unit": "room"}, "unit"),
        ({"price_min": 500, "price_max": 100}, "price_max"),
        ({"facets": "category,colour"}, "facets"),
        ({"sort": "cheapest"}, "sort"),
        ({"limit": 101}, "limit"),
        ({"guests": 0}, "guests"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    search_env: SearchEnv, params: dict[str, Any], field: str
) -> None:
    r = await search_env.client.get("/v1/search/listings", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["loc"] for e in r.json()["errors"]), r.json()
