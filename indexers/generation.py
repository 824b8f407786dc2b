"""The search index generation: a Redis counter the indexer bumps once a write that changed
documents is searchable. The API's search cache (service/search/cache.py) tags each page with
the generation it read before querying, so a page cached before a change is never served after
it. Here, not in service/, because the indexer may not import the service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from indexers.config import IndexerConfig
from indexers.definition import alias_name

log = logging.getLogger(__name__)


def generation_key(prefix: str) -> str:
    return f"search:generation:{alias_name(prefix)}"


@dataclass
class Generation:
    key: str
    redis: Any | None = None  # a shared client (the embedded default's in-process Redis)
    url: str | None = None  # else one short connection per bump (at most one per flush)

    async def current(self) -> bytes | None:
        assert self.redis is not None
        value: bytes | None = await self.redis.get(self.key)
        return value

    async def bump(self) -> None:
        if self.redis is not None:
            await self.redis.incr(self.key)
            return
        assert self.url is not None
        async with Redis.from_url(
            self.url, socket_timeout=2.0, socket_connect_timeout=2.0
        ) as client:
            await client.incr(self.key)

    @classmethod
    def of(cls, settings: Any) -> Generation | None:
        """From the settings: None when the search cache is off or Redis is in another process
        that this one cannot reach (the embedded default passes its client instead)."""
        cfg = IndexerConfig.of(settings)
        if not cfg.search_cache or not cfg.redis_url:
            return None
        return cls(generation_key(cfg.prefix), url=cfg.redis_url)


async def bump_after(settings: Any, what: str) -> None:
    """Bump once an operator command (a rebuild's alias swap, a repair) changed what searches
    see; a failure only leaves cached pages to their TTL, so it is logged, not raised."""
    generation = Generation.of(settings)
    if generation is None:
        return
    try:
        await generation.bump()
    except Exception as exc:
        log.warning("%s: search generation not bumped: %s", what, exc)
