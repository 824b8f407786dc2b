"""Every route handler and dependency is a coroutine function.

FastAPI runs a plain `def` handler or dependency in its thread pool: a thread hop per request
for each one, and a pool of 40 threads that a burst queues behind. Search had one (the search
cache dependency) on its hot path; this keeps the next one out."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.app import create_app
from service.core.config import Settings


def _is_async(call: Any) -> bool:
    if inspect.isroutine(call) or inspect.isclass(call):  # a class dependency is called in a thread
        return inspect.iscoroutinefunction(call)
    return inspect.iscoroutinefunction(type(call).__call__)  # an instance with async __call__


def _sync_dependencies(dependant: Dependant) -> list[str]:
    found: list[str] = []
    for sub in dependant.dependencies:
        if sub.call is not None and not _is_async(sub.call):
            found.append(getattr(sub.call, "__qualname__", repr(sub.call)))
        found += _sync_dependencies(sub)
    return found


def _api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # Included routers (FastAPI wraps each; `original_router` is the APIRouter itself).
        inner = getattr(route, "original_router", route)
        if inner is not route or hasattr(route, "routes"):
            yield from _api_routes(getattr(inner, "routes", []))


def test_no_handler_or_dependency_runs_in_the_thread_pool() -> None:
    app = create_app(Settings())
    routes = list(_api_routes(app.routes))
    assert len(routes) > 50  # the whole API, not an empty app
    offenders = {
        f"{sorted(r.methods)[0]} {r.path}": found
        for r in routes
        if (
            found := _sync_dependencies(r.dependant)
            + ([] if _is_async(r.endpoint) else ["handler"])
        )
    }
    assert offenders == {}
