from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexers.runner import Indexer
from service.app import create_app
from service.core.config import Settings
from tests.conftest import _drop_test_indices, make_settings
from tests.services import RedisServer


@pytest.fixture
async def es(settings: Settings) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    yield client
    await client.close()


@pytest.fixture
def indexer(app: FastAPI, es: AsyncElasticsearch, settings: Settings) -> Indexer:
    """A polling indexer on the test's Mongo and index; tests call drain() explicitly."""
    return Indexer.polling(es, settings)


@pytest.fixture
async def real_app(
    redis_server: RedisServer, es_url: str, mongo_url: str
) -> AsyncIterator[FastAPI]:
    """An app on a fresh database of the server tier (change streams), with its indexes."""
    settings = make_settings(
        redis_server.url,
        es_url,
        mongodb_url=mongo_url,
        mongodb_database=f"t_{uuid.uuid4().hex[:10]}",
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        from beanie import init_beanie

        from documents import ALL_DOCUMENTS

        await init_beanie(database=app.state.mongo_db, document_models=ALL_DOCUMENTS)
        yield app
        await app.state.mongo_client.drop_database(settings.mongodb_database)
    await _drop_test_indices(settings)
