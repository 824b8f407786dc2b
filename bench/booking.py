"""Booking benchmark: prints ONE JSON line.

Figures:
  api_bookings_per_s      non-conflicting night bookings per second through the whole API
                          (ASGI, auth, validation, booking insert, claim, confirm)
  raw_claims_per_s        the same conditional claim as a bare find_one_and_update (baseline)
  api_vs_raw_ratio        api_bookings_per_s / raw_claims_per_s
  conflict_settle_s       wall time for 200 concurrent requests for the same nights to settle
  conflict_successes      how many of them won (must equal the capacity: 1)
  seat_conflict_*         the same for one hour slot with `capacity` seats
  stock_conflict_*        the same for the last items of a stock
  correct                 every success count equals its capacity and availability matches

Uses the embedded stores (mongomock + fakeredis) unless MONGODB_URL / REDIS_URL are set.
Run: python -m bench.booking [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from bson import ObjectId

from documents import Listing
from service.app import create_app
from service.core.config import Settings
from service.listings.store import apply_write

CONFLICT_N = 200


def _settings() -> Settings:
    overrides: dict[str, Any] = {
        "elasticsearch_url": None,
        "seed_demo_listings": 0,
        "run_embedded_indexer": False,
        "run_booking_sweeper": False,
        "rate_limit_enabled": False,
        "session_cookie_secure": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        "argon2_parallelism": 1,
        # With MONGODB_URL/REDIS_URL set, placeholder or short secrets are refused.
        "webhook_secret": secrets.token_hex(32),
        "cursor_secret": secrets.token_hex(32),
    }
    return Settings(**overrides)


def _widen_redis_pool(app: Any) -> None:
    """redis-py 8's asyncio pool (also behind fakeredis) defaults to 100 connections and then
    raises MaxConnectionsError (a 503) instead of waiting; service/core/redis.py does not size
    it, so a 200-way race needs the pool widened here."""
    app.state.redis.connection_pool.max_connections = 1000


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def _listing(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Benchmark loft",
        "category": "apartment",
        "location": {"lat": 52.37, "lon": 4.89},
        "address": {"line1": "Street 1", "city": "Amsterdam", "country": "NL"},
        "price": {"amount": 10000, "currency": "EUR"},
        "unit": "night",
        "capacity": 2,
    }
    body.update(extra)
    return body


async def _user(client: httpx.AsyncClient, roles: list[str]) -> dict[str, str]:
    email = f"b{uuid.uuid4().hex[:12]}@example.com"
    creds = {"email": email, "password": "benchmark password"}
    r = await client.post(
        "/v1/auth/register", json={**creds, "display_name": "Bench", "roles": roles}
    )
    r.raise_for_status()
    r = await client.post("/v1/auth/login", json=creds)
    r.raise_for_status()
    # Bearer tokens only: a kept cookie would be rotated away by the next user's login.
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _publish(client: httpx.AsyncClient, host: dict[str, str], **extra: Any) -> str:
    r = await client.post("/v1/listings", json=_listing(**extra), headers=host)
    r.raise_for_status()
    lid = r.json()["id"]
    (await client.post(f"/v1/listings/{lid}/publish", headers=host)).raise_for_status()
    return lid


async def _throughput(
    client: httpx.AsyncClient,
    host: dict[str, str],
    guests: list[dict[str, str]],
    n: int,
    concurrency: int,
) -> tuple[float, int]:
    """n bookings over n/20 listings, 20 disjoint 2-night stays each: no request conflicts."""
    per_listing = 20
    listings = [await _publish(client, host) for _ in range((n + per_listing - 1) // per_listing)]
    bodies = [
        {
            "listing_id": listings[i // per_listing],
            "check_in": _day(10 + 2 * (i % per_listing)),
            "check_out": _day(12 + 2 * (i % per_listing)),
        }
        for i in range(n)
    ]
    ok = 0
    started = time.perf_counter()
    for at in range(0, n, concurrency):
        batch = bodies[at : at + concurrency]
        results = await asyncio.gather(
            *(
                client.post("/v1/bookings", json=b, headers=guests[(at + j) % len(guests)])
                for j, b in enumerate(batch)
            )
        )
        ok += sum(r.status_code == 201 for r in results)
    return n / (time.perf_counter() - started), ok


async def _raw_claims(n: int) -> float:
    """The bare conditional claim (same filter/update shape as the API's), n times."""
    listing = Listing.model_validate(
        {
            **_listing(),
            "owner_id": "bench",
            "status": "published",
            "location": {"type": "Point", "coordinates": [4.89, 52.37]},
        }
    )
    await listing.insert()
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    per_listing = 20
    ids: list[ObjectId] = []
    for _ in range((n + per_listing - 1) // per_listing):
        clone = listing.model_copy(update={"id": None})
        await clone.insert()
        ids.append(ObjectId(str(clone.id)))
    started = time.perf_counter()
    for i in range(n):
        start = base + timedelta(days=10 + 2 * (i % per_listing))
        end = start + timedelta(days=2)
        free = {"$not": {"$elemMatch": {"start": {"$lt": end}, "end": {"$gt": start}}}}
        done = await apply_write(
            ids[i // per_listing],
            {"$push": {"availability.holds": {"booking_id": str(i), "start": start, "end": end}}},
            conditions={
                "status": "published",
                "availability.holds": free,
                "availability.blocks": free,
            },
        )
        assert done is not None
    return n / (time.perf_counter() - started)


async def _conflict(
    client: httpx.AsyncClient, guests: list[dict[str, str]], body: dict[str, Any]
) -> tuple[float, int, int]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            client.post("/v1/bookings", json=body, headers=guests[i % len(guests)])
            for i in range(CONFLICT_N)
        )
    )
    elapsed = time.perf_counter() - started
    wins = sum(r.status_code == 201 for r in results)
    losses = sum(r.status_code == 409 for r in results)
    return elapsed, wins, losses


async def run(small: bool) -> dict[str, Any]:
    n = 100 if small else 1000
    concurrency = 25
    app = create_app(_settings())
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        logging.disable(logging.CRITICAL)  # the access log must not mix with the JSON line
        _widen_redis_pool(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as client:
            host = await _user(client, ["host"])
            guests = [await _user(client, ["guest"]) for _ in range(8)]
            api_rate, api_ok = await _throughput(client, host, guests, n, concurrency)
            raw_rate = await _raw_claims(n)

            nights = await _publish(client, host)
            settle, wins, losses = await _conflict(
                client,
                guests,
                {"listing_id": nights, "check_in": _day(40), "check_out": _day(43)},
            )
            seat_capacity = 10
            hours = await _publish(client, host, unit="hour", capacity=seat_capacity)
            slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
            seat_settle, seat_wins, seat_losses = await _conflict(
                client,
                guests,
                {
                    "listing_id": hours,
                    "start": slot.isoformat(),
                    "end": (slot + timedelta(hours=2)).isoformat(),
                    "seats": 1,
                },
            )
            stock = 25
            items = await _publish(client, host, unit="item", stock=stock, capacity=1)
            stock_settle, stock_wins, stock_losses = await _conflict(
                client, guests, {"listing_id": items, "quantity": 1}
            )
            av = (await client.get(f"/v1/listings/{items}/availability")).json()
    correct = (
        api_ok == n
        and (wins, losses) == (1, CONFLICT_N - 1)
        and (seat_wins, seat_losses) == (seat_capacity, CONFLICT_N - seat_capacity)
        and (stock_wins, stock_losses) == (stock, CONFLICT_N - stock)
        and av.get("stock_left") == 0
    )
    return {
        "benchmark": "booking",
        "size": "small" if small else "full",
        "stores": {
            "mongodb": "real" if os.environ.get("MONGODB_URL") else "mongomock",
            "redis": "real" if os.environ.get("REDIS_URL") else "fakeredis",
        },
        "bookings": n,
        "concurrency": concurrency,
        "api_bookings_per_s": round(api_rate, 1),
        "api_successes": api_ok,
        "raw_claims_per_s": round(raw_rate, 1),
        "api_vs_raw_ratio": round(api_rate / raw_rate, 4),
        "conflict_requests": CONFLICT_N,
        "conflict_settle_s": round(settle, 3),
        "conflict_successes": wins,
        "conflict_409s": losses,
        "conflict_capacity": 1,
        "seat_conflict_settle_s": round(seat_settle, 3),
        "seat_conflict_successes": seat_wins,
        "seat_conflict_409s": seat_losses,
        "seat_capacity": seat_capacity,
        "stock_conflict_settle_s": round(stock_settle, 3),
        "stock_conflict_successes": stock_wins,
        "stock_conflict_409s": stock_losses,
        "stock": stock,
        "stock_left_after": av.get("stock_left"),
        "correct": correct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100 bookings instead of 1000")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.small))), flush=True)


if __name__ == "__main__":
    main()
