"""Seeding runs against a fresh embedded (mongomock) database bound to the Beanie documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from beanie import init_beanie
from mongomock_motor import AsyncMongoMockClient

from documents import ALL_DOCUMENTS
from service.core.config import Settings
from service.seeding import SeedReport, seed_database

ANCHOR = date(2026, 6, 1)
# Cheap hashing: the one demo hash is made per seed run.
CHEAP = Settings(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)

Seeder = Callable[..., Awaitable[tuple[Any, SeedReport]]]


async def fresh_db() -> Any:
    db = AsyncMongoMockClient(tz_aware=True)["seeding"]
    # As the embedded app does: indexes are created at boot.
    await init_beanie(database=db, document_models=ALL_DOCUMENTS)
    return db


@pytest.fixture
def seeder() -> Seeder:
    async def run(**kwargs: Any) -> tuple[Any, SeedReport]:
        db = await fresh_db()
        options: dict[str, Any] = {"seed": 42, "anchor": ANCHOR, "settings": CHEAP, **kwargs}
        report = await seed_database(**options)
        return db, report

    return run


async def dump(db: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [doc async for doc in db[name].find({}).sort("_id", 1)]
        for name in ("users", "listings", "bookings", "reviews")
    }
