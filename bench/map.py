"""Map benchmark: prints ONE JSON line.

Seeds N listings (default 100 000) like bench.search, then asks for map clusters at zoom 3 (the
world) and zoom 12 (a city viewport) with a mix of search filters, two ways:
  api_*   GET /v1/search/map through the whole FastAPI app (validation, the shared query
          builder, geotile_grid + geo_centroid + top_hits, response shaping, middleware)
  raw_*   the identical Elasticsearch body (service.search.discovery.map_body) sent straight
and reports p50/p99 (ms) of both per zoom and the api/raw ratios. Starts its own Elasticsearch
node unless ELASTICSEARCH_URL is set.
Run: python -m bench.map [--listings 20000] [--queries 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch

from bench.common import app_settings, elasticsearch_url, pct, quiet
from bench.search import demo_table, seed
from indexers import fxstate
from indexers.definition import alias_name

WORLD = "-180,-85,180,85"


def map_queries(rng: random.Random, n: int, zoom: int) -> list[dict[str, Any]]:
    from service.seeding.catalog import CATEGORIES
    from service.seeding.places import CITIES

    cats = [c.name for c in CATEGORIES]
    today = datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    for _ in range(n):
        q: dict[str, Any] = {"zoom": zoom}
        if zoom <= 3:
            q["bbox"] = WORLD
        else:
            city = rng.choice(CITIES)
            q["bbox"] = f"{city.lon - 0.2},{city.lat - 0.12},{city.lon + 0.2},{city.lat + 0.12}"
        if rng.random() < 0.4:
            q["category"] = rng.sample(cats, rng.randint(1, 2))
        if rng.random() < 0.4:
            # The demo catalogue prices in many currencies: a bound names the one it is in
            # (without it the API answers 422, see the search contract).
            q["price_max"] = rng.choice([5_000, 10_000, 20_000, 50_000])
            q["currency"] = "EUR"
        if rng.random() < 0.3:
            start = today + timedelta(days=rng.randint(1, 60))
            q["check_in"] = start.isoformat()
            q["check_out"] = (start + timedelta(days=rng.randint(1, 7))).isoformat()
        if rng.random() < 0.3:
            q["guests"] = rng.randint(1, 4)
        out.append(q)
    return out


def body_for(q: dict[str, Any]) -> dict[str, Any]:
    """The exact body the API sends (same filter model, same builder)."""
    from service.core.config import Settings
    from service.search.discovery import map_body
    from service.search.schemas import SearchFilters

    fee_bps = Settings.model_fields["guest_service_fee_bps"].default  # as the bench app runs
    filters = SearchFilters.model_validate({k: v for k, v in q.items() if k != "zoom"})
    params = filters.to_params()
    if params.currency is not None:  # the rate table the API converts with (service.with_fx)
        params = dataclasses.replace(params, fx=fxstate.current())
    return map_body(params, zoom=q["zoom"], guest_fee_bps=fee_bps)


async def measure(
    client: httpx.AsyncClient, es: AsyncElasticsearch, prefix: str, n: int, rounds: int
) -> dict[str, Any]:
    rng = random.Random(11)
    index = alias_name(prefix)
    out: dict[str, Any] = {}
    for zoom, label in ((3, "z3"), (12, "z12")):
        queries = map_queries(rng, n, zoom)
        clusters = 0
        for q in queries:  # warm-up, and a sanity check of the answers
            r = await client.get("/v1/search/map", params=q)
            if r.status_code != 200:
                raise RuntimeError(f"{q}: {r.status_code} {r.text}")
            body = r.json()
            assert sum(c["count"] for c in body["clusters"]) == body["total"]
            clusters += len(body["clusters"])
        api_ms: list[float] = []
        raw_ms: list[float] = []
        for _ in range(rounds):
            for q in queries:
                raw_body = body_for(q)
                for which in rng.sample(["api", "raw"], 2):
                    t = time.perf_counter()
                    if which == "api":
                        r = await client.get("/v1/search/map", params=q)
                        assert r.status_code == 200, r.text
                        api_ms.append((time.perf_counter() - t) * 1000)
                    else:
                        await es.search(index=index, **raw_body)
                        raw_ms.append((time.perf_counter() - t) * 1000)
        api50, api99 = pct(api_ms, 0.5), pct(api_ms, 0.99)
        raw50, raw99 = pct(raw_ms, 0.5), pct(raw_ms, 0.99)
        out[label] = {
            "samples": len(api_ms),
            "mean_clusters": round(clusters / max(1, len(queries)), 1),
            "api_p50_ms": round(api50, 2),
            "api_p99_ms": round(api99, 2),
            "raw_p50_ms": round(raw50, 2),
            "raw_p99_ms": round(raw99, 2),
            "api_vs_raw_p50_ratio": round(api50 / raw50, 3),
            "api_vs_raw_p99_ratio": round(api99 / raw99, 3),
        }
    return out


async def main(listings: int, n_queries: int, rounds: int) -> dict[str, Any]:
    from service.app import create_app

    quiet()
    with elasticsearch_url() as url:
        prefix = f"benchmap{uuid.uuid4().hex[:8]}-"
        settings = app_settings(url, prefix)
        es = AsyncElasticsearch(url, request_timeout=120)
        try:
            # Seeded before the app starts (as bench.search does): the seed binds a store of
            # its own, and the app's startup then binds the one it serves from.
            seed_s = await seed(es, prefix, listings)
            app = create_app(settings)
            async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
                # The rate table the API converts EUR bounds with, in the app's store.
                table = demo_table()
                await table.insert()
                fxstate.use(table.rates_of())
                indexed = int((await es.count(index=alias_name(prefix)))["count"])
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    result = await measure(client, es, prefix, n_queries, rounds)
        finally:
            for name in (await es.indices.get(index=f"{prefix}*")).body:
                await es.indices.delete(index=name)
            await es.close()
    return {
        "bench": "map",
        "listings": listings,
        "indexed": indexed,
        "seed_s": round(seed_s, 1),
        **result,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.listings, args.queries, args.rounds))))


if __name__ == "__main__":
    cli()
