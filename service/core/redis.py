"""The one place that builds the Redis client."""

from __future__ import annotations

from redis.asyncio import Redis

from service.core.config import Settings


def make_redis(settings: Settings) -> Redis:
    """redis.asyncio for REDIS_URL, or an in-process fakeredis (with Lua) when unset."""
    if settings.embedded_redis:
        from fakeredis import FakeAsyncRedis

        return FakeAsyncRedis(decode_responses=False)
    return Redis.from_url(
        settings.redis_url,
        decode_responses=False,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
