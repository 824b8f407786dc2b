"""Shared bench plumbing: an Elasticsearch to talk to, percentiles, quiet logging."""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
from collections.abc import Iterator


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
