"""Host-built redirects, search text vs the Mongo-operator guard, and no-store on private
answers (findings 11, 13, 15)."""

from __future__ import annotations

import httpx

from tests.conftest import Account


async def test_no_redirect_is_built_from_the_host_header(
    client: httpx.AsyncClient, guest: Account
) -> None:
    r = await client.get("/v1/me/", headers={**guest.headers, "Host": "evil.example"})
    assert r.status_code == 404, r.headers
    assert "location" not in r.headers


async def test_dollar_in_search_text_is_just_text(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/search/listings", params={"q": "$USD"})
    assert r.status_code in (200, 503), r.text  # never the operator guard's 422
    assert "Mongo operators" not in r.text
    r = await client.get("/v1/search/listings", params={"q": '{"$gt": ""}'})
    assert "Mongo operators" not in r.text


async def test_operator_guard_still_holds_elsewhere(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/search/listings", params={"category[$ne]": "x"})
    assert r.status_code == 422 and "Mongo operators" in r.text
    r = await client.get("/v1/listings", params={"q": "$where"})
    assert r.status_code == 422 and "Mongo operators" in r.text


async def test_token_and_personal_answers_are_no_store(
    client: httpx.AsyncClient, guest: Account
) -> None:
    login = await client.post(
        "/v1/auth/login", json={"email": guest.email, "password": guest.password}
    )
    assert login.status_code == 200 and "token" in login.json()
    assert login.headers["cache-control"] == "no-store"
    failed = await client.post("/v1/auth/login", json={"email": guest.email, "password": "no"})
    assert failed.headers["cache-control"] == "no-store"
    me = await client.get("/v1/me", headers=guest.headers)
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
    mine = await client.get("/v1/bookings", headers=guest.headers)
    assert mine.headers["cache-control"] == "no-store"
