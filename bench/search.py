"""Search benchmark: prints ONE JSON line.

Seeds N listings (default 100 000, `--listings` for a quick run) from the deterministic demo
generator straight into Elasticsearch through the indexer's projection, then runs a mixed set
of searches (keywords, geo circle/box, facets, availability, sorts, second pages) two ways:
  api_*   GET /v1/search/listings through the whole FastAPI app (httpx ASGI transport:
          validation, query building, cursor signing, response shaping, middleware)
  raw_*   the identical Elasticsearch request body sent straight with the async client
and reports p50/p99 latency (ms) of both and the api/raw ratios. "Identical" includes the facet
path: the API sends the hits request beside the exact count of its hits (keyword searches count
in the hits request) and bounded counts of the facets' documents in one multi-search, then
size-0 facet requests in another (exact up to 10,000 documents per facet, sampled above), and
so does the raw side. `raw_exact_facets_*` is the old way, one request with exact facets over
every hit, sent raw for the queries that ask for facets.
Elasticsearch's request cache is cleared before each round, so a round's first facet request
of a query is never served from it (repeats within a round, e.g. a second page, may be).

Every mix in MIXES runs at every size: `--listings 1000000` seeds and measures 100,000, then
1,000,000 (each in an index of its own, on the same node, in one run) and reports the growth
of p99 from the smallest to the largest size (goal <= 1.5 for the API). Starts its own
Elasticsearch node unless ELASTICSEARCH_URL is set.
The mixes: `mixed` (keywords, places, facets, sorts, second pages), `dated_total_sort` (dated,
sorted and bounded by the stay's total) and `currency_total_sort` (the same in a guest's
currency: converted bounds, base-figure sorts, display prices).
Run: python -m bench.search [--listings 5000] [--rounds 3] [--shards 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from bench.common import app_settings, elasticsearch_url, pct, quiet
from documents.fx import FxTable
from documents.values import utcnow
from indexers import fxstate
from indexers.aliases import FIRST_INDEX_TIME, create_index, finish_bulk_load
from indexers.definition import alias_name, new_index_name
from indexers.projection import op_for_raw
from indexers.writer import action

# Display currencies of the currency mix (the demo table converts all of them).
CURRENCIES = ["EUR", "USD", "KRW", "JPY", "GBP"]
FACET_SETS = ["category,amenities,price,rating,city", "category,price", "amenities,rating", ""]
WORDS = ["loft", "canal", "garden", "studio", "cabin", "quiet", "sunny", "bike", "desk", "view"]


def mixed_queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    from service.seeding.catalog import CATEGORIES
    from service.seeding.places import CITIES

    cats = [c.name for c in CATEGORIES]
    amenities = sorted({a for c in CATEGORIES for a in c.amenities})
    today = datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    for _ in range(n):
        city = rng.choice(CITIES)
        q: dict[str, Any] = {"limit": 20}
        if rng.random() < 0.6:
            q["q"] = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        if rng.random() < 0.5:
            q.update(lat=city.lat, lon=city.lon, radius_km=rng.choice([5, 10, 25]))
        elif rng.random() < 0.4:
            q["bbox"] = f"{city.lon - 0.2},{city.lat - 0.15},{city.lon + 0.2},{city.lat + 0.15}"
        if rng.random() < 0.4:
            q["category"] = rng.sample(cats, rng.randint(1, 2))
        if rng.random() < 0.3:
            q["amenities"] = rng.sample(amenities, 1)
        if rng.random() < 0.4:
            q["price_max"] = rng.choice([5_000, 10_000, 20_000, 50_000])
        if rng.random() < 0.2:
            q["rating_min"] = rng.choice([3.5, 4.0, 4.5])
        if rng.random() < 0.4:
            start = today + timedelta(days=rng.randint(1, 60))
            q["check_in"] = start.isoformat()
            q["check_out"] = (start + timedelta(days=rng.randint(1, 7))).isoformat()
        if rng.random() < 0.3:
            q["guests"] = rng.randint(1, 4)
        sorts = ["relevance", "price_asc", "price_desc", "rating", "newest"]
        if "lat" in q:
            sorts.append("distance")
        q["sort"] = rng.choice(sorts)
        facets = rng.choice(FACET_SETS)
        if facets:
            q["facets"] = facets
        _comparable(q)
        out.append(q)
    return out


def _comparable(q: dict[str, Any]) -> None:
    """The demo catalogue prices in 18 currencies: a search comparing prices must name the
    currency to compare in (without one it is a 422), so these mixes compare in euros."""
    if "price_max" in q or q["sort"] in ("price_asc", "price_desc"):
        q.setdefault("currency", "EUR")


def dated_queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Every query dated (1-14 nights), half sorted by the stay's total, many bounded by it."""
    out = []
    today = datetime.now(UTC).date()
    for q in mixed_queries(rng, n):
        start = today + timedelta(days=rng.randint(2, 90))
        q["check_in"] = start.isoformat()
        q["check_out"] = (start + timedelta(days=rng.choice([1, 2, 3, 5, 7, 14]))).isoformat()
        q["sort"] = rng.choice(["price_asc", "price_desc", q["sort"]])
        if q["sort"] == "distance" and "lat" not in q:
            q["sort"] = "price_asc"
        if rng.random() < 0.5:
            q["price_max"] = rng.choice([20_000, 50_000, 100_000, 300_000])
        _comparable(q)
        out.append(q)
    return out


def currency_queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Dated queries shown in a guest's currency, sorted by the converted total (both ways),
    most bounded by it, some with the converted price facet."""
    out = []
    for q in dated_queries(rng, n):
        code = rng.choice(CURRENCIES)
        q["currency"] = code
        q["sort"] = rng.choice(["price_asc", "price_desc"])
        scale = {"KRW": 1456, "JPY": 162}.get(code, 1)  # bounds of a similar value
        if rng.random() < 0.7:
            q["price_max"] = rng.choice([20_000, 50_000, 100_000, 300_000]) * scale
        if rng.random() < 0.3:
            q["facets"] = "price"
        out.append(q)
    return out


def broad_queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A marketplace's most common search (issue 16): no keywords, no place, the default
    facets, half of them dated, sorted by relevance, price or age. Hundreds of thousands of
    hits at 1M listings: where exact facets cost the most."""
    today = datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    for _ in range(n):
        q: dict[str, Any] = {"limit": 20, "facets": FACET_SETS[0]}
        q["sort"] = rng.choice(["relevance", "price_asc", "newest"])
        if rng.random() < 0.5:
            start = today + timedelta(days=rng.randint(2, 60))
            q["check_in"] = start.isoformat()
            q["check_out"] = (start + timedelta(days=rng.randint(1, 7))).isoformat()
        if rng.random() < 0.3:
            q["guests"] = rng.randint(1, 4)
        _comparable(q)
        out.append(q)
    return out


Mix = Callable[[random.Random, int], list[dict[str, Any]]]
# (name, query generator): every mix runs at every size. Add a mix by appending to this list.
MIXES: list[tuple[str, Mix]] = [
    ("mixed", mixed_queries),
    ("dated_total_sort", dated_queries),
    ("currency_total_sort", currency_queries),
    ("broad_facets", broad_queries),
]
# The smaller size of a run at more than this many listings.
BASE_SIZE = 100_000
FEE_BPS = 500  # the Settings default guest fee, which the API uses


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def params_for(params: dict[str, Any]) -> Any:
    """The SearchParams the API builds from these query parameters."""
    from service.search import query as sq

    return sq.SearchParams(
        q=params.get("q"),
        category=params.get("category", []),
        amenities=params.get("amenities", []),
        price_max=params.get("price_max"),
        rating_min=params.get("rating_min"),
        lat=params.get("lat"),
        lon=params.get("lon"),
        radius_km=params.get("radius_km"),
        bbox=sq.parse_bbox(params["bbox"]) if "bbox" in params else None,
        check_in=_day(params.get("check_in")),
        check_out=_day(params.get("check_out")),
        guests=params.get("guests"),
        sort=params["sort"],
        facets=sq.parse_facets(params.get("facets")),
        currency=params.get("currency"),
        fx=fxstate.current() if params.get("currency") or _based_facet(params) else None,
        # As service.search.service.with_fx: the demo catalogue is multi-currency, so a price
        # facet without `currency` is bucketed in the table's base.
        facet_currency="EUR" if _based_facet(params) else None,
    )


def _based_facet(params: dict[str, Any]) -> bool:
    return not params.get("currency") and "price" in (params.get("facets") or "").split(",")


def body_for(
    params: dict[str, Any], cursor_after: list[Any] | None, *, inline_facets: bool = False
) -> dict[str, Any]:
    """The exact hits body the API sends for these parameters (same builder, same page size);
    `inline_facets`: the old single request with exact facets instead."""
    from service.search import query as sq

    return sq.build_body(
        params_for(params),
        size=params["limit"] + 1,
        now=utcnow(),
        guest_fee_bps=FEE_BPS,
        search_after=cursor_after,
        inline_facets=inline_facets,
    )


async def raw_search(
    es: AsyncElasticsearch,
    index: str,
    settings: Any,
    params: dict[str, Any],
    cursor_after: list[Any] | None,
    hits_body: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body,
) -> None:
    """What the API sends to Elasticsearch for one search, sent straight, in the same two
    multi-searches: the hits request with the exact count (unless it counts itself) and the
    bounded domain counts, then (with facets) the facet requests built from their counts.
    `hits_body` may change the hits request (bench.levers' variants)."""
    from service.search import query as sq
    from service.search.service import count_up_to

    p, now = params_for(params), utcnow()
    body = sq.build_body(
        p,
        size=params["limit"] + 1,
        now=now,
        guest_fee_bps=FEE_BPS,
        search_after=cursor_after,
        inline_facets=False,
    )
    count_bodies = sq.domain_count_bodies(
        p, now=now, guest_fee_bps=FEE_BPS, up_to=count_up_to(settings)
    )
    apart = sq.count_body(p, now=now, guest_fee_bps=FEE_BPS)
    counting = [b for b in (apart, *count_bodies.values()) if b]
    cached = {"request_cache": True}
    lines = [{}, hits_body(body), *(x for b in counting for x in (cached, b))]
    hits, *counted = await _msearch(es, index, lines)
    total = counted.pop(0) if apart else hits
    if p.facets:
        bodies, _ = sq.facets_bodies(
            p,
            now=now,
            guest_fee_bps=FEE_BPS,
            domains=sq.facet_domains(
                p,
                int(total["hits"]["total"]["value"]),
                dict(zip(count_bodies, counted, strict=True)),
            ),
            exact_up_to=settings.search_facets_exact_hits,
            sample_docs=settings.search_facets_sample_docs,
        )
        await _msearch(es, index, [x for b in bodies for x in ({"request_cache": True}, b)])


async def _msearch(
    es: AsyncElasticsearch, index: str, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    # Encoded as the API encodes its multi-searches (orjson, bytes lines).
    searches = [orjson.dumps(x) for x in lines]
    out: list[dict[str, Any]] = (await es.msearch(index=index, searches=searches)).body["responses"]
    if failed := [r for r in out if "error" in r]:
        raise RuntimeError(f"search failed: {failed[0]}")
    return out


async def seed(es: AsyncElasticsearch, prefix: str, n: int, shards: int = 1) -> float:
    from indexers import store
    from indexers.aliases import current_index

    # Beanie models need a binding even to validate; nothing is written to this store.
    await store.init_documents(store.make_client(None), "bench", create_indexes=False)
    # The projection computes the base-currency sort figures with the demo rate table (the
    # app gets the same table in `measure_size`, once its store is bound).
    fxstate.use(demo_table().rates_of())
    index = await current_index(es, prefix)
    if index is None:
        # The first index as `ensure_index` names it, with the layout under test.
        index = new_index_name(prefix, FIRST_INDEX_TIME)
        await create_index(es, index, shards=shards)
        await es.indices.put_alias(index=index, name=alias_name(prefix))
    await es.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
    started = time.perf_counter()
    async for ok, item in async_streaming_bulk(
        es, demo_actions(n, index), chunk_size=2000, max_retries=5
    ):
        if not ok:
            raise RuntimeError(f"seed failed: {item}")
    await finish_bulk_load(es, index)
    await es.indices.forcemerge(index=index, max_num_segments=1)
    return time.perf_counter() - started


def demo_actions(n: int, index: str) -> Iterator[dict[str, Any]]:
    """Bulk actions of the deterministic demo catalogue of `n` listings (the generator's fixed
    seed: every index built from it holds the same listings), projected as the indexer does."""
    from service.seeding import Generator

    gen = Generator(listings=n, users=max(20, n // 20), seed=42)
    gen.users("not-a-real-hash")
    for batch in gen.batches(5000):
        for raw in batch.listings:
            op = op_for_raw(raw)
            if op.doc is not None:
                yield action(op, index)


def demo_table() -> FxTable:
    from service.seeding.places import demo_rates

    return FxTable(version=1, base="EUR", rates=demo_rates(), updated_by="bench")


def sizes_for(listings: int) -> list[int]:
    return [BASE_SIZE, listings] if listings > BASE_SIZE else [listings]


async def main(listings: int, n_queries: int, rounds: int, shards: int = 1) -> dict[str, Any]:
    quiet()
    at: dict[str, dict[str, Any]] = {}
    with elasticsearch_url() as url:
        for size in sizes_for(listings):
            at[str(size)] = await measure_size(url, size, n_queries, rounds, shards)
    sizes = list(at)
    small, large = at[sizes[0]], at[sizes[-1]]
    growth = {
        name: {
            f"api_p99_{sizes[-1]}_vs_{sizes[0]}": round(
                large[name]["api_p99_ms"] / small[name]["api_p99_ms"], 3
            ),
            f"raw_p99_{sizes[-1]}_vs_{sizes[0]}": round(
                large[name]["raw_p99_ms"] / small[name]["raw_p99_ms"], 3
            ),
        }
        for name in [*(m for m, _ in MIXES), "all"]
    }
    return {
        "bench": "search",
        "listings": sizes,
        "shards": shards,
        "at": at,
        "p99_growth": growth,
        "target_p99_growth": 1.5,
        "target_ratio": 1.3,
    }


async def measure_size(
    url: str, listings: int, n_queries: int, rounds: int, shards: int
) -> dict[str, Any]:
    """Seed `listings` into an index of their own, run every mix, drop the index."""
    from service.app import create_app

    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = app_settings(url, prefix)
    es = AsyncElasticsearch(url, request_timeout=120)
    try:
        # Seeded before the app starts, so the index has the layout under test.
        seed_s = await seed(es, prefix, listings, shards)
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
            # The rate table the API converts with, in the store the app's startup bound.
            table = demo_table()
            await table.insert()
            fxstate.use(table.rates_of())
            indexed = int((await es.count(index=alias_name(prefix)))["count"])
            stats = (await es.cat.indices(index=alias_name(prefix), format="json", bytes="b")).body[
                0
            ]
            transport = httpx.ASGITransport(app=app)
            out: dict[str, Any] = {}
            samples: dict[str, list[float]] = {"api": [], "raw": []}
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for name, mix in MIXES:
                    out[name] = await measure(
                        client, es, prefix, n_queries, rounds, mix, settings, samples
                    )
            out["all"] = summary(samples["api"], samples["raw"])
    finally:
        for name in (await es.indices.get(index=f"{prefix}*")).body:
            await es.indices.delete(index=name)
        await es.close()
    return {
        "indexed": indexed,
        "seed_s": round(seed_s, 1),
        "index_bytes": int(stats["store.size"]),
        "index_bytes_per_listing": round(int(stats["store.size"]) / max(1, indexed), 1),
        **out,
    }


def summary(api_ms: list[float], raw_ms: list[float]) -> dict[str, Any]:
    api50, api99 = pct(api_ms, 0.5), pct(api_ms, 0.99)
    raw50, raw99 = pct(raw_ms, 0.5), pct(raw_ms, 0.99)
    return {
        "samples": len(api_ms),
        "api_p50_ms": round(api50, 2),
        "api_p99_ms": round(api99, 2),
        "raw_p50_ms": round(raw50, 2),
        "raw_p99_ms": round(raw99, 2),
        "api_vs_raw_p50_ratio": round(api50 / raw50, 3),
        "api_vs_raw_p99_ratio": round(api99 / raw99, 3),
    }


async def measure(
    client: httpx.AsyncClient,
    es: AsyncElasticsearch,
    prefix: str,
    n_queries: int,
    rounds: int,
    make_queries: Mix,
    settings: Any,
    samples: dict[str, list[float]],
) -> dict[str, Any]:
    rng = random.Random(7)
    queries = make_queries(rng, n_queries)
    index = alias_name(prefix)
    # Second pages too: resolve each query's cursor once, through the API.
    pages: list[tuple[dict[str, Any], list[Any] | None, str | None]] = []
    total_hits = 0
    for q in queries:
        r = await client.get("/v1/search/listings", params=q)
        if r.status_code != 200:
            raise RuntimeError(f"{q}: {r.status_code} {r.text}")
        body = r.json()
        total_hits += body["total"]
        pages.append((q, None, None))
        if body["next_cursor"] and rng.random() < 0.3:
            raw = await es.search(index=index, **body_for(q, None))
            after = raw["hits"]["hits"][q["limit"] - 1]["sort"]
            pages.append((q, after, body["next_cursor"]))
    api_ms: list[float] = []
    raw_ms: list[float] = []
    exact_ms: list[float] = []
    for _ in range(rounds):
        await es.indices.clear_cache(index=index, request=True)
        for q, after, cursor in pages:
            params = dict(q, cursor=cursor) if cursor else q
            # Alternate which goes first so caches favour neither.
            for which in rng.sample(["api", "raw"], 2):
                t = time.perf_counter()
                if which == "api":
                    r = await client.get("/v1/search/listings", params=params)
                    assert r.status_code == 200, r.text
                    api_ms.append((time.perf_counter() - t) * 1000)
                else:
                    await raw_search(es, index, settings, q, after)
                    raw_ms.append((time.perf_counter() - t) * 1000)
            if q.get("facets"):
                body = body_for(q, after, inline_facets=True)
                t = time.perf_counter()
                await es.search(index=index, **body, request_cache=False)
                exact_ms.append((time.perf_counter() - t) * 1000)
    samples["api"] += api_ms
    samples["raw"] += raw_ms
    return {
        "queries": len(pages),
        "mean_total_hits": round(total_hits / max(1, len(queries))),
        **summary(api_ms, raw_ms),
        "raw_exact_facets_samples": len(exact_ms),
        "raw_exact_facets_p50_ms": round(pct(exact_ms, 0.5), 2),
        "raw_exact_facets_p99_ms": round(pct(exact_ms, 0.99), 2),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shards", type=int, default=1, help="primary shards of the index")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.listings, args.queries, args.rounds, args.shards))))


if __name__ == "__main__":
    cli()
