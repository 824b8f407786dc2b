"""A fresh, empty database per test: mongomock always, real MongoDB when MONGODB_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from mongomock_motor import AsyncMongoMockClient
from motor.motor_asyncio import AsyncIOMotorClient

from migrations import MigrationContext


@pytest.fixture(
    params=["mongomock", pytest.param("realmongo", marks=pytest.mark.realmongo)],
)
async def ctx(request: pytest.FixtureRequest) -> AsyncIterator[MigrationContext]:
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    if request.param == "mongomock":
        client = AsyncMongoMockClient(tz_aware=True)
    else:
        url = os.environ.get("MONGODB_URL")
        if not url:
            pytest.skip("needs MONGODB_URL pointing at a real MongoDB")
        client = AsyncIOMotorClient(url, tz_aware=True, serverSelectionTimeoutMS=3000)
    try:
        yield MigrationContext(db=client[name])
    finally:
        await client.drop_database(name)
        client.close()
