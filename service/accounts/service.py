"""Registration and login, testable without HTTP."""

from __future__ import annotations

import hashlib

import pymongo.errors
from bson import ObjectId
from pymongo import ReturnDocument

from documents import Role, User
from documents.values import utcnow
from service import audit
from service.accounts.passwords import burn_time, hash_password, needs_rehash, verify_password
from service.accounts.schemas import LoginIn, RegisterIn
from service.core.config import Settings
from service.core.errors import ProblemError, conflict, not_found


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


async def authenticate(settings: Settings, data: LoginIn, ip: str | None = None) -> User:
    """The user for these credentials; the same error, in the same time, for either miss."""
    email = data.email.lower()
    user = await User.find_one(User.email == email)
    if user is None or user.erased_at is not None:
        await burn_time(settings, data.password)
        # The attempted address is kept only as a hash: strangers' emails are not our data.
        await audit.record(
            audit.LOGIN_FAILED,
            ip=ip,
            email_sha256=hashlib.sha256(email.encode()).hexdigest(),
            reason="unknown_account",
        )
        raise INVALID_LOGIN
    if not await verify_password(settings, user.password_hash, data.password):
        await audit.record(
            audit.LOGIN_FAILED, subject_id=str(user.id), ip=ip, reason="bad_password"
        )
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


async def set_roles(
    user_id: str, roles: list[Role], *, actor_id: str | None = None, ip: str | None = None
) -> User:
    """Grant/revoke roles (operators only: the API never lets users pick admin). Audited, and the
    user's sessions are kept: authorization reads roles from the user on every request."""
    if not ObjectId.is_valid(user_id):
        raise not_found("user")
    wanted = sorted({r.value for r in roles})
    raw = await User.get_motor_collection().find_one_and_update(
        {"_id": ObjectId(user_id), "erased_at": None},
        {"$set": {"roles": wanted, "updated_at": utcnow()}},
        return_document=ReturnDocument.BEFORE,
    )
    if raw is None:
        raise not_found("user")
    before = sorted(raw.get("roles", []))
    if before != wanted:
        await audit.record(
            audit.ROLES_CHANGED, actor_id=actor_id, subject_id=user_id, ip=ip,
            before=before, after=wanted,
        )  # fmt: skip
    user = await User.get(ObjectId(user_id))
    assert user is not None
    return user
