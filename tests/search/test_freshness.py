"""Write -> searchable through the API and the indexer; Elasticsearch down -> 503 naming it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from bson import ObjectId
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents.values import midnight, utcnow
from indexers.definition import alias_name
from indexers.runner import Indexer
from service.app import create_app
from service.core.config import Settings
from service.listings.store import apply_write
from tests.conftest import METRICS, make_settings


@pytest.fixture
async def indexer(app: FastAPI, settings: Settings) -> AsyncIterator[Indexer]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    yield Indexer.polling(es, settings)
    await es.close()


def _stay(first: int, last: int) -> dict[str, str]:
    return {"check_in": _may(first).isoformat(), "check_out": _may(last).isoformat()}


def _may(n: int) -> date:
    """A day some weeks ahead (bookable: inside the booking horizon), numbered like a month."""
    return utcnow().date() + timedelta(days=40 + n)


async def _sync(indexer: Indexer, settings: Settings) -> None:
    await indexer.drain()
    await indexer.es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))


async def _ids(client: httpx.AsyncClient, **params: object) -> set[str]:
    r = await client.get("/v1/search/listings", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return {h["id"] for h in r.json()["hits"]}


async def test_writes_become_searchable(
    client: httpx.AsyncClient, host, new_listing, indexer: Indexer, settings: Settings
) -> None:
    price = {"amount": 12_000, "currency": "EUR"}
    body = new_listing(title="Lighthouse keeper cottage", price=price)
    r = await client.post("/v1/listings", json=body, headers=host.headers)
    lid = r.json()["id"]
    await _sync(indexer, settings)
    assert lid not in await _ids(client, q="lighthouse")  # a draft is not searchable

    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await _sync(indexer, settings)
    assert lid in await _ids(client, q="lighthouse")
    assert lid in await _ids(client, price_max=15_000)

    # A price change moves it across price filters.
    r = await client.patch(
        f"/v1/listings/{lid}",
        json={"price": {"amount": 30_000, "currency": "EUR"}},
        headers=host.headers,
    )
    assert r.status_code == 200, r.text
    await _sync(indexer, settings)
    assert lid not in await _ids(client, price_max=15_000)
    assert lid in await _ids(client, price_min=25_000)

    # Booked nights: it disappears for those nights only (half-open: check-out day is free).
    hold = {
        "booking_id": "b1",
        "start": midnight(_may(10)),
        "end": midnight(_may(13)),
        "seats": 0,
        "quantity": 0,
    }
    assert await apply_write(ObjectId(lid), {"$push": {"availability.holds": hold}})
    await _sync(indexer, settings)
    assert lid not in await _ids(client, **_stay(12, 14))
    assert lid not in await _ids(client, **_stay(9, 11))
    assert lid in await _ids(client, **_stay(13, 15))
    assert lid in await _ids(client, **_stay(8, 10))

    await client.post(f"/v1/listings/{lid}/close", headers=host.headers)  # unpublish
    await _sync(indexer, settings)
    assert lid not in await _ids(client, q="lighthouse")

    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await _sync(indexer, settings)
    assert lid in await _ids(client, q="lighthouse")
    assert (await client.delete(f"/v1/listings/{lid}", headers=host.headers)).status_code == 204
    await _sync(indexer, settings)
    assert lid not in await _ids(client, q="lighthouse")
    r = await client.get("/v1/search/suggest", params={"q": "lighth"})
    assert r.json()["suggestions"] == []


async def test_hour_slots_full_hours_are_excluded(
    client: httpx.AsyncClient, host, new_listing, indexer: Indexer, settings: Settings
) -> None:
    body = new_listing(title="Meeting room", unit="hour", capacity=2)
    lid = (await client.post("/v1/listings", json=body, headers=host.headers)).json()["id"]
    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    june = _may(30).isoformat()
    await apply_write(
        ObjectId(lid),
        {"$set": {"availability.hour_seats": {f"{june}T10": 2, f"{june}T11": 1}}},
    )
    await _sync(indexer, settings)
    full = {"start": f"{june}T10:00:00Z", "end": f"{june}T11:00:00Z"}
    partly = {"start": f"{june}T11:00:00Z", "end": f"{june}T12:00:00Z"}
    assert lid not in await _ids(client, **full)
    assert lid in await _ids(client, **partly)  # one seat left
    assert lid not in await _ids(client, **partly, guests=2)  # but not two
    assert lid not in await _ids(client, start=f"{june}T09:00:00Z", end=f"{june}T12:00:00Z")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_elasticsearch_down_is_503_and_writes_keep_working(redis_server, new_listing) -> None:
    settings = make_settings(redis_server.url, f"http://127.0.0.1:{_closed_port()}")
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path, params in (
                ("/v1/search/listings", {"q": "loft"}),
                ("/v1/search/suggest", {"q": "lo"}),
            ):
                r = await client.get(path, params=params)
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["service"] == "elasticsearch"
                assert "elasticsearch" in r.json()["detail"]
            # Writes elsewhere keep working; the indexer catches up once ES is back.
            reg = await client.post(
                "/v1/auth/register",
                json={
                    "email": "h@example.com",
                    "password": "correct horse battery",
                    "display_name": "H",
                    "roles": ["host"],
                },
            )
            assert reg.status_code == 201, reg.text
            login = await client.post(
                "/v1/auth/login",
                json={"email": "h@example.com", "password": "correct horse battery"},
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            r = await client.post("/v1/listings", json=new_listing(), headers=headers)
            assert r.status_code == 201, r.text


async def test_embedded_indexer_runs_in_the_api_and_exports_metrics(
    redis_server, es_url: str, new_listing
) -> None:
    """The embedded default: the polling indexer is a background task of the API process."""
    import asyncio

    settings = make_settings(redis_server.url, es_url, run_embedded_indexer=True)
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            assert any(t.get_name() == "embedded-indexer" for t in app.state.background)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                creds = {"email": "e@example.com", "password": "correct horse battery"}
                await client.post(
                    "/v1/auth/register", json={**creds, "display_name": "E", "roles": ["host"]}
                )
                token = (await client.post("/v1/auth/login", json=creds)).json()["token"]
                headers = {"Authorization": f"Bearer {token}"}
                body = new_listing(title="Windmill loft")
                lid = (await client.post("/v1/listings", json=body, headers=headers)).json()["id"]
                await client.post(f"/v1/listings/{lid}/publish", headers=headers)
                found = False
                for _ in range(100):  # the background task, not a direct drain: wait for it
                    if lid in await _ids(client, q="windmill"):
                        found = True
                        break
                    await asyncio.sleep(0.1)
                assert found
                metrics = (await client.get("/metrics", headers=METRICS)).text
                assert 'indexer_batch_size_count{source="poll"}' in metrics
                assert 'indexer_lag_seconds{source="poll"}' in metrics
                assert 'indexer_operations_total{outcome="indexed"}' in metrics
    finally:
        from tests.conftest import _drop_test_indices

        await _drop_test_indices(settings)
