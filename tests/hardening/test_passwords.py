"""argon2id with the configured cost; a login upgrades hashes made with older parameters."""

from __future__ import annotations

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from documents import User
from service.core.config import Settings
from tests.conftest import Account


async def _stored_hash(account: Account) -> str:
    user = await User.find_one(User.email == account.email)
    assert user is not None
    return user.password_hash


async def test_passwords_are_argon2id_with_the_configured_cost(
    guest: Account, settings: Settings
) -> None:
    stored = await _stored_hash(guest)
    assert stored.startswith("$argon2id$")
    assert (
        f"m={settings.argon2_memory_kib},t={settings.argon2_time_cost},"
        f"p={settings.argon2_parallelism}" in stored
    )
    assert guest.password not in stored
    assert PasswordHasher().verify(stored, guest.password)


async def test_production_defaults_are_sane() -> None:
    defaults = Settings()
    assert defaults.argon2_time_cost >= 2 and defaults.argon2_memory_kib >= 19 * 1024
    assert defaults.session_cookie_secure is True


async def test_login_rehashes_when_parameters_change(
    client: httpx.AsyncClient, guest: Account, app: FastAPI, settings: Settings
) -> None:
    before = await _stored_hash(guest)
    app.state.settings = settings.model_copy(
        update={"argon2_time_cost": settings.argon2_time_cost + 1, "argon2_memory_kib": 128}
    )
    r = await client.post("/v1/auth/login", json={"email": guest.email, "password": guest.password})
    assert r.status_code == 200
    after = await _stored_hash(guest)
    assert after != before
    assert f"m=128,t={settings.argon2_time_cost + 1}," in after
    # The upgraded hash still verifies, and an unchanged configuration leaves it alone.
    r = await client.post("/v1/auth/login", json={"email": guest.email, "password": guest.password})
    assert r.status_code == 200
    assert await _stored_hash(guest) == after
