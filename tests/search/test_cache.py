"""The search cache: a repeated search is a hit, a write the indexer made searchable makes the
next identical search a miss that shows it, per-caller `saved` is added after the cache, and
with Redis gone searches still answer (bypassed, counted)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI
from prometheus_client import REGISTRY

from indexers.runner import Indexer
from service.core.config import Settings
from tests.conftest import METRICS, make_settings
from tests.hardening.conftest import running_app
from tests.observability.test_metrics import value
from tests.services import free_port


@pytest.fixture
async def indexer(app: FastAPI, settings: Settings) -> AsyncIterator[Indexer]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    indexer = Indexer.polling(es, settings)
    assert indexer.generation is not None  # the cache is on by default: the indexer bumps
    yield indexer
    await es.close()


async def _counts(client: httpx.AsyncClient, kind: str = "search") -> tuple[float, float]:
    text = (await client.get("/metrics", headers=METRICS)).text
    name = "search_cache_requests_total"
    return value(text, name, kind=kind, outcome="hit"), value(text, name, kind=kind, outcome="miss")


async def _search(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> dict:
    r = await client.get(
        "/v1/search/listings", params={"q": "lantern", "limit": 10}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_write_makes_the_next_identical_search_miss(
    client: httpx.AsyncClient, host, new_listing, indexer: Indexer
) -> None:
    price = {"amount": 12_000, "currency": "EUR"}
    r = await client.post(
        "/v1/listings", json=new_listing(title="Lantern loft", price=price), headers=host.headers
    )
    lid = r.json()["id"]
    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await indexer.drain()  # waits for the refresh, then bumps: no explicit refresh here

    hits0, misses0 = await _counts(client)
    first = await _search(client)
    assert [h["id"] for h in first["hits"]] == [lid]
    again = await _search(client)
    assert again == first
    hits1, misses1 = await _counts(client)
    assert (hits1 - hits0, misses1 - misses0) == (1, 1)

    patched = await client.patch(
        f"/v1/listings/{lid}",
        json={"title": "Lantern loft by the canal", "price": {"amount": 15_500, "currency": "EUR"}},
        headers=host.headers,
    )
    assert patched.status_code == 200, patched.text
    await indexer.drain()
    after = await _search(client)
    hits2, misses2 = await _counts(client)
    assert (hits2 - hits1, misses2 - misses1) == (0, 1)  # the identical search missed
    assert after["hits"][0]["title"] == "Lantern loft by the canal"
    assert after["hits"][0] != first["hits"][0]
    assert await _search(client) == after  # and is cached again
    assert (await _counts(client))[0] == hits2 + 1

    # A suggest page is cached the same way, and dropped the same way.
    s1 = await client.get("/v1/search/suggest", params={"q": "lante"})
    s2 = await client.get("/v1/search/suggest", params={"q": "lante"})
    assert s1.json() == s2.json() and s1.json()["suggestions"]
    hit, _ = await _counts(client, "suggest")
    assert hit >= 1
    assert (await client.delete(f"/v1/listings/{lid}", headers=host.headers)).status_code == 204
    await indexer.drain()
    assert (await client.get("/v1/search/suggest", params={"q": "lante"})).json() == {
        "suggestions": []
    }
    assert (await _search(client))["hits"] == []


async def test_saved_is_per_caller_on_a_cached_page(
    client: httpx.AsyncClient, host, make_user, new_listing, indexer: Indexer
) -> None:
    r = await client.post(
        "/v1/listings", json=new_listing(title="Lantern cabin"), headers=host.headers
    )
    lid = r.json()["id"]
    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await indexer.drain()
    fan, other = await make_user(["guest"]), await make_user(["guest"])
    saved = await client.put(f"/v1/me/wishlist/{lid}", headers=fan.headers)
    assert saved.status_code == 204
    hits0, _ = await _counts(client)
    anonymous = await _search(client)
    mine = await _search(client, fan.headers)
    theirs = await _search(client, other.headers)
    hits1, _ = await _counts(client)
    assert hits1 - hits0 == 2  # the same cached page for all three
    assert "saved" not in anonymous["hits"][0]
    assert mine["hits"][0]["saved"] is True
    assert theirs["hits"][0]["saved"] is False
    assert (await _search(client))["hits"][0].get("saved") is None  # nothing leaked in


async def test_searches_answer_with_redis_gone(es_url: str) -> None:
    # Nothing listens on this port: every cache call fails at once and is bypassed.
    dead = f"redis://127.0.0.1:{free_port()}/0"
    labels = {"kind": "search", "outcome": "error"}

    def errors() -> float:  # /metrics itself needs Redis (the token's session check)
        return REGISTRY.get_sample_value("search_cache_requests_total", labels) or 0.0

    before = errors()
    async with running_app(dead, es_url, rate_limit_enabled=False) as (_, client):
        for path in ("/v1/search/listings?q=lantern", "/v1/search/suggest?q=lan"):
            r = await client.get(path)
            assert r.status_code == 200, (path, r.text)
    assert errors() - before == 1


def test_the_key_is_the_whole_parameter_set() -> None:
    """Every field of SearchParams is in the key: one added later (currency...) is too."""
    from dataclasses import fields, replace
    from datetime import timedelta

    from documents.values import utcnow
    from service.search import query as sq
    from service.search.cache import SearchCache, search_parts

    cache = SearchCache(None, make_settings(None, None))
    now = utcnow()
    base = sq.SearchParams()
    key = cache.key("search", search_parts(base, limit=20, cursor=None, now=now))
    assert key == cache.key("search", search_parts(base, limit=20, cursor=None, now=now))
    assert key != cache.key("search", search_parts(base, limit=21, cursor=None, now=now))
    assert key != cache.key("search", search_parts(base, limit=20, cursor="c", now=now))
    changed = {"q": "x", "sort": "newest", "guests": 2, "facets": ["city"], "city": ["Utrecht"]}
    names = {f.name for f in fields(sq.SearchParams)}
    for name, v in changed.items():
        assert name in names
        other = search_parts(replace(base, **{name: v}), limit=20, cursor=None, now=now)
        assert cache.key("search", other) != key, name
    # Dated: the hour the clock is in relative to the stay is part of it (notice, horizon).
    day = (now + timedelta(days=3)).date()
    dated = replace(base, check_in=day, check_out=day + timedelta(days=2))
    a = cache.key("search", search_parts(dated, limit=20, cursor=None, now=now))
    b = cache.key(
        "search", search_parts(dated, limit=20, cursor=None, now=now + timedelta(hours=1))
    )
    assert a != b


async def test_a_rebuild_drops_cached_pages(
    client: httpx.AsyncClient, settings: Settings, host, new_listing, indexer: Indexer
) -> None:
    """`marketplace index rebuild` swaps the alias under the API: the pages cached from the old
    index are dropped then, not left to their TTL."""
    from indexers.rebuild import rebuild

    r = await client.post(
        "/v1/listings", json=new_listing(title="Lantern barn"), headers=host.headers
    )
    await client.post(f"/v1/listings/{r.json()['id']}/publish", headers=host.headers)
    await indexer.drain()
    await _search(client)
    hits0, misses0 = await _counts(client)
    await _search(client)
    assert (await _counts(client)) == (hits0 + 1, misses0)  # cached

    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        await rebuild(es, settings)
    finally:
        await es.close()
    await _search(client)
    assert (await _counts(client)) == (hits0 + 1, misses0 + 1)  # the rebuild dropped it
