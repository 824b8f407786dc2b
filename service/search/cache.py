"""Search and suggest pages cached in Redis, never older than what Elasticsearch would answer.

The key is the whole validated parameter set (`SearchParams.values()`: every field, so a
parameter added there is part of it without touching this module), the cursor, the limit and,
for dated searches, the notice budget the query was built with (the hour `now` falls in
relative to the stay: the only way the clock changes an answer). Each entry is tagged with the index
generation read before Elasticsearch was asked; the indexer bumps it once a change is
searchable (indexers/generation.py), so a tag that is not current is a miss. One MGET reads
both. Redis trouble bypasses the cache (counted), it never fails a search.

Per-caller fields (`saved`) are not in the page: they are added after it, per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
import redis.exceptions

from documents.values import midnight
from indexers.definition import alias_name
from indexers.generation import generation_key
from service.core.config import Settings
from service.core.metrics import SEARCH_CACHE
from service.search import query as sq

log = logging.getLogger(__name__)

# A cache that answers slower than this is worse than none: skip it for this request.
TIMEOUT_S = 0.25
ERRORS = (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)
Page = dict[str, Any]


def clock(params: sq.SearchParams, now: datetime) -> int | None:
    """What `now` changes in a dated search: the whole hours between it and the first start
    (the notice budget and the booking horizon are both decided on it). None when undated."""
    window = params.busy_window()
    if window is not None:
        return sq.notice_budget(window[0], now)
    if params.flexible and params.from_ is not None:
        return sq.notice_budget(midnight(params.from_), now)
    return None


class SearchCache:
    def __init__(self, redis: Any, settings: Settings) -> None:
        self.redis = redis
        self.ttl_ms = int(settings.search_cache_ttl_s * 1000)
        prefix = settings.elasticsearch_index_prefix
        self.generation_key = generation_key(prefix)
        # Pages carry next_cursors signed with the cursor secret: another secret, other pages.
        secret = hashlib.sha256(settings.cursor_secret.get_secret_value().encode()).hexdigest()
        self._namespace = f"search:cache:{alias_name(prefix)}:{secret[:8]}"

    @property
    def enabled(self) -> bool:
        return self.ttl_ms > 0 and self.redis is not None

    def key(self, kind: str, parts: dict[str, Any]) -> str:
        raw = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
        return f"{self._namespace}:{kind}:{hashlib.sha256(raw).hexdigest()}"

    async def page(
        self, kind: str, parts: dict[str, Any], compute: Callable[[], Awaitable[Page]]
    ) -> Page:
        """The cached page for `parts`, or `compute()` stored under the generation read first."""
        if not self.enabled:
            return await compute()
        key = self.key(kind, parts)
        try:
            generation, entry = await asyncio.wait_for(
                self.redis.mget(self.generation_key, key), TIMEOUT_S
            )
        except ERRORS as exc:
            SEARCH_CACHE.labels(kind, "error").inc()
            log.warning("search cache bypassed: %s", type(exc).__name__)
            return await compute()
        tag = (generation or b"0") + b"|"
        if entry is not None and entry.startswith(tag):
            SEARCH_CACHE.labels(kind, "hit").inc()
            result: Page = orjson.loads(entry[len(tag) :])
            return result
        SEARCH_CACHE.labels(kind, "miss").inc()
        result = await compute()
        try:
            await asyncio.wait_for(
                self.redis.set(key, tag + orjson.dumps(result), px=self.ttl_ms), TIMEOUT_S
            )
        except ERRORS as exc:
            SEARCH_CACHE.labels(kind, "error").inc()
            log.warning("search cache not written: %s", type(exc).__name__)
        return result


def search_parts(
    params: sq.SearchParams, *, limit: int, cursor: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "params": params.values(),
        "limit": limit,
        "cursor": cursor,
        "clock": clock(params, now),
    }


def cache_of(state: Any) -> SearchCache:
    """The app's one SearchCache (its Redis client exists once the lifespan ran)."""
    found: SearchCache | None = getattr(state, "search_cache", None)
    redis = getattr(state, "redis", None)
    if found is None or found.redis is not redis:
        found = state.search_cache = SearchCache(redis, state.settings)
    return found
