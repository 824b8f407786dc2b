"""Shared fixtures: real Redis and real Elasticsearch started once per session; a fresh app
(with a fresh in-process MongoDB) per test."""

from __future__ import annotations

import http.cookiejar
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from service.app import create_app
from service.core.config import Settings
from service.localnode.elasticsearch_node import LocalNode
from tests.services import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def es_node() -> Iterator[LocalNode]:
    node = LocalNode(heap=os.environ.get("MARKETPLACE_ES_HEAP", "768m")).start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def es_url(es_node: LocalNode) -> str:
    return es_node.url


def make_settings(redis_url: str, es_url: str | None, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "mongodb_url": None,  # mongomock in process; MONGODB_URL tests are marked realmongo
        "redis_url": redis_url,
        "elasticsearch_url": es_url,
        # Each test gets its own index names on the shared node.
        "elasticsearch_index_prefix": f"t{uuid.uuid4().hex[:10]}-",
        "seed_demo_listings": 0,
        "run_embedded_indexer": False,
        "session_cookie_secure": False,
        # Cheap hashing keeps the suite fast; production cost is exercised in test_passwords.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        "argon2_parallelism": 1,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(redis_server: RedisServer, es_url: str) -> Settings:
    redis.Redis.from_url(redis_server.url).flushall()
    return make_settings(redis_server.url, es_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application
    await _drop_test_indices(settings)


async def _drop_test_indices(settings: Settings) -> None:
    if not settings.elasticsearch_url or not settings.elasticsearch_index_prefix:
        return
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        resp = await es.indices.get(
            index=f"{settings.elasticsearch_index_prefix}*",
            allow_no_indices=True,
            expand_wildcards="all",
        )
        for name in resp.body:
            await es.indices.delete(index=name, ignore_unavailable=True)
    finally:
        await es.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    # Never keep Set-Cookie between requests: one shared client plays many users, and a
    # remembered session cookie would silently authenticate "anonymous" calls.
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=jar
    ) as c:
        yield c


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str
    roles: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Awaitable[Account]]


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> MakeUser:
    async def _make(
        roles: list[str] | None = None,
        email: str | None = None,
        password: str = "correct horse battery",
    ) -> Account:
        roles = roles or ["guest"]
        email = email or f"u{uuid.uuid4().hex[:12]}@example.com"
        r = await client.post(
            "/v1/auth/register",
            json={
                "email": email,
                "password": password,
                "display_name": "Test User",
                "roles": roles,
            },
        )
        assert r.status_code == 201, r.text
        r2 = await client.post("/v1/auth/login", json={"email": email, "password": password})
        assert r2.status_code == 200, r2.text
        return Account(
            id=r.json()["id"], email=email, password=password, token=r2.json()["token"], roles=roles
        )

    return _make


@pytest.fixture
async def host(make_user: MakeUser) -> Account:
    return await make_user(["host"])


@pytest.fixture
async def guest(make_user: MakeUser) -> Account:
    return await make_user(["guest"])


def listing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Sunny loft near the canal",
        "description": "Bright two-room loft with a balcony.",
        "category": "apartment",
        "amenities": ["wifi", "kitchen"],
        "attributes": {"bedrooms": 2, "pets": False},
        "location": {"lat": 52.37, "lon": 4.89},
        "address": {"line1": "Prinsengracht 1", "city": "Amsterdam", "country": "NL"},
        "price": {"amount": 12000, "currency": "EUR"},
        "unit": "night",
        "capacity": 4,
    }
    body.update(overrides)
    return body


@pytest.fixture
def new_listing() -> Callable[..., dict[str, Any]]:
    return listing_body
