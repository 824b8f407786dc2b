"""The search cache as a FastAPI dependency (one per app, on its Redis client)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.search.cache import SearchCache, cache_of


async def get_search_cache(request: Request) -> SearchCache:
    # async: a plain `def` dependency runs in the thread pool, a thread hop per search.
    return cache_of(request.app.state)


SearchCacheDep = Annotated[SearchCache, Depends(get_search_cache)]
