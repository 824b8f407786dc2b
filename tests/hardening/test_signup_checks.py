"""Look-alike emails and weak passwords at sign-up (findings 8 and 9)."""

from __future__ import annotations

import httpx
import pytest

GOOD_PASSWORD = "a long unusual passphrase"


async def _register(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/register",
        json={"email": email, "password": password, "display_name": "Look Alike"},
    )


@pytest.mark.parametrize(
    ("lookalike", "status"),
    [
        ("\uff48ost1@example.com", 409),  # fullwidth h: NFKC makes it host1's address
        ("HOST1@EXAMPLE.COM", 409),
        ("host1@ex\u0430mple.com", 422),  # Cyrillic a
        ("H\u041eST1@EXAMPLE.C\u041eM", 422),  # Cyrillic O, twice
    ],
)
async def test_lookalikes_of_an_address_are_not_new_accounts(
    client: httpx.AsyncClient, lookalike: str, status: int
) -> None:
    assert (await _register(client, "host1@example.com", GOOD_PASSWORD)).status_code == 201
    r = await _register(client, lookalike, GOOD_PASSWORD)
    assert r.status_code == status, r.text
    if status == 422:
        assert any(e["loc"][-1] == "email" for e in r.json()["errors"]), r.json()


async def test_fullwidth_login_reaches_the_same_account(client: httpx.AsyncClient) -> None:
    assert (await _register(client, "host1@example.com", GOOD_PASSWORD)).status_code == 201
    r = await client.post(
        "/v1/auth/login", json={"email": "\uff48OST1@example.com", "password": GOOD_PASSWORD}
    )
    assert r.status_code == 200, r.text


async def test_accented_addresses_still_register(client: httpx.AsyncClient) -> None:
    assert (await _register(client, "jos\u00e9@example.com", GOOD_PASSWORD)).status_code == 201


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "PASSWORD", "iloveyou", " " * 8, "\x00" * 8, "good pass\x07word"],
)
async def test_weak_or_garbled_passwords_are_refused(
    client: httpx.AsyncClient, password: str
) -> None:
    r = await _register(client, "weak@example.com", password)
    assert r.status_code == 422, r.text
    assert any(e["loc"][-1] == "password" for e in r.json()["errors"]), r.json()
