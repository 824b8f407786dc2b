"""The indexer's knobs, read from the service Settings by attribute (indexers/ does not import
service/, so the service's configuration stays the one source without a dependency cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexerConfig:
    prefix: str = ""
    source: str = "auto"  # auto | changestream | polling
    batch_size: int = 500
    flush_interval_s: float = 0.25
    poll_interval_s: float = 0.1
    poll_overlap_s: float = 3.0
    max_retries: int = 5
    # Bulk requests in flight at once (see BulkWriter, load_snapshot, Indexer): bounded, so
    # memory stays at about (concurrency + queue) chunks whatever the catalogue size.
    bulk_concurrency: int = 2
    embedded_mongo: bool = True
    mongodb_url: str | None = None  # the change stream's own client connects here
    lease_ttl_s: float = 15.0  # one active `indexer run` per alias; renewed every third of it
    # Far behind (the newest change of a written batch older than catchup_lag_s): the live
    # index refreshes every catchup_refresh_s instead of 250 ms until caught up (0: never).
    catchup_lag_s: float = 5.0
    catchup_refresh_s: float = 2.0
    # Layout of a new concrete index (a rebuild applies changes: shards are fixed per index).
    shards: int = 1
    replicas: int = 0
    # The API caches search pages in Redis: after a change the indexer bumps the generation.
    redis_url: str | None = None
    search_cache: bool = False

    @classmethod
    def of(cls, settings: Any) -> IndexerConfig:
        """From `service.core.config.Settings` (or anything with the same attributes)."""
        if isinstance(settings, IndexerConfig):
            return settings
        return cls(
            prefix=settings.elasticsearch_index_prefix,
            source=settings.indexer_source,
            batch_size=settings.indexer_batch_size,
            flush_interval_s=settings.indexer_flush_interval_s,
            poll_interval_s=settings.indexer_poll_interval_s,
            poll_overlap_s=settings.indexer_poll_overlap_s,
            max_retries=settings.indexer_max_retries,
            bulk_concurrency=settings.indexer_bulk_concurrency,
            embedded_mongo=settings.embedded_mongo,
            mongodb_url=getattr(settings, "mongodb_url", None),
            lease_ttl_s=settings.indexer_lease_ttl_s,
            catchup_lag_s=settings.indexer_catchup_lag_s,
            catchup_refresh_s=settings.indexer_catchup_refresh_s,
            shards=settings.search_index_shards,
            replicas=settings.search_index_replicas,
            redis_url=getattr(settings, "redis_url", None),
            search_cache=getattr(settings, "search_cache_ttl_s", 0) > 0,
        )
