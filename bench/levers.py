"""Search layout levers, A/B in one run: prints ONE JSON line.

Issue 16 names levers for search latency at scale; the facet split and sampler won (see
docs/performance.md). This weighs the others on one node, against the same catalogue built
once per layout, with the raw path of bench.search (the identical hits request and facet
request the API sends), every variant asked every query in a shuffled order per query, so load
from anything else on the machine falls on all of them alike:

  baseline          1 shard, force-merged to 1 segment (what bench.search measures)
  shards_2          2 primary shards (one per core of this machine), force-merged
  segments_many     1 shard, not force-merged (as live indexing leaves it): concurrent
                    segment search has segments to spread over
  eager_ordinals    `eager_global_ordinals` on the facet keywords (category, amenities, city)
  index_sort        the index sorted by `created_at` desc (the `newest` sort's order)
  hits_exact_total  the baseline index, the hits request counting its hits exactly as well (as
                    before the separate count request: Lucene compares every hit)

Figures per variant: p50/p99 over every mix of bench.search and per mix, and the ratios of
those to the baseline's. Starts its own Elasticsearch node unless ELASTICSEARCH_URL is set.
Run: python -m bench.levers [--listings 100000] [--queries 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from bench.common import app_settings, elasticsearch_url, pct, quiet
from bench.search import MIXES, demo_actions, demo_table, raw_search
from indexers import fxstate, store
from indexers.definition import MAPPINGS, F, index_settings

FACET_KEYWORDS = (F.CATEGORY, F.AMENITIES, F.CITY)
Body = dict[str, Any]


@dataclass
class Variant:
    name: str
    shards: int = 1
    merge: bool = True
    eager: bool = False
    sort: bool = False
    hits_body: Callable[[Body], Body] = lambda body: body
    index: str = ""  # set once built (hits_exact_total reuses the baseline's)
    segments: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)


def variants() -> list[Variant]:
    return [
        Variant("baseline"),
        Variant("shards_2", shards=2),
        Variant("segments_many", merge=False),
        Variant("eager_ordinals", eager=True),
        Variant("index_sort", sort=True),
        Variant("hits_exact_total", hits_body=lambda b: {**b, "track_total_hits": True}),
    ]


def _mappings(v: Variant) -> dict[str, Any]:
    out = copy.deepcopy(MAPPINGS)
    if v.eager:
        for name in FACET_KEYWORDS:
            out["properties"][name]["eager_global_ordinals"] = True
    return out


def _settings(v: Variant) -> dict[str, Any]:
    out = index_settings(shards=v.shards, bulk_load=True)
    if v.sort:
        out["sort.field"] = F.CREATED_AT
        out["sort.order"] = "desc"
    return out


async def build(es: AsyncElasticsearch, v: Variant, prefix: str, n: int) -> float:
    """The demo catalogue (every layout holds the same listings, see demo_actions)."""
    v.index = f"{prefix}{v.name.replace('_', '-')}"
    await es.indices.create(index=v.index, mappings=_mappings(v), settings=_settings(v))
    started = time.perf_counter()
    async for ok, item in async_streaming_bulk(
        es, demo_actions(n, v.index), chunk_size=2000, max_retries=5
    ):
        if not ok:
            raise RuntimeError(f"load failed: {item}")
    await es.indices.put_settings(index=v.index, settings={"refresh_interval": "250ms"})
    await es.indices.refresh(index=v.index)
    if v.merge:
        await es.indices.forcemerge(index=v.index, max_num_segments=1)
    segs = (await es.cat.segments(index=v.index, format="json")).body
    v.segments = len(segs)
    return time.perf_counter() - started


async def search(es: AsyncElasticsearch, v: Variant, settings: Any, q: dict[str, Any]) -> None:
    """bench.search's raw path (the hits and count requests, then the facet requests)."""
    await raw_search(es, v.index, settings, q, None, hits_body=v.hits_body)


def _figures(ms: list[float], base: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(ms, 0.5), 2),
        "p99_ms": round(pct(ms, 0.99), 2),
        "p50_vs_baseline": round(pct(ms, 0.5) / pct(base, 0.5), 3),
        "p99_vs_baseline": round(pct(ms, 0.99) / pct(base, 0.99), 3),
    }


async def main(listings: int, n_queries: int, rounds: int) -> dict[str, Any]:
    quiet()
    prefix = f"levers{uuid.uuid4().hex[:6]}-"
    out: dict[str, Any] = {}
    with elasticsearch_url() as url:
        es = AsyncElasticsearch(url, request_timeout=300)
        settings = app_settings(url, prefix)
        try:
            # Beanie models need a binding even to validate; nothing is written to this store.
            await store.init_documents(store.make_client(None), "levers", create_indexes=False)
            fxstate.use(demo_table().rates_of())
            vs = variants()
            built: dict[str, float] = {}
            for v in vs:
                if v.name == "hits_exact_total":
                    v.index, v.segments = vs[0].index, vs[0].segments
                    continue
                built[v.name] = round(await build(es, v, prefix, listings), 1)
            rng = random.Random(5)
            mixes = {name: mix(random.Random(7), n_queries) for name, mix in MIXES}
            for q in (q for qs in mixes.values() for q in qs):  # warm every layout up once
                for v in vs:
                    await search(es, v, settings, q)
            for _ in range(rounds):
                await es.indices.clear_cache(index=f"{prefix}*", request=True)
                for name, qs in mixes.items():
                    for q in qs:
                        for v in rng.sample(vs, len(vs)):
                            t = time.perf_counter()
                            await search(es, v, settings, q)
                            v.samples.setdefault(name, []).append((time.perf_counter() - t) * 1000)
            base = vs[0].samples
            for v in vs:
                every = [x for xs in v.samples.values() for x in xs]
                out[v.name] = {
                    "segments": v.segments,
                    "build_s": built.get(v.name),
                    "all": _figures(every, [x for xs in base.values() for x in xs]),
                    **{m: _figures(v.samples[m], base[m]) for m in mixes},
                }
        finally:
            for name in (await es.indices.get(index=f"{prefix}*")).body:
                await es.indices.delete(index=name)
            await es.close()
    return {"bench": "levers", "listings": listings, "rounds": rounds, "variants": out}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.listings, args.queries, args.rounds))))


if __name__ == "__main__":
    cli()
