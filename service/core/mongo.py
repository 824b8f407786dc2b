"""The one place that builds the Mongo client and initialises Beanie."""

from __future__ import annotations

from typing import Any

from beanie import init_beanie
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from documents import ALL_DOCUMENTS
from service.core.config import Settings


def make_client(settings: Settings) -> Any:
    """A motor client for MONGODB_URL, or an in-process mongomock-motor client when unset."""
    if settings.embedded_mongo:
        from mongomock_motor import AsyncMongoMockClient

        return AsyncMongoMockClient(tz_aware=True)
    return AsyncIOMotorClient(
        settings.mongodb_url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=3000,
    )


async def init_db(client: Any, settings: Settings) -> AsyncIOMotorDatabase:
    db = client[settings.mongodb_database]
    # Indexes are created by migrations (`marketplace migrate up`), not implicitly at boot,
    # except on the embedded store which starts empty every time.
    await init_beanie(
        database=db,
        document_models=ALL_DOCUMENTS,
        allow_index_dropping=False,
        skip_indexes=not settings.embedded_mongo,
    )
    return db
