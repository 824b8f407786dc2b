"""Shared fixtures: real Redis, real Elasticsearch and the MongoDB wire-protocol server started
once per session; a fresh app with a fresh database per test.

Two store tiers: "embedded" (mongomock in process, fast, the default) and "server" (a real wire
server with change streams and transactions; `MONGODB_URL` points it at a real replica set
instead). A module or test marked `@pytest.mark.stores` runs on both; server-tier items carry
the `realmongo` marker, and a CI run in which any of them is skipped fails (see
`pytest_sessionfinish`)."""

from __future__ import annotations

import http.cookiejar
import os
import secrets
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

from documents import ALL_DOCUMENTS
from migrations.indexes import collection_name, declared_indexes
from service.app import create_app
from service.core.config import Settings
from service.localnode.elasticsearch_node import LocalNode
from tests.services import RedisServer, WireMongoServer

STORES = ("embedded", "server")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.stores` (or `stores("server")`) parametrises the `store` fixture."""
    if "store" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("stores")
    if marker is None:
        return
    kinds = marker.args or STORES
    metafunc.parametrize(
        "store",
        [
            pytest.param(k, marks=[pytest.mark.realmongo] if k == "server" else [], id=k)
            for k in kinds
        ],
        indirect=True,
    )


_server_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "realmongo" in report.keywords:
        _server_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI must run the server tier: a skipped one means it silently ran embedded-only."""
    if os.environ.get("MARKETPLACE_REQUIRE_SERVER_TESTS") and _server_skips:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: {len(_server_skips)} server-tier (realmongo) tests were skipped, "
                f"e.g. {_server_skips[0]}",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """The server tier's MongoDB: `MONGODB_URL` (a real replica set), else a fresh wire server."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    server = WireMongoServer().start()
    yield server.url
    server.cleanup()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "embedded")


@pytest.fixture
def store_settings(request: pytest.FixtureRequest, store: str) -> dict[str, Any]:
    """Settings overrides that select the tier: nothing (mongomock), or a fresh database."""
    if store == "embedded":
        return {}
    return {
        "mongodb_url": request.getfixturevalue("mongo_url"),
        "mongodb_database": f"t_{uuid.uuid4().hex[:12]}",
    }


METRICS_TOKEN = "metrics-token-for-tests"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def secret_env() -> dict[str, str]:
    """Secrets for a subprocess on real Mongo or Redis (its workers must share them)."""
    return {"WEBHOOK_SECRET": secrets.token_hex(32), "CURSOR_SECRET": secrets.token_hex(32)}


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
        # Redis is a real server here: the settings refuse placeholder or short secrets.
        "webhook_secret": secrets.token_hex(32),
        "cursor_secret": secrets.token_hex(32),
        "metrics_token": METRICS_TOKEN,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(redis_server: RedisServer, es_url: str, store_settings: dict[str, Any]) -> Settings:
    redis.Redis.from_url(redis_server.url).flushall()
    return make_settings(redis_server.url, es_url, **store_settings)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        if not settings.embedded_mongo:
            await create_declared_indexes(application.state.mongo_db)
        yield application
        if not settings.embedded_mongo:
            await application.state.mongo_client.drop_database(settings.mongodb_database)
    await _drop_test_indices(settings)


async def create_declared_indexes(db: Any) -> None:
    """What `marketplace migrate up` creates on a real server (the embedded boot does it too)."""
    for document in ALL_DOCUMENTS:
        models = declared_indexes(document)
        if models:
            await db[collection_name(document)].create_indexes(models)


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
