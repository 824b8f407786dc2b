"""argon2id hashing, off the event loop (it is deliberately slow)."""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.core.config import Settings


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


async def hash_password(settings: Settings, password: str) -> str:
    return await anyio.to_thread.run_sync(hasher(settings).hash, password)


async def verify_password(settings: Settings, stored_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return hasher(settings).verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def needs_rehash(settings: Settings, stored_hash: str) -> bool:
    return hasher(settings).check_needs_rehash(stored_hash)


# Verified against when the email is unknown, so a miss costs as much time as a hit.
_DUMMY: dict[tuple[int, int, int], str] = {}


async def burn_time(settings: Settings, password: str) -> None:
    key = (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = await hash_password(settings, "not-a-real-password")
    await verify_password(settings, _DUMMY[key], password)
