"""Registration and login, testable without HTTP."""

from __future__ import annotations

import pymongo.errors

from documents import User
from documents.values import utcnow
from service.accounts.passwords import burn_time, hash_password, needs_rehash, verify_password
from service.accounts.schemas import LoginIn, RegisterIn
from service.core.config import Settings
from service.core.errors import ProblemError, conflict


async def register(settings: Settings, data: RegisterIn) -> User:
    user = User(
        email=data.email.lower(),
        password_hash=await hash_password(settings, data.password),
        display_name=data.display_name,
        roles=data.roles,
    )
    try:
        await user.insert()
    except pymongo.errors.DuplicateKeyError:
        raise conflict("an account with this email already exists") from None
    return user


INVALID_LOGIN = ProblemError(
    401, "invalid email or password", headers={"WWW-Authenticate": "Bearer"}
)


async def authenticate(settings: Settings, data: LoginIn) -> User:
    """The user for these credentials; the same error, in the same time, for either miss."""
    user = await User.find_one(User.email == data.email.lower())
    if user is None or user.erased_at is not None:
        await burn_time(settings, data.password)
        raise INVALID_LOGIN
    if not await verify_password(settings, user.password_hash, data.password):
        raise INVALID_LOGIN
    if needs_rehash(settings, user.password_hash):
        # Cost parameters changed since this hash was made: upgrade it while we know the password.
        new_hash = await hash_password(settings, data.password)
        await User.get_motor_collection().update_one(
            {"_id": user.id, "password_hash": user.password_hash},
            {"$set": {"password_hash": new_hash, "updated_at": utcnow()}},
        )
        user.password_hash = new_hash
    return user
