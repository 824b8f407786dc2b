"""The 200-way races and the property test again, against a real MongoDB (MONGODB_URL).

mongomock applies each operation under the GIL in one go, so it cannot show that the claim
filter is right under real concurrency; a real server can. Skipped unless MONGODB_URL is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from fastapi import FastAPI

from documents import ALL_DOCUMENTS
from migrations.indexes import collection_name, declared_indexes
from service.core.config import Settings
from tests.bookings.support import pooled
from tests.bookings.test_concurrency import (
    test_last_items_sell_exactly_once as test_real_last_items_sell_exactly_once,
)
from tests.bookings.test_concurrency import (
    test_overlapping_hour_ranges_with_seats as test_real_overlapping_hour_ranges_with_seats,
)
from tests.bookings.test_concurrency import (
    test_overlapping_night_ranges_never_double_book as test_real_overlapping_nights,
)
from tests.bookings.test_concurrency import (
    test_same_hour_slot_fills_exactly_to_capacity as test_real_same_hour_slot,
)
from tests.bookings.test_concurrency import (
    test_same_nights_exactly_one_wins as test_real_same_nights_exactly_one_wins,
)
from tests.bookings.test_state_machine import (
    test_racing_actors_exactly_one_wins as test_real_racing_actors_exactly_one_wins,
)
from tests.conftest import make_settings
from tests.services import RedisServer

pytestmark = pytest.mark.realmongo

__all__ = [
    "test_real_last_items_sell_exactly_once",
    "test_real_overlapping_hour_ranges_with_seats",
    "test_real_overlapping_nights",
    "test_real_racing_actors_exactly_one_wins",
    "test_real_same_hour_slot",
    "test_real_same_nights_exactly_one_wins",
]


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    url = os.environ.get("MONGODB_URL")
    if not url:
        pytest.skip("needs MONGODB_URL pointing at a real MongoDB")
    redis.Redis.from_url(redis_server.url).flushall()
    return make_settings(
        pooled(redis_server.url),
        None,
        mongodb_url=url,
        mongodb_database=f"bookings_{uuid.uuid4().hex[:10]}",
        rate_limit_enabled=False,
        run_booking_sweeper=False,
    )


@pytest.fixture(autouse=True)
async def real_database(app: FastAPI) -> AsyncIterator[None]:
    """A fresh database with the declared indexes (migrations create them outside tests)."""
    db = app.state.mongo_db
    for document in ALL_DOCUMENTS:
        models = declared_indexes(document)
        if models:
            await db[collection_name(document)].create_indexes(models)
    yield
    await app.state.mongo_client.drop_database(db.name)
