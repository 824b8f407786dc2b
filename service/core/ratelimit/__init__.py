"""Redis rate limits: a GCRA limiter per route class, and the login brute-force guard."""

from service.core.ratelimit.limiter import Decision, Limiter, RouteClass

__all__ = ["Decision", "Limiter", "RouteClass"]
