"""Price bounds in the guest's currency, split into base-figure bands (`_converted_range`):
the same listings as the exact per-currency query, document for document.

Two checks: a property test that evaluates both queries over generated listings (any table,
any bounds, any fee, stays and unit prices, figures from another table version), and the same
comparison run by Elasticsearch over listings priced at the edges of the bounds.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.fx import Rates, base_figure, convert, max_source
from indexers.definition import MAPPINGS, F, index_settings, stay_base_field, stay_charge_field
from service.pricing import guest_total
from service.search.query import (
    MATCH_NONE,
    PriceBasis,
    SearchParams,
    Sort,
    _converted_range,
    _exact_range,
    _sort,
    _sort_start,
    price_basis,
)

CURRENCIES = ("EUR", "USD", "KRW", "BHD", "JPY", "KWD", "CLF")
VERSION = 7


def _get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _matches(q: dict[str, Any], doc: dict[str, Any]) -> bool:
    """What Elasticsearch answers for the query shapes `_converted_range` writes."""
    ((kind, body),) = q.items()
    if kind == "match_none":
        return False
    if kind == "term":
        ((path, value),) = body.items()
        return _get(doc, path) == value
    if kind == "range":
        ((path, bounds),) = body.items()
        value = _get(doc, path)
        if value is None:
            return False
        ops = {
            "gte": value >= bounds.get("gte", value),
            "gt": "gt" not in bounds or value > bounds["gt"],
            "lte": value <= bounds.get("lte", value),
            "lt": "lt" not in bounds or value < bounds["lt"],
        }
        return all(ops.values())
    assert kind == "bool", kind
    ok = all(_matches(c, doc) for c in body.get("filter", []))
    if "should" in body:
        ok = ok and sum(_matches(c, doc) for c in body["should"]) >= body["minimum_should_match"]
    return ok


def _doc(
    rates: Rates, currency: str, amount: int, nights: int, version: int, charge: int | None = None
) -> dict[str, Any]:
    """A search document's price fields, as the indexer writes them with table `rates` (a
    stay's charge is the unit price times the nights unless given: the bands read the figure)."""
    charge = amount * nights if charge is None else charge
    doc: dict[str, Any] = {
        "price": {"amount": amount, "currency": currency},
        F.STAY_CHARGE: {f"n{nights}": charge},
        F.FX_VERSION: version,
    }
    if version:
        doc[F.PRICE_BASE] = base_figure(rates, amount, currency)
        doc[F.STAY_BASE] = {f"n{nights}": base_figure(rates, charge, currency)}
    return doc


def _truth(rates: Rates, basis: PriceBasis, p: SearchParams, doc: dict[str, Any]) -> bool:
    """The bound by its definition: the guest's figure of the listing, converted, in range."""
    currency = doc["price"]["currency"]
    stored = _get(doc, basis.field)
    total = stored * basis.divisor
    if basis.fee_bps is not None:
        total = guest_total(total, basis.fee_bps)
    assert p.currency is not None
    shown = convert(rates, total, currency, p.currency)
    return (p.price_min is None or shown >= p.price_min) and (
        p.price_max is None or shown <= p.price_max
    )


rate = st.decimals(min_value="0.001", max_value="5000", places=3).map(str)


@settings(max_examples=300, deadline=None)
@given(
    rates=st.dictionaries(st.sampled_from(CURRENCIES[1:]), rate, min_size=1, max_size=6),
    target=st.sampled_from(CURRENCIES),
    lo=st.one_of(st.none(), st.integers(0, 3_000_000)),
    span=st.one_of(st.none(), st.integers(0, 3_000_000)),
    nights=st.one_of(st.none(), st.integers(1, 30)),
    units=st.one_of(st.none(), st.integers(2, 8)),
    fee=st.integers(0, 2_000),
    seed=st.integers(0, 2**32),
)
def test_bands_select_what_the_exact_query_selects(
    rates: dict[str, str],
    target: str,
    lo: int | None,
    span: int | None,
    nights: int | None,
    units: int | None,
    fee: int,
    seed: int,
) -> None:
    table = Rates.of(VERSION, "EUR", rates)
    if not table.knows(target):
        table = Rates.of(VERSION, "EUR", {**rates, target: "1.5"})
    hi = None if span is None else (lo or 0) + span
    p = SearchParams(currency=target, fx=table, price_min=lo, price_max=hi)
    if nights is not None:
        p.check_in, p.check_out = _stay(nights)
    basis = price_basis(p, fee)
    if nights is None and units is not None:
        basis = PriceBasis(F.PRICE_AMOUNT, units, fee)
    banded = _converted_range(p, basis, lo, hi)
    exact = _exact_range(p, basis, lo, hi)
    rng = random.Random(seed)
    days = nights or 1
    for _ in range(60):
        currency = rng.choice(sorted(table.table))
        amount = _near_edge(rng, table, currency, target, lo, hi, days * (units or 1))
        version = rng.choice([VERSION, VERSION, VERSION, 0, VERSION - 1, VERSION + 1])
        doc = _doc(table, currency, amount, days, version)
        truth = _truth(table, basis, p, doc)
        assert _matches(exact, doc) == truth, (doc, exact)
        assert _matches(banded, doc) == truth, (doc, banded)


def _stay(nights: int) -> tuple[Any, Any]:
    from datetime import timedelta

    from documents.values import utcnow

    start = (utcnow() + timedelta(days=10)).date()
    return start, start + timedelta(days=nights)


def _near_edge(
    rng: random.Random,
    table: Rates,
    currency: str,
    target: str,
    lo: int | None,
    hi: int | None,
    per: int,
) -> int:
    """A unit price whose guest figure lands at, just inside or just outside a bound (or
    anywhere), so both sides of every band edge are tried."""
    edges = [b for b in (lo, hi) if b is not None]
    if not edges or rng.random() < 0.2:
        return rng.randint(0, 5_000_000)
    edge = rng.choice(edges)
    back = convert(table, edge, target, currency)  # about the edge, in the listing's currency
    return max(0, back // max(per, 1) + rng.randint(-3, 3))


def test_a_currency_no_figure_fits_keeps_the_exact_query() -> None:
    """Bounds no amount of some currency meets (1 KRW: a fils of KWD is about 4 KRW) leave no
    inner range: the exact query, whose clause for that currency is an empty range."""
    table = Rates.of(VERSION, "EUR", {"KWD": "0.33", "KRW": "1456.2"})
    p = SearchParams(currency="KRW", fx=table, price_min=1, price_max=1)
    basis = price_basis(p, 0)
    exact = _exact_range(p, basis, 1, 1)
    kwd = next(c for c in exact["bool"]["should"] if "KWD" in str(c))
    amounts = kwd["bool"]["filter"][1]["range"][F.PRICE_AMOUNT]
    assert amounts["gte"] > amounts["lte"]
    assert _converted_range(p, basis, 1, 1) == exact


# Against Elasticsearch: listings priced one minor unit either side of every bound.

TABLE = Rates.of(VERSION, "EUR", {"USD": "1.0832", "KRW": "1456.2", "BHD": "0.4105"})
NIGHTS = 3
FEE_BPS = 500


@pytest.fixture(scope="module")
async def edge_index(es_url: str) -> AsyncIterator[tuple[AsyncElasticsearch, str]]:
    es = AsyncElasticsearch(es_url)
    index = "bands-test-listings"
    await es.options(ignore_status=404).indices.delete(index=index)
    await es.indices.create(index=index, mappings=MAPPINGS, settings=index_settings())
    p = SearchParams(currency="USD", fx=TABLE)
    p.check_in, p.check_out = _stay(NIGHTS)
    ops: list[dict[str, Any]] = []
    n = 0
    basis = price_basis(p, FEE_BPS)
    for bound in (9_000, 12_345, 20_000, 31_337):
        for currency in sorted(TABLE.table):
            # The stored stay charge whose guest total in USD is the bound, and 40 either side.
            edge = basis.upper(max_source(TABLE, bound, currency, "USD"))
            for charge in range(max(edge - 40, 0), edge + 40):
                for version in (VERSION, VERSION if charge % 3 else 0, VERSION + 1):
                    n += 1
                    doc = _doc(TABLE, currency, charge // NIGHTS, NIGHTS, version, charge)
                    ops += [{"index": {"_index": index, "_id": str(n)}}, {"id": str(n), **doc}]
    resp = await es.bulk(operations=ops, refresh=True)
    assert not resp["errors"]
    yield es, index
    await es.indices.delete(index=index)
    await es.close()


async def _ids(es: AsyncElasticsearch, index: str, query: dict[str, Any]) -> set[str]:
    resp = await es.search(index=index, query=query, size=10_000, source=False)
    assert resp["hits"]["total"]["value"] < 10_000
    return {h["_id"] for h in resp["hits"]["hits"]}


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(None, 12_345), (9_000, None), (9_000, 20_000), (12_345, 12_345), (20_000, 31_337)],
)
async def test_elasticsearch_finds_the_same_listings_both_ways(
    edge_index: tuple[AsyncElasticsearch, str], lo: int | None, hi: int | None
) -> None:
    es, index = edge_index
    p = SearchParams(currency="USD", fx=TABLE, price_min=lo, price_max=hi)
    p.check_in, p.check_out = _stay(NIGHTS)
    basis = price_basis(p, FEE_BPS)
    assert basis.field == stay_charge_field(NIGHTS)
    banded = _converted_range(p, basis, lo, hi)
    assert banded != _exact_range(p, basis, lo, hi)  # the bands are in use
    assert stay_base_field(NIGHTS) in str(banded)
    found = await _ids(es, index, banded)
    assert found == await _ids(es, index, _exact_range(p, basis, lo, hi))
    assert found  # listings both sides of each edge: some pass
    everything = await _ids(es, index, {"match_all": {}})
    assert found != everything
    assert banded is not MATCH_NONE


@pytest.mark.parametrize("currency", ["USD", None])
@pytest.mark.parametrize(
    ("sort", "bound"), [("price_desc", "price_max"), ("price_asc", "price_min")]
)
async def test_a_page_sorted_towards_its_bound_starts_past_it_and_loses_nothing(
    edge_index: tuple[AsyncElasticsearch, str], currency: str | None, sort: Sort, bound: str
) -> None:
    """The first page of a price sort towards its bound starts just past the bound
    (`_sort_start`, a search_after), converted (base figures) or not (the stored charge): it
    holds the same listings in the same order as the page without the start."""
    es, index = edge_index
    for edge in (9_000, 12_345, 31_337):
        p = SearchParams(currency=currency, fx=TABLE if currency else None, sort=sort)
        setattr(p, bound, edge)
        p.check_in, p.check_out = _stay(NIGHTS)
        basis = price_basis(p, FEE_BPS)
        lo, hi = (None, edge) if bound == "price_max" else (edge, None)
        if currency:
            query = _converted_range(p, basis, lo, hi)
        else:
            rng = {"lte": basis.upper(edge)} if hi is not None else {"gte": basis.lower(edge)}
            query = {"range": {basis.field: rng}}
        start = _sort_start(p, basis)
        assert start is not None
        body = {"query": query, "sort": _sort(p, basis), "size": 60, "source": False}
        plain = await es.search(index=index, **body)
        started = await es.search(index=index, **body, search_after=start)
        ids = [h["_id"] for h in plain["hits"]["hits"]]
        assert len(ids) == 60
        assert [h["_id"] for h in started["hits"]["hits"]] == ids
