"""Shared bench plumbing: an Elasticsearch to talk to, percentiles, quiet logging."""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def elasticsearch_url() -> Iterator[str]:
    """ELASTICSEARCH_URL when set, else a LocalNode started (and stopped) for this run."""
    if url := os.environ.get("ELASTICSEARCH_URL"):
        yield url
        return
    from service.localnode.elasticsearch_node import LocalNode

    with LocalNode(heap=os.environ.get("MARKETPLACE_ES_HEAP", "1g")) as node:
        yield node.url


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the inclusive method; ms values in, ms out."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return cuts[min(len(cuts) - 1, max(0, round(q * 1000) - 1))]


def quiet() -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("elastic_transport", "elasticsearch", "httpx", "indexers", "service"):
        logging.getLogger(name).setLevel(logging.ERROR)


def app_settings(es_url: str, prefix: str) -> Any:
    """Settings of an app that benchmarks drive in process: the embedded store with nothing
    seeded, no background indexer or alerts, and no rate limits or search cache, so each request
    measures the search it sends and not a limiter or a Redis hit."""
    from service.core.config import Settings

    return Settings(
        elasticsearch_url=es_url,
        elasticsearch_index_prefix=prefix,
        mongodb_url=None,
        redis_url=None,
        seed_demo_listings=0,
        run_embedded_indexer=False,
        run_alerts=False,
        rate_limit_enabled=False,
        search_cache_ttl_s=0,
        log_json=False,
        log_level="WARNING",
    )
