"""A fresh, empty database per test, on both store tiers: mongomock and the wire server (or the
real replica set of MONGODB_URL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch
from mongomock_motor import AsyncMongoMockClient
from motor.motor_asyncio import AsyncIOMotorClient

from migrations import MigrationContext


@pytest.fixture(
    params=["mongomock", pytest.param("server", marks=pytest.mark.realmongo)],
)
async def ctx(request: pytest.FixtureRequest, es_url: str) -> AsyncIterator[MigrationContext]:
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    if request.param == "mongomock":
        client = AsyncMongoMockClient(tz_aware=True)
    else:
        url = request.getfixturevalue("mongo_url")
        client = AsyncIOMotorClient(url, tz_aware=True, serverSelectionTimeoutMS=3000)
    es = AsyncElasticsearch(es_url)
    try:
        yield MigrationContext(db=client[name], es=es, index_prefix=prefix)
    finally:
        await client.drop_database(name)
        client.close()
        await drop_indices(es, prefix)
        await es.close()


async def drop_indices(es: AsyncElasticsearch, prefix: str) -> None:
    """Delete by name: the node refuses wildcard deletes (destructive_requires_name)."""
    found = await es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all")
    for name in found.body:
        await es.indices.delete(index=name, ignore_unavailable=True)
