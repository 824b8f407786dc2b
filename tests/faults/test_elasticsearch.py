"""Elasticsearch faults, on this module's own node (never the shared session node):
stopped -> search 503 naming it, writes and bookings still succeed, /readyz names it, and once it
is back the indexer catches up with no drift; paused (slow) -> 503/504 within the client budget."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexers.rebuild import verify
from indexers.runner import Indexer
from service.core.config import Settings
from tests.conftest import listing_body
from tests.faults.conftest import RestartableNode
from tests.hardening.conftest import running_app
from tests.services import RedisServer

TIMEOUT_S = 1.5  # settings.elasticsearch_timeout_s for these apps


def _night(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def _register(client: httpx.AsyncClient, roles: list[str]) -> dict[str, str]:
    email = f"{'-'.join(roles)}-{time.monotonic_ns()}@example.com"
    body = {"email": email, "password": "long enough pw", "display_name": "F", "roles": roles}
    assert (await client.post("/v1/auth/register", json=body)).status_code == 201
    r = await client.post("/v1/auth/login", json={"email": email, "password": "long enough pw"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _publish(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> str:
    r = await client.post("/v1/listings", json=listing_body(title=title), headers=headers)
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    assert (await client.post(f"/v1/listings/{lid}/publish", headers=headers)).status_code == 200
    return lid


def _settings(app: FastAPI) -> Settings:
    return app.state.settings


@pytest.mark.slow
async def test_es_stopped_then_back(fault_node: RestartableNode, redis_server: RedisServer) -> None:
    async with running_app(
        redis_server.url,
        fault_node.url,
        elasticsearch_timeout_s=TIMEOUT_S,
        rate_limit_enabled=False,
    ) as (app, client):
        settings = _settings(app)
        prefix = settings.elasticsearch_index_prefix
        es = AsyncElasticsearch(fault_node.url, request_timeout=30)
        try:
            host = await _register(client, ["host"])
            guest = await _register(client, ["guest"])
            before = await _publish(client, host, "Before the outage")
            indexer = Indexer.polling(es, settings)
            await indexer.drain()

            fault_node.kill()
            r = await client.get("/v1/search/listings", params={"q": "outage"})
            assert r.status_code == 503 and r.json()["service"] == "elasticsearch", r.text
            assert r.headers["content-type"] == "application/problem+json"
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["elasticsearch"] != "ok"
            assert ready.json()["checks"]["mongodb"] == "ok"
            # The source of truth keeps working: listing writes and bookings succeed.
            during = await _publish(client, host, "Written during the outage")
            patched = await client.patch(
                f"/v1/listings/{before}", json={"title": "Renamed during outage"}, headers=host
            )
            assert patched.status_code == 200
            booking = await client.post(
                "/v1/bookings",
                json={
                    "listing_id": during,
                    "check_in": _night(20),
                    "check_out": _night(22),
                    "guests": 1,
                },
                headers=guest,
            )
            assert booking.status_code == 201, booking.text
            with pytest.raises(Exception):  # noqa: B017 - any transport failure; no progress
                await Indexer.polling(es, settings).drain()

            fault_node.restart()
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            await Indexer.polling(es, settings).drain()  # resumes from its checkpoint
            drift = await verify(es, prefix)
            assert drift.checked == 2
            assert not drift.missing and not drift.extra and not drift.stale
            await es.indices.refresh(index=f"{prefix}*")
            found = await client.get("/v1/search/listings", params={"q": "outage"})
            assert found.status_code == 200
            assert {h["id"] for h in found.json()["hits"]} == {before, during}
        finally:
            await es.close()


async def test_slow_es_answers_within_the_budget(
    fault_node: RestartableNode, redis_server: RedisServer
) -> None:
    async with running_app(
        redis_server.url,
        fault_node.url,
        elasticsearch_timeout_s=TIMEOUT_S,
        rate_limit_enabled=False,
    ) as (_, client):
        assert (await client.get("/v1/search/listings")).status_code == 200
        fault_node.pause()
        try:
            # The page searched before the pause is in the search cache (its generation is
            # current): answered without Elasticsearch. Searches it has not seen need ES.
            assert (await client.get("/v1/search/listings")).status_code == 200
            for path in ("/v1/search/listings?q=uncached", "/v1/search/suggest?q=ca"):
                started = time.monotonic()
                # Not hanging is the property under test: the client budget (plus one retry at
                # most) bounds it; wait_for turns a hang into a failure instead of a stuck suite.
                r = await asyncio.wait_for(client.get(path), timeout=TIMEOUT_S * 4 + 5)
                elapsed = time.monotonic() - started
                assert r.status_code in (503, 504), r.text
                assert r.json()["service"] == "elasticsearch"
                assert elapsed < TIMEOUT_S * 4 + 5
            ready = await asyncio.wait_for(client.get("/readyz"), timeout=10)
            assert ready.status_code == 503 and ready.json()["service"] == "elasticsearch"
        finally:
            fault_node.resume()
        assert (await client.get("/v1/search/listings")).status_code == 200
