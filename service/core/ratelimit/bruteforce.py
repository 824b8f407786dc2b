"""Login brute-force guard: failure budgets per account (email) and per client IP in Redis.

Counters are keyed by the SHA-256 of the normalised email whether or not an account exists,
so "locked" says nothing about which emails are registered.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from service.core.config import Settings
from service.core.errors import ProblemError
from service.core.metrics import LOGIN_LOCKOUTS

# Both counters in one round trip: {which is locked (2 client, 1 account, 0 none), its
# remaining TTL, the client's recent failures}.
_CHECK_LUA = """
local acct = tonumber(redis.call('GET', KEYS[1]) or '0')
local ip = tonumber(redis.call('GET', KEYS[2]) or '0')
if ip >= tonumber(ARGV[2]) then return {2, redis.call('PTTL', KEYS[2]), ip} end
if acct >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1]), ip} end
return {0, 0, ip}
"""

# A failure bumps both counters; the first failure starts the lockout window, and reaching the
# budget restarts it, so a lock lasts `login_lockout_s` from the failure that triggered it.
_FAIL_LUA = """
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 or n >= tonumber(ARGV[i]) then
    redis.call('PEXPIRE', key, ARGV[#KEYS + 1])
  end
end
return 1
"""


def _account_key(email: str) -> str:
    return "lf:acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _ip_key(ip: str) -> str:
    return f"lf:ip:{ip}"


class LoginGuard:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self._check = redis.register_script(_CHECK_LUA)
        self._fail = redis.register_script(_FAIL_LUA)

    def _budgets(self) -> list[int]:
        return [
            self.settings.login_max_failures_per_account,
            self.settings.login_max_failures_per_ip,
        ]

    async def ensure_allowed(self, email: str, ip: str) -> ProblemError | None:
        """429 when the client has used its failure budget, or when the account has and this
        client failed recently too. An account locked by failures elsewhere is no hard lock:
        the lock is returned, to raise only if the password turns out wrong. So a guesser
        spends its own budget, and never locks the owner (or an admin) out of the right
        password from an address with no recent failures."""
        which, pttl, ip_failures = await self._check(
            keys=[_account_key(email), _ip_key(ip)], args=self._budgets()
        )
        if not which:
            return None
        lock = self._locked("account" if which == 1 else "client", int(pttl))
        if which == 1 and int(ip_failures) == 0:
            return lock
        raise lock

    @staticmethod
    def _locked(scope: str, pttl: int) -> ProblemError:
        LOGIN_LOCKOUTS.labels(scope).inc()
        retry = max(1, -(-pttl // 1000)) if pttl > 0 else 1
        return ProblemError(
            429,
            f"too many failed sign-in attempts for this {scope}; try again later",
            type_="https://marketplace.dev/problems/login-locked",
            headers={"Retry-After": str(retry)},
            extra={"locked": scope},
        )

    async def record_failure(self, email: str, ip: str) -> None:
        await self._fail(
            keys=[_account_key(email), _ip_key(ip)],
            args=[*self._budgets(), self.settings.login_lockout_s * 1000],
        )

    async def record_success(self, email: str) -> None:
        # The account's slate is clean again; the IP budget keeps counting (spraying across
        # many accounts from one address stays bounded).
        await self.redis.delete(_account_key(email))
