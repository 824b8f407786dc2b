"""Search in the guest's currency: exact bounds at the boundary across KRW, EUR and BHD
listings, converted display figures, currency sorts, the price facet, the 422s, and a rate
change reaching search within 5 s through the indexer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents import Role
from documents.fx import Rates, convert
from indexers.definition import alias_name
from indexers.runner import Indexer
from service.accounts.service import set_roles
from service.core.config import Settings
from service.search import service as search_service
from tests.conftest import Account, MakeUser
from tests.search.test_totals import _day, _listing

pytestmark = pytest.mark.stores

TABLE = {"base": "EUR", "rates": {"USD": "1.0832", "KRW": "1456.2", "BHD": "0.4105"}}
PRICES = {"EUR": 12_345, "KRW": 187_650, "BHD": 52_779}  # about 123, 129 and 128 EUR
STAY = {"check_in": _day(20), "check_out": _day(23)}


@pytest.fixture
async def admin(make_user: MakeUser) -> Account:
    account = await make_user(["guest"])
    await set_roles(account.id, [Role.guest, Role.admin], actor_id="test")
    return account


@pytest.fixture
async def indexer(app: FastAPI, settings: Settings) -> AsyncIterator[Indexer]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    yield Indexer.polling(es, settings)
    await es.close()


async def _sync(indexer: Indexer, settings: Settings) -> None:
    await indexer.drain()
    await indexer.es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))


async def _catalogue(client: httpx.AsyncClient, host: Account) -> dict[str, str]:
    """One night listing per currency: currency -> listing id."""
    out = {}
    for code, amount in PRICES.items():
        price = {"amount": amount, "currency": code}
        out[code] = await _listing(client, host, price=price, title=f"Currency loft {code}")
    return out


async def _search(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get("/v1/search/listings", params={"limit": 100, **params})


async def _hits(client: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, Any]]:
    r = await _search(client, **params)
    assert r.status_code == 200, r.text
    return {h["id"]: h for h in r.json()["hits"]}


async def test_exact_bounds_display_sort_and_facet_in_a_currency(
    client: httpx.AsyncClient, host: Account, admin: Account, indexer: Indexer, settings: Settings
) -> None:
    ids = await _catalogue(client, host)
    put = await client.put("/v1/admin/fx", json=TABLE, headers=admin.headers)
    assert put.status_code == 200, put.text
    version = put.json()["version"]
    await _sync(indexer, settings)
    rates = Rates.of(version, TABLE["base"], TABLE["rates"])

    # Three currencies and no `currency`: comparing prices is refused, naming the parameter.
    for params in ({"sort": "price_asc"}, {"price_max": 20_000}, {**STAY, "price_min": 1}):
        r = await _search(client, **params)
        assert r.status_code == 422, (params, r.text)
        assert ["query", "currency"] in [e["loc"] for e in r.json()["errors"]]
    for bad in ("ZZZ", "JPY", "usd"):
        r = await _search(client, currency=bad)
        assert r.status_code == 422, (bad, r.text)
        assert any("currency" in e["loc"] for e in r.json()["errors"]), r.json()
    # Searches that compare nothing still work without it.
    assert set(ids.values()) <= set(await _hits(client, **STAY))

    for target in ("USD", "KRW", "BHD", "EUR"):
        dated = await _hits(client, **STAY, currency=target)
        plain = await _hits(client, currency=target)
        for code, lid in ids.items():
            hit = dated[lid]
            assert hit["fx_version"] == version
            assert hit["price"] == {"amount": PRICES[code], "currency": code}
            assert hit["quote"]["total"]["currency"] == code  # its own figures stay
            want = convert(rates, hit["quote"]["total"]["amount"], code, target)
            total = hit["display_quote"]["total"]
            assert total == {"amount": want, "currency": target}
            unit = convert(rates, PRICES[code], code, target)
            assert plain[lid]["display_price"] == {"amount": unit, "currency": target}
            assert "display_quote" not in plain[lid]
            # Exact at the boundary, in the display currency, for the total and the unit price.
            for extra, edge in ((STAY, want), ({}, unit)):
                params = {**extra, "currency": target}
                assert lid in await _hits(client, **params, price_max=edge)
                assert lid not in await _hits(client, **params, price_max=edge - 1)
                assert lid in await _hits(client, **params, price_min=edge)
                assert lid not in await _hits(client, **params, price_min=edge + 1)
                # Sorted towards the bound, the first page starts just past it (search_after)
                # and still keeps the listing on the edge.
                assert lid in await _hits(client, **params, price_max=edge, sort="price_desc")
                assert lid in await _hits(client, **params, price_min=edge, sort="price_asc")

        # One order across currencies, by the converted total.
        for sort, descending in (("price_asc", False), ("price_desc", True)):
            r = await _search(client, **STAY, currency=target, sort=sort)
            totals = [h["display_quote"]["total"]["amount"] for h in r.json()["hits"]]
            assert len(totals) == 3 and totals == sorted(totals, reverse=descending)

    # The price facet buckets the converted total (KRW: buckets of 5000 won and up).
    r = await _search(client, **STAY, currency="KRW", facets="price")
    buckets = r.json()["facets"]["price"]
    assert sum(b["count"] for b in buckets) == r.json()["total"] == 3
    assert buckets[-1] == {"from": 50_000, "to": None, "count": 3}


async def test_the_price_facet_never_counts_currencies_together(
    client: httpx.AsyncClient, host: Account, admin: Account, indexer: Indexer, settings: Settings
) -> None:
    """Without `currency`, a price facet over several currencies is bucketed in the rate
    table's base, exactly as with currency=<base>; one currency: that currency's own units."""
    await _listing(client, host, price={"amount": PRICES["EUR"], "currency": "EUR"}, title="One")
    await _sync(indexer, settings)
    single = await _search(client, facets="price,category")
    assert single.status_code == 200, single.text
    assert single.json()["facets_currency"] == "EUR"
    assert (await _search(client, facets="category")).json()["facets_currency"] is None

    await _catalogue(client, host)
    await _sync(indexer, settings)
    # The catalogue's currencies are kept for CURRENCIES_TTL_S; this test does not wait them out.
    search_service._currencies.clear()
    # Several currencies and no rate table: nothing to count them in one currency with.
    r = await _search(client, facets="price")
    assert r.status_code == 422, r.text
    assert ["query", "facets"] in [e["loc"] for e in r.json()["errors"]]
    assert (await _search(client, facets="category")).status_code == 200

    put = await client.put("/v1/admin/fx", json=TABLE, headers=admin.headers)
    assert put.status_code == 200, put.text
    await _sync(indexer, settings)
    for extra in ({}, STAY):
        plain = (await _search(client, **extra, facets="price,category")).json()
        based = (await _search(client, **extra, facets="price,category", currency="EUR")).json()
        assert plain["facets_currency"] == based["facets_currency"] == "EUR"
        assert plain["facets"] == based["facets"]
        assert sum(b["count"] for b in plain["facets"]["price"]) == plain["total"] == 4
        # All four are about 123-129 EUR a night (three nights and the fee: 20,000-50,000);
        # unconverted, 187,650 won would sit in the top bucket.
        bucket = plain["facets"]["price"][3 if extra else 2]
        assert bucket["count"] == 4, plain["facets"]
        assert "display_price" not in plain["hits"][0]  # the hits are not converted


async def test_converted_price_buckets_match_the_conversion_at_their_edges(
    client: httpx.AsyncClient, host: Account, admin: Account, indexer: Indexer, settings: Settings
) -> None:
    """Each listing counts in the bucket its converted unit price falls in (documents.fx.convert,
    the one rounding rule), on both sides of the edges: 9,232 EUR converts to exactly 100.00
    USD at 1.0832 (the 10,000 edge), 9,231 EUR to 99.99."""
    from service.search.query import PRICE_BUCKETS

    put = await client.put("/v1/admin/fx", json=TABLE, headers=admin.headers)
    rates = Rates.of(put.json()["version"], TABLE["base"], TABLE["rates"])
    prices = [("EUR", 9_232), ("EUR", 9_231), ("EUR", 10_000), ("EUR", 9_999), ("KRW", 145_620)]
    prices += [("KRW", 145_619), ("BHD", 41_050), ("BHD", 4_105), ("USD", 5_416), ("USD", 54_160)]
    for i, (code, amount) in enumerate(prices):
        price = {"amount": amount, "currency": code}
        await _listing(client, host, price=price, title=f"Edge loft {i}")
    await _sync(indexer, settings)
    for target in ("EUR", "USD", "KRW", "BHD"):
        want = [0] * len(PRICE_BUCKETS)
        for code, amount in prices:
            shown = convert(rates, amount, code, target)
            for i, (lo, hi) in enumerate(PRICE_BUCKETS):
                if (lo is None or shown >= lo) and (hi is None or shown < hi):
                    want[i] += 1
        r = await _search(client, facets="price", currency=target)
        assert r.status_code == 200, r.text
        got = [b["count"] for b in r.json()["facets"]["price"]]
        assert got == want, (target, got, want)
    # The 10,000 USD edge, both sides (9,232 EUR is in, 9,231 EUR is not).
    usd = (await _search(client, facets="price", currency="USD")).json()["facets"]["price"]
    assert usd[1]["count"] >= 1 and usd[2]["count"] >= 1


async def test_a_rate_change_reaches_search_within_5_s(
    client: httpx.AsyncClient, host: Account, admin: Account, indexer: Indexer, settings: Settings
) -> None:
    ids = await _catalogue(client, host)
    assert (await client.put("/v1/admin/fx", json=TABLE, headers=admin.headers)).is_success
    await _sync(indexer, settings)

    def order(hits: list[dict[str, Any]]) -> list[str]:
        return [next(c for c, lid in ids.items() if lid == h["id"]) for h in hits]

    r = await _search(client, **STAY, currency="USD", sort="price_asc")
    assert order(r.json()["hits"]) == ["EUR", "BHD", "KRW"]

    stop = asyncio.Event()
    task = asyncio.create_task(indexer.run(stop))
    try:
        # The won halves in value: the KRW listing becomes the cheapest.
        cheap_won = {"base": "EUR", "rates": {**TABLE["rates"], "KRW": "2912.4"}}
        put = await client.put("/v1/admin/fx", json=cheap_won, headers=admin.headers)
        assert put.status_code == 200, put.text
        began = time.monotonic()
        while True:
            r = await _search(client, **STAY, currency="USD", sort="price_asc")
            hits = r.json()["hits"]
            if order(hits) == ["KRW", "EUR", "BHD"]:
                break
            assert time.monotonic() - began < 5.0, order(hits)
            await asyncio.sleep(0.2)
        assert {h["fx_version"] for h in hits} == {put.json()["version"]}
        totals = [h["display_quote"]["total"]["amount"] for h in hits]
        assert totals == sorted(totals)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def test_converted_bounds_are_remembered_per_table() -> None:
    """The same bounds over the same table come back as the same query; another table (even one
    equal to it) is worked out again, so a new rate table never serves an old query."""
    from service.search.query import SearchParams, converted_range, price_basis

    first = Rates.of(1, TABLE["base"], TABLE["rates"])
    p = SearchParams(currency="USD", fx=first, price_max=20_000)
    basis = price_basis(p, 500)
    query = converted_range(p, basis, None, 20_000)
    assert converted_range(p, basis, None, 20_000) is query
    assert converted_range(p, basis, 1, 20_000) is not query
    again = SearchParams(currency="USD", fx=Rates.of(1, TABLE["base"], TABLE["rates"]))
    fresh = converted_range(again, basis, None, 20_000)
    assert fresh is not query and fresh == query
    other = Rates.of(2, TABLE["base"], {**TABLE["rates"], "USD": "2"})
    moved = converted_range(SearchParams(currency="USD", fx=other), basis, None, 20_000)
    assert moved != query
