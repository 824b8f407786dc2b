"""The request limiter: one GCRA Lua script call per check (atomic, one round trip)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from redis.asyncio import Redis

from service.core.config import Settings

GCRA_LUA = resources.files(__package__).joinpath("gcra.lua").read_text()


class RouteClass(StrEnum):
    auth = "auth"
    search = "search"
    write = "write"
    read = "read"
    webhook = "webhook"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the full budget is back
    retry_after_s: int  # 0 when allowed
    degraded: bool = False  # Redis unreachable and the class fails open

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.retry_after_s))
        return out


def budget(settings: Settings, route_class: RouteClass) -> int:
    return {
        RouteClass.auth: settings.rate_limit_auth,
        RouteClass.search: settings.rate_limit_search,
        RouteClass.write: settings.rate_limit_write,
        RouteClass.read: settings.rate_limit_read,
        RouteClass.webhook: settings.rate_limit_webhook,
    }[route_class]


def fails_open(settings: Settings, route_class: RouteClass) -> bool:
    """Auth fails closed by default (a limiter outage must not open brute force); the rest open."""
    if route_class is RouteClass.auth:
        return settings.rate_limit_fail_open_auth
    return settings.rate_limit_fail_open_reads


class Limiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.window_ms = settings.rate_limit_window_s * 1000
        self._script = redis.register_script(GCRA_LUA)

    def key(self, route_class: RouteClass, identity: str) -> str:
        return f"rl:{route_class.value}:{identity}"

    async def check(self, route_class: RouteClass, identity: str, cost: int = 1) -> Decision:
        """Spend `cost` from `identity`'s budget for this class. Raises Redis errors to the caller
        (which decides fail-open or fail-closed)."""
        limit = budget(self.settings, route_class)
        allowed, remaining, retry_ms, reset_ms = await self._script(
            keys=[self.key(route_class, identity)], args=[limit, self.window_ms, cost]
        )
        return Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=int(remaining),
            reset_s=math.ceil(int(reset_ms) / 1000),
            retry_after_s=math.ceil(int(retry_ms) / 1000),
        )

    def open_decision(self, route_class: RouteClass) -> Decision:
        """What a fail-open check reports when Redis can't be asked: the nominal budget."""
        limit = budget(self.settings, route_class)
        return Decision(True, limit, limit, self.settings.rate_limit_window_s, 0, degraded=True)
