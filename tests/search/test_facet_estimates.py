"""Facet counts are exact up to a threshold of counted listings and marked as estimates above
it (issue 16). The module lowers the threshold so that a 90-listing index crosses it; the real
boundary (10,000) is checked on the request the service builds."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from documents.values import utcnow
from service.core.config import Settings
from service.search import query as sq
from service.search.schemas import SearchResult
from service.search.service import count_up_to
from tests.search.conftest import SearchEnv, seed_listings, seeded_env
from tests.search.expected import matches

EXACT_UP_TO = 20
SAMPLE_DOCS = 8


@pytest.fixture(scope="module")
async def facet_env(redis_server, es_url: str) -> AsyncIterator[SearchEnv]:
    async with seeded_env(
        redis_server,
        es_url,
        lambda: seed_listings(random.Random(2031), 90),
        search_facets_exact_hits=EXACT_UP_TO,
        search_facets_sample_docs=SAMPLE_DOCS,
    ) as env:
        yield env


def _counts(env: SearchEnv, params: dict[str, Any], facet: str) -> dict[str, int]:
    pool = [x for x in env.listings if matches(x, params, skip=facet)]
    out: dict[str, int] = {}
    for x in pool:
        for v in (
            x.amenities if facet == "amenities" else [getattr(x, facet, None) or x.address.city]
        ):
            out[v] = out.get(v, 0) + 1
    return out


def _domain(env: SearchEnv, params: dict[str, Any], facet: str) -> int:
    return sum(1 for x in env.listings if matches(x, params, skip=facet))


async def _search(env: SearchEnv, params: dict[str, Any]) -> dict[str, Any]:
    r = await env.client.get("/v1/search/listings", params={**params, "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    SearchResult.model_validate(body)
    return body


async def test_facets_over_few_listings_are_exact(facet_env: SearchEnv) -> None:
    # Neither filter is a requested facet: both narrow every facet's documents.
    params = {"city": ["Paris"], "amenities": ["wifi"]}
    assert 0 < _domain(facet_env, params, "category") <= EXACT_UP_TO
    body = await _search(facet_env, {**params, "facets": "category"})
    assert body["facets_estimated"] == []
    for facet in ("category",):
        got = {f["value"]: f["count"] for f in body["facets"][facet]}
        assert got == _counts(facet_env, params, facet), facet


async def test_facets_over_many_listings_are_marked_estimates(facet_env: SearchEnv) -> None:
    # category's own selection does not narrow its counts (multi-select): it counts every
    # searchable listing, above the threshold; city counts only houses, below it.
    params = {"category": ["house"]}
    assert _domain(facet_env, params, "category") > EXACT_UP_TO
    assert _domain(facet_env, params, "city") <= EXACT_UP_TO
    body = await _search(facet_env, {**params, "facets": "category,city"})
    assert body["facets_estimated"] == ["category"]
    assert body["total"] == sum(1 for x in facet_env.listings if matches(x, params))  # exact
    city = {f["value"]: f["count"] for f in body["facets"]["city"]}
    assert city == _counts(facet_env, {**params, "city": []}, "city")
    # The estimate is a sample scaled up: its buckets are categories that exist.
    real = _counts(facet_env, params, "category")
    assert {f["value"] for f in body["facets"]["category"]} <= set(real)
    assert all(f["count"] > 0 for f in body["facets"]["category"])


async def test_without_facets_nothing_is_estimated(facet_env: SearchEnv) -> None:
    body = await _search(facet_env, {})
    assert body["facets"] == {} and body["facets_estimated"] == []


def test_real_threshold_boundary() -> None:
    """At the default settings a facet over exactly 10,000 listings is counted; one more and
    it is sampled and named. Each facet with a selection of its own gets a request whose query
    is its documents, so exact counting costs what those documents cost, not the query's."""
    s = Settings.model_fields
    exact_up_to = s["search_facets_exact_hits"].default
    sample_docs = s["search_facets_sample_docs"].default
    assert exact_up_to == 10_000
    p = sq.SearchParams(facets=["category", "price", "rating"], category=["house"])
    bodies, estimated = sq.facets_bodies(
        p,
        now=utcnow(),
        guest_fee_bps=500,
        domains={"category": 10_001, "price": 10_000, "rating": 10_000},
        exact_up_to=exact_up_to,
        sample_docs=sample_docs,
    )
    assert estimated == ["category"]
    # price and rating count the hits (one request, the category selection in its query);
    # category lifts its own selection and is sampled.
    assert len(bodies) == 2
    lifted, counted = sorted(bodies, key=lambda b: sq.SAMPLE_AGG not in b["aggs"])
    assert set(counted["aggs"]) == {"price", "rating"}
    assert "values" in counted["aggs"]["price"]["aggs"]  # counted exactly
    assert {"terms": {"category": ["house"]}} in counted["query"]["bool"]["filter"]
    sampler = lifted["aggs"][sq.SAMPLE_AGG]
    assert 0 < sampler["random_sampler"]["probability"] <= 0.5
    assert set(sampler["aggs"]) == {"category"}
    assert {"terms": {"category": ["house"]}} not in lifted["query"]["bool"]["filter"]
    assert all(b["size"] == 0 for b in bodies)


def test_domain_counts_stop_at_their_bound() -> None:
    """Only a facet with a selection of its own needs a count (the others count the hits),
    and that count stops at the bound the service passes, past the exact threshold."""
    p = sq.SearchParams(facets=["category", "city"], category=["house"], price_max=5000)
    bodies = sq.domain_count_bodies(p, now=utcnow(), guest_fee_bps=500, up_to=100_000)
    assert list(bodies) == ["category"]
    assert bodies["category"]["track_total_hits"] == 100_000
    assert bodies["category"]["size"] == 0
    assert count_up_to(Settings(search_facets_count_up_to=5)) == 10_001


def test_an_empty_domain_is_not_searched_again() -> None:
    """A facet group whose documents were counted to 0 aggregates over match_none (the same
    empty buckets, without running the query again); a group with documents keeps its query."""
    p = sq.SearchParams(q="loft", facets=["category", "price"], category=["house"])
    bodies, _ = sq.facets_bodies(
        p,
        now=utcnow(),
        guest_fee_bps=500,
        domains={"category": 12, "price": 0},
        exact_up_to=10_000,
        sample_docs=5_000,
    )
    by_facet = {next(iter(b["aggs"])): b for b in bodies}
    assert by_facet["price"]["query"] == sq.MATCH_NONE
    assert "multi_match" in str(by_facet["category"]["query"])
