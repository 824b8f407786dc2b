"""Session security: 256-bit random tokens stored hashed, cookie flags, rotation, revocation."""

from __future__ import annotations

import base64
import hashlib

import httpx
import redis

from tests.conftest import Account, MakeUser
from tests.hardening.conftest import AppFactory
from tests.services import RedisServer


async def test_token_is_256_bits_and_only_its_hash_is_in_redis(
    client: httpx.AsyncClient, guest: Account, redis_server: RedisServer
) -> None:
    raw = base64.urlsafe_b64decode(guest.token + "=" * (-len(guest.token) % 4))
    assert len(raw) == 32
    r = redis.Redis.from_url(redis_server.url)
    needle = guest.token.encode()
    digest = hashlib.sha256(needle).hexdigest().encode()
    seen_digest = False
    for key in r.scan_iter(count=1000):
        assert needle not in key
        kind = r.type(key)
        if kind == b"string":
            values = [r.get(key) or b""]
        elif kind == b"set":
            values = list(r.smembers(key))
        elif kind == b"hash":
            values = [v for kv in r.hgetall(key).items() for v in kv]
        else:
            values = []
        assert all(needle not in v for v in values), key
        seen_digest = seen_digest or digest in key or any(digest in v for v in values)
    assert seen_digest, "the session is stored under the token's SHA-256"
    r.close()


async def test_cookie_flags_secure_when_configured(app_with: AppFactory) -> None:
    for secure in (True, False):
        async with app_with(session_cookie_secure=secure) as (_, client):
            body = {"email": "c@example.com", "password": "long enough pw", "display_name": "C"}
            await client.post("/v1/auth/register", json=body)
            r = await client.post(
                "/v1/auth/login", json={"email": body["email"], "password": body["password"]}
            )
            assert r.status_code == 200
            cookie = r.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
            attributes = [a.strip() for a in cookie.split(";")]
            assert ("secure" in attributes) is secure


async def test_login_rotates_the_presented_session(
    client: httpx.AsyncClient, guest: Account
) -> None:
    old = guest.headers
    r = await client.post(
        "/v1/auth/login", json={"email": guest.email, "password": guest.password}, headers=old
    )
    assert r.status_code == 200
    new_token = r.json()["token"]
    assert new_token != guest.token
    assert (await client.get("/v1/me", headers=old)).status_code == 401
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {new_token}"})
    assert me.status_code == 200
    # A fixated cookie is rotated away too.
    r = await client.post(
        "/v1/auth/login",
        json={"email": guest.email, "password": guest.password},
        headers={"Cookie": f"mp_session={new_token}"},
    )
    assert r.status_code == 200
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {new_token}"})
    ).status_code == 401


async def test_logout_all_revokes_and_stolen_tokens_are_401(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(["guest"])
    second = await client.post(
        "/v1/auth/login", json={"email": user.email, "password": user.password}
    )
    stolen = {"Authorization": f"Bearer {second.json()['token']}"}
    assert (await client.get("/v1/me", headers=stolen)).status_code == 200
    r = await client.post("/v1/auth/logout-all", headers=user.headers)
    assert r.status_code == 204
    for headers in (user.headers, stolen):
        r = await client.get("/v1/me", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
    # After a plain logout the token is equally dead.
    third = await client.post(
        "/v1/auth/login", json={"email": user.email, "password": user.password}
    )
    token = {"Authorization": f"Bearer {third.json()['token']}"}
    assert (await client.post("/v1/auth/logout", headers=token)).status_code == 204
    assert (await client.get("/v1/me", headers=token)).status_code == 401
    assert (await client.get("/v1/me/export", headers=token)).status_code == 401
