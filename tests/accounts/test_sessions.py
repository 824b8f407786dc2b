"""Sessions live in real Redis: login, use, sliding expiry, logout revokes, stolen tokens die."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.core.config import Settings
from tests.conftest import MakeUser, make_settings
from tests.services import RedisServer


async def test_login_returns_token_and_cookie_and_both_authenticate(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user(["guest"])
    r = await client.post(
        "/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "user"}
    assert body["user"]["email"] == account.email
    assert "password" not in str(body["user"]) and "hash" not in str(body["user"])
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie

    bearer = await client.get("/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert bearer.status_code == 200 and bearer.json()["id"] == account.id
    # The web client: the cookie alone authenticates.
    client.cookies.set("mp_session", body["token"])
    try:
        assert (await client.get("/v1/me")).json()["id"] == account.id
    finally:
        client.cookies.clear()


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    wrong = await client.post("/v1/auth/login", json={"email": account.email, "password": "nope"})
    unknown = await client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_me_without_session_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["status"] == 401
    bad = await client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


async def test_logout_revokes_and_a_stolen_token_is_useless_after(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    stolen = dict(account.headers)
    assert (await client.get("/v1/me", headers=stolen)).status_code == 200
    out = await client.post("/v1/auth/logout", headers=account.headers)
    assert out.status_code == 204
    assert (await client.get("/v1/me", headers=stolen)).status_code == 401
    # Logging out twice is not a way to probe tokens: it is simply unauthenticated.
    assert (await client.post("/v1/auth/logout", headers=stolen)).status_code == 401


async def test_logout_all_revokes_every_session_of_the_user(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    second = await client.post(
        "/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    phone = {"Authorization": f"Bearer {second.json()['token']}"}
    assert (await client.post("/v1/auth/logout-all", headers=account.headers)).status_code == 204
    assert (await client.get("/v1/me", headers=account.headers)).status_code == 401
    assert (await client.get("/v1/me", headers=phone)).status_code == 401


async def test_tokens_differ_per_login(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    account = await make_user()
    tokens = set()
    for _ in range(3):
        r = await client.post(
            "/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        tokens.add(r.json()["token"])
    assert len(tokens) == 3
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, base64url


class TestExpiry:
    @pytest.fixture
    def settings(self, redis_server: RedisServer, es_url: str) -> Settings:
        return make_settings(redis_server.url, es_url, session_ttl_s=2)

    async def test_session_expires_when_idle_and_slides_when_used(
        self, client: httpx.AsyncClient, make_user: MakeUser
    ) -> None:
        active = await make_user()
        idle = await make_user()
        # Keep one session busy for longer than the TTL: each use pushes expiry forward.
        for _ in range(4):
            await asyncio.sleep(0.8)
            assert (await client.get("/v1/me", headers=active.headers)).status_code == 200
        assert (await client.get("/v1/me", headers=idle.headers)).status_code == 401


async def test_duplicate_registration_is_409_case_insensitively(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    r = await client.post(
        "/v1/auth/register",
        json={
            "email": account.email.upper(),
            "password": "another password",
            "display_name": "Copy",
        },
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_admin_role_cannot_be_self_assigned(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/auth/register",
        json={
            "email": "x@example.com",
            "password": "long enough pw",
            "display_name": "X",
            "roles": ["admin"],
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][0] == "roles"
