"""Server-side sessions in Redis: random 256-bit tokens, stored only as their SHA-256.

Core, not accounts: the middleware (rate-limit identity) and the auth dependencies resolve the
caller on every request; accounts creates and revokes sessions through the same store.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from service.core.config import Settings

_PREFIX = b"session:"
_USER_SET = b"user_sessions:"


MAX_TOKEN_LENGTH = 256  # longer is never one of ours: not worth a Redis round trip


def token_from(authorization: str | None, cookie: str | None, cookie_name: str) -> str | None:
    """The session token of a request, from its raw Authorization and Cookie headers.

    A non-empty Authorization header decides alone (`Bearer <token>`; any other scheme carries
    no session); without one, the session cookie does."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    if not cookie:
        return None
    prefix = cookie_name + "="
    for part in cookie.split(";"):
        part = part.strip()
        if part.startswith(prefix):
            return part[len(prefix) :].strip('"') or None
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).hexdigest().encode()


@dataclass(frozen=True)
class Session:
    user_id: str
    digest: bytes


class SessionStore:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.ttl = settings.session_ttl_s

    async def create(self, user_id: str) -> str:
        token = secrets.token_urlsafe(32)  # 256 bits of entropy
        digest = _digest(token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_PREFIX + digest, user_id.encode(), ex=self.ttl)
            pipe.sadd(_USER_SET + user_id.encode(), digest)
            pipe.expire(_USER_SET + user_id.encode(), self.ttl)
            await pipe.execute()
        return token

    async def resolve(self, token: str) -> Session | None:
        """The session for a token, sliding its expiry forward; None when unknown or expired."""
        digest = _digest(token)
        # GETEX reads and refreshes the TTL in one round trip.
        raw = await self.redis.getex(_PREFIX + digest, ex=self.ttl)
        if raw is None:
            return None
        return Session(user_id=raw.decode(), digest=digest)

    async def revoke(self, session: Session) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_PREFIX + session.digest)
            pipe.srem(_USER_SET + session.user_id.encode(), session.digest)
            await pipe.execute()

    async def revoke_all(self, user_id: str) -> int:
        key = _USER_SET + user_id.encode()
        digests = await self.redis.smembers(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            for d in digests:
                pipe.delete(_PREFIX + d)
            pipe.delete(key)
            await pipe.execute()
        return len(digests)
