"""Prometheus metrics of the indexer (default registry, served by GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LAG_SECONDS = Gauge(
    "indexer_lag_seconds",
    "Seconds between a listing change and Elasticsearch acknowledging it (0 when caught up)",
    ["source"],
)
BATCH_SIZE = Histogram(
    "indexer_batch_size",
    "Operations per bulk batch sent to Elasticsearch",
    ["source"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
OPS = Counter(
    "indexer_operations_total",
    "Index operations by outcome (indexed, deleted, stale, dead_letter)",
    ["outcome"],
)
ERRORS = Counter(
    "indexer_errors_total",
    "Indexer errors by kind (transport, rejected, source, history_lost)",
    ["kind"],
)
CHECKPOINT_AGE = Gauge(
    "indexer_checkpoint_timestamp_seconds",
    "Unix time of the last stored checkpoint",
    ["source"],
)
