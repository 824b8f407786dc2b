"""The one place that builds the Redis client."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from service.core.config import Settings


def make_redis(settings: Settings) -> Redis:
    """redis.asyncio for REDIS_URL, or an in-process fakeredis (with Lua) when unset.

    Both use a blocking pool: redis-py's default pool raises MaxConnectionsError as soon as a
    burst of concurrent requests exceeds it, which would surface as spurious 503s.
    """
    if settings.embedded_redis:
        from fakeredis import FakeAsyncRedis

        return FakeAsyncRedis(
            decode_responses=False,
            connection_pool_class=BlockingConnectionPool,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_pool_timeout_s,
        )
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
        decode_responses=False,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)
