"""Seeding benchmark: prints ONE JSON line.

Figures:
  listings, users, bookings, reviews   what was seeded
  seed_s                  wall time of seed_database into the embedded (mongomock) store,
                          everything included (hash, generation, inserts, unique index rebuild)
  listings_per_s          listings / seed_s
  generate_s              the generator alone (same documents, nothing written)
  insert_many_baseline_s  raw baseline: the same documents through mongomock's regular
                          insert_many in 5000-document chunks (what seeding did before its
                          embedded fast path), plus generation
  seed_vs_insert_many     insert_many_baseline_s / seed_s (speed-up over the raw baseline)
  beanie_insert_per_s     Listing documents inserted one by one with Beanie (sample of 500)
  seed_vs_beanie          listings_per_s / beanie_insert_per_s
  load_avg_1m             machine load while it ran (others' work skews wall times)

Run: python -m bench.seed [--small] [--listings N]   (default 100000; --small: 10000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import date
from typing import Any

from beanie import init_beanie
from mongomock_motor import AsyncMongoMockClient

from documents import ALL_DOCUMENTS, Listing
from service.core.config import Settings
from service.seeding import Generator, seed_database

ANCHOR = date(2026, 6, 1)
CHEAP = Settings(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)


async def _fresh_db() -> Any:
    db = AsyncMongoMockClient(tz_aware=True)["bench_seed"]
    await init_beanie(database=db, document_models=ALL_DOCUMENTS)
    return db


def _generate(listings: int, users: int) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    gen = Generator(listings=listings, users=users, seed=42, anchor=ANCHOR)
    gen.users("hash")
    batches = list(gen.batches(5000))
    return time.perf_counter() - started, batches


async def _insert_many_baseline(batches: list[Any]) -> float:
    db = AsyncMongoMockClient(tz_aware=True)["bench_baseline"]
    started = time.perf_counter()
    for batch in batches:
        for name, docs in (
            ("listings", batch.listings),
            ("bookings", batch.bookings),
            ("reviews", batch.reviews),
        ):
            if docs:
                await db[name].insert_many(docs, ordered=False)
    return time.perf_counter() - started


async def _beanie_per_s(sample: list[dict[str, Any]]) -> float:
    await _fresh_db()
    models = [Listing.model_validate({k: v for k, v in d.items() if k != "_id"}) for d in sample]
    started = time.perf_counter()
    for model in models:
        await model.insert()
    return len(models) / (time.perf_counter() - started)


async def run(listings: int) -> dict[str, Any]:
    users = max(20, listings // 10)
    await _fresh_db()
    started = time.perf_counter()
    report = await seed_database(listings=listings, users=users, anchor=ANCHOR, settings=CHEAP)
    seed_s = time.perf_counter() - started

    generate_s, batches = _generate(listings, users)
    baseline_s = generate_s + await _insert_many_baseline(batches)
    beanie_per_s = await _beanie_per_s(batches[0].listings[:500])
    c = report.counts
    return {
        "bench": "seed",
        "listings": c.listings,
        "users": c.hosts + c.guests + c.admins,
        "bookings": c.bookings,
        "reviews": c.reviews,
        "seed_s": round(seed_s, 2),
        "listings_per_s": round(listings / seed_s),
        "generate_s": round(generate_s, 2),
        "insert_many_baseline_s": round(baseline_s, 2),
        "seed_vs_insert_many": round(baseline_s / seed_s, 2),
        "beanie_insert_per_s": round(beanie_per_s),
        "seed_vs_beanie": round(listings / seed_s / beanie_per_s, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10000 listings")
    parser.add_argument("--listings", type=int, default=None)
    args = parser.parse_args()
    listings = args.listings or (10_000 if args.small else 100_000)
    print(json.dumps(asyncio.run(run(listings))), flush=True)


if __name__ == "__main__":
    main()
