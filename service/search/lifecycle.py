"""Search wiring for the app lifespan: the index must exist, and in embedded mode the polling
indexer runs inside the API process."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import elastic_transport
from elasticsearch import ApiError

from indexers.aliases import ensure_index
from indexers.generation import Generation, generation_key
from indexers.runner import Indexer
from service.core.config import Settings

log = logging.getLogger(__name__)


async def start_search(state: Any, settings: Settings) -> None:
    """Ensure the alias exists and, when configured, start the in-process polling indexer.

    Elasticsearch being down at boot is not fatal: searches answer 503 until it is back, and
    the indexer retries (its writer re-creates a missing alias).
    """
    if state.es is None:
        return
    try:
        await ensure_index(state.es, settings.elasticsearch_index_prefix)
    except (elastic_transport.TransportError, ApiError) as exc:
        log.warning("search index not ensured at startup (%s); searches answer 503", exc)
    if settings.indexer_in_process:
        # The in-process Redis (the embedded default) is only reachable through the app's client.
        generation = None
        if settings.search_cache_ttl_s > 0:
            generation = Generation(
                generation_key(settings.elasticsearch_index_prefix), state.redis
            )
        indexer = Indexer.polling(state.es, settings, generation=generation)
        state.indexer = indexer
        task = asyncio.create_task(indexer.run(), name="embedded-indexer")
        state.background.append(task)
