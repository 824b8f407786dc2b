from __future__ import annotations

from typing import Any

import pytest
import redis

from service.core.config import Settings
from tests.bookings.support import clock
from tests.bookings.support import pooled as _pooled
from tests.conftest import make_settings
from tests.services import RedisServer

__all__ = ["clock", "settings"]


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, redis_server: RedisServer, store_settings: dict[str, Any]
) -> Settings:
    """Without Elasticsearch, except for tests that ask for `es_url` (they index for real)."""
    redis.Redis.from_url(redis_server.url).flushall()
    es_url = request.getfixturevalue("es_url") if "es_url" in request.fixturenames else None
    return make_settings(
        _pooled(redis_server.url),
        es_url,
        rate_limit_enabled=False,
        run_booking_sweeper=False,
        **store_settings,
    )
