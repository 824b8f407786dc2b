"""The service's Mongo connection, built by the store adapter (indexers.store) from Settings."""

from __future__ import annotations

from typing import Any

from indexers import store
from service.core.config import Settings


def make_client(settings: Settings) -> Any:
    """A motor client for MONGODB_URL, or an in-process mongomock-motor client when unset."""
    return store.make_client(settings.mongodb_url)


async def init_db(client: Any, settings: Settings) -> Any:
    # Indexes are created by migrations (`marketplace migrate up`), not implicitly at boot,
    # except on the embedded store which starts empty every time.
    return await store.init_documents(
        client, settings.mongodb_database, create_indexes=settings.embedded_mongo
    )
