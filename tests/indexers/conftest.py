from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexers.runner import Indexer
from service.core.config import Settings


@pytest.fixture
async def es(settings: Settings) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    yield client
    await client.close()


@pytest.fixture
def indexer(app: FastAPI, es: AsyncElasticsearch, settings: Settings) -> Indexer:
    """A polling indexer on the test's Mongo and index; tests call drain() explicitly."""
    return Indexer.polling(es, settings)
