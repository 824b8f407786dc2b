"""An app with custom settings (rate limits, cookie flags...) on the session's real services."""

from __future__ import annotations

import contextlib
import http.cookiejar
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from service.app import create_app
from tests.conftest import make_settings
from tests.services import RedisServer

AppFactory = Callable[
    ..., contextlib.AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]
]


@contextlib.asynccontextmanager
async def running_app(
    redis_url: str, es_url: str | None, client_ip: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(make_settings(redis_url, es_url, **overrides))
    async with (
        LifespanManager(application, startup_timeout=60, shutdown_timeout=60),
        client_for(application, client_ip) as c,
    ):
        yield application, c


@pytest.fixture
def app_with(redis_server: RedisServer, es_url: str) -> AppFactory:
    redis.Redis.from_url(redis_server.url).flushall()

    def factory(**overrides: Any) -> Any:
        return running_app(redis_server.url, es_url, **overrides)

    return factory


def client_for(application: FastAPI, ip: str) -> httpx.AsyncClient:
    """Another client of the same app, seen as coming from `ip`."""
    transport = httpx.ASGITransport(app=application, client=(ip, 40000))
    # Like the shared client: never keep cookies (one client plays many users).
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=jar)
