"""Direct reads of the embedded store (mongomock), for the indexer's full-collection reads.

mongomock answers every find by filtering and deep-copying the whole collection in Python
(it has no indexes), which makes polling and snapshot reads the dominant cost of the embedded
default. The indexer only *reads* listings and projects them synchronously, so it may look at
the stored documents in place. A real MongoDB always takes the query path.
"""

from __future__ import annotations

from typing import Any

# Tests flip this to exercise the query path (the one a real MongoDB takes) on mongomock.
ENABLED = True


def store_of(coll: Any) -> Any | None:
    """The mongomock store behind an embedded collection (None for a real MongoDB)."""
    if not ENABLED:
        return None
    try:
        from mongomock_motor import AsyncMongoMockCollection
    except ImportError:  # pragma: no cover - installed with the project
        return None
    if not isinstance(coll, AsyncMongoMockCollection):
        return None
    store = getattr(coll, "_store", None)
    return store if hasattr(store, "_documents") and hasattr(store, "_rwlock") else None
