"""schemathesis against /openapi.json, in process through the ASGI app, with the session's real
Redis and Elasticsearch: every operation, positive and negative examples (bounded), no 5xx, and
responses (status, content type, body) conform to the schema.

Authenticated operations get a bearer token of a host+guest user; operations that end the
session or the account (logout, logout-all, DELETE /v1/me) get a throwaway user per example so
they cannot log the shared user out. schemathesis runs the app's lifespan on its own event-loop
thread (its ASGI portal), which is why this test is synchronous.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
import redis
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from tests.conftest import _drop_test_indices, make_settings
from tests.services import RedisServer

MAX_EXAMPLES = int(os.environ.get("MARKETPLACE_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ENDS_SESSION = {
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/auth/logout-all"),
    ("DELETE", "/v1/me"),
}


@pytest.fixture
def st_app(redis_server: RedisServer, es_url: str) -> Iterator[FastAPI]:
    redis.Redis.from_url(redis_server.url).flushall()
    conf = make_settings(redis_server.url, es_url, rate_limit_enabled=False)
    application = create_app(conf)
    yield application
    asgi.shutdown_lifespans()
    asyncio.run(_drop_test_indices(conf))


def _token(app: FastAPI) -> str:
    email = f"st-{uuid.uuid4().hex[:12]}@example.com"
    with asgi.get_client(app) as client:
        r = client.post(
            "/v1/auth/register",
            json={
                "email": email,
                "password": "long enough pw",
                "display_name": "Fuzz",
                "roles": ["guest", "host"],
            },
        )
        assert r.status_code == 201, r.text
        r = client.post("/v1/auth/login", json={"email": email, "password": "long enough pw"})
        assert r.status_code == 200, r.text
        return r.json()["token"]


def test_schemathesis_all_operations(st_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", st_app)
    shared = {"Authorization": f"Bearer {_token(st_app)}"}
    # A published listing of the shared user, so listing-scoped operations reach real code.
    with asgi.get_client(st_app) as client:
        r = client.post(
            "/v1/listings",
            json={
                "title": "Fuzz loft",
                "category": "apartment",
                "location": {"lat": 52.3, "lon": 4.9},
                "address": {"line1": "a", "city": "Amsterdam", "country": "NL"},
                "price": {"amount": 1000, "currency": "EUR"},
                "unit": "night",
                "capacity": 2,
            },
            headers=shared,
        )
        assert r.status_code == 201, r.text
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        key = (operation.method.upper(), operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fresh_session = key in ENDS_SESSION

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                headers = dict(shared)
                if fresh_session:  # noqa: B023 - run() is called within this iteration
                    headers = {"Authorization": f"Bearer {_token(st_app)}"}
                if case.headers and "Authorization" in case.headers:
                    headers = {}  # the generated Authorization is part of the example
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, key
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{key[0]} {key[1]} [{mode.value}]: {exc}"[:2000])
    assert operations >= 10
    assert not failures, "\n\n".join(failures)
