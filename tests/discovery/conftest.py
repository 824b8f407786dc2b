"""Apps for the discovery tests: an explicit indexer drain (`sync`), or the embedded indexer and
a fast alert job for the end-to-end alert tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexers.definition import alias_name
from indexers.runner import Indexer
from service.core.config import Settings

Sync = Callable[[], Awaitable[None]]


@pytest.fixture
async def sync(app: FastAPI, settings: Settings) -> AsyncIterator[Sync]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    indexer = Indexer.polling(es, settings)

    async def run() -> None:
        await indexer.drain()
        await es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))

    yield run
    await es.close()


async def publish(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    r = await client.post("/v1/listings", json=body, headers=headers)
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    r = await client.post(f"/v1/listings/{lid}/publish", headers=headers)
    assert r.status_code == 200, r.text
    return str(lid)
