"""Typed request dependencies: settings, backing clients, the caller.

All are `async def`: FastAPI runs sync dependencies in its thread pool, a hop per dependency per
request that shows up in the search latency over raw Elasticsearch.
"""

from __future__ import annotations

from typing import Annotated, Any

from bson import ObjectId
from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Request
from redis.asyncio import Redis

from documents import Role, User
from service.core.config import Settings
from service.core.errors import ProblemError, forbidden, unauthorized, unavailable
from service.core.sessions import MAX_TOKEN_LENGTH, Session, SessionStore, token_from


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_redis(request: Request) -> Redis:
    return request.app.state.redis


async def get_es(request: Request) -> AsyncElasticsearch:
    es = request.app.state.es
    if es is None:
        raise unavailable("elasticsearch", "elasticsearch is not configured (ELASTICSEARCH_URL)")
    return es


async def get_sessions(request: Request) -> SessionStore:
    return request.app.state.sessions


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
EsDep = Annotated[AsyncElasticsearch, Depends(get_es)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]


async def get_session(
    request: Request, settings: SettingsDep, store: SessionsDep
) -> Session | None:
    cached = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    headers = request.headers
    token = token_from(
        headers.get("authorization"), headers.get("cookie"), settings.session_cookie_name
    )
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session = await store.resolve(token)
    request.state.session = session
    return session


async def get_optional_user(
    request: Request, session: Annotated[Session | None, Depends(get_session)]
) -> User | None:
    if session is None:
        return None
    if not ObjectId.is_valid(session.user_id):
        return None
    user = await User.get(ObjectId(session.user_id))
    if user is None or user.erased_at is not None:
        return None
    request.state.user_id = str(user.id)
    return user


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise unauthorized()
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentSession = Annotated[Session | None, Depends(get_session)]


def require_role(role: Role) -> Any:
    async def dep(user: CurrentUser) -> User:
        if role not in user.roles:
            raise forbidden(f"requires the {role.value} role")
        return user

    return Depends(dep)


HostUser = Annotated[User, require_role(Role.host)]
GuestUser = Annotated[User, require_role(Role.guest)]
AdminUser = Annotated[User, require_role(Role.admin)]


def parse_object_id(value: str, what: str = "resource") -> ObjectId:
    """Path ids that are not ObjectIds are simply unknown: 404, not 422."""
    if not ObjectId.is_valid(value):
        raise ProblemError(404, f"{what} not found")
    return ObjectId(value)
