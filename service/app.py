"""The FastAPI application: wiring of settings, clients, routers and background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from indexers.clients import make_es
from service.accounts.router import router as accounts_router
from service.alerts.router import router as alerts_router
from service.alerts.tasks import run_alert_loop
from service.availability.router import router as availability_router
from service.bookings.router import router as bookings_router
from service.bookings.service import sweep
from service.core.config import Settings, get_settings
from service.core.errors import install_error_handlers
from service.core.middleware import install_middleware
from service.core.mongo import init_db, make_client
from service.core.openapi import install_openapi, operation_id
from service.core.openapi_shapes import name_body_shapes
from service.core.redis import make_redis
from service.core.sessions import SessionStore
from service.listings.router import router as listings_router
from service.messaging.router import router as messaging_router
from service.ops.probes import ProbeFastPath
from service.ops.router import router as ops_router
from service.payments.deps import app_provider
from service.payments.router import router as payments_router
from service.privacy.router import router as privacy_router
from service.reports.router import router as reports_router
from service.reviews.router import router as reviews_router
from service.reviews.service import repair_summaries
from service.search.lifecycle import start_search
from service.search.router import router as search_router
from service.wishlists.router import router as wishlists_router

log = logging.getLogger(__name__)

ROUTERS = [
    ops_router,
    accounts_router,
    listings_router,
    privacy_router,
    search_router,
    wishlists_router,
    alerts_router,
    availability_router,
    bookings_router,
    payments_router,
    reviews_router,
    messaging_router,
    reports_router,
]


async def run_sweeper(state: Any) -> None:
    """Background repair: expiry of requests and crash recovery of bookings (with their money),
    then review summaries a crash left behind. Each domain owns its step; this only ticks."""
    settings = state.settings
    provider = app_provider(state)
    while True:
        try:
            counts = await sweep(provider)
            repaired = await repair_summaries()
            if any(counts.values()) or repaired:
                log.info("booking sweep: %s, review summaries repaired: %d", counts, repaired)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed sweep is retried on the next tick; never kill the loop
            log.exception("booking sweep failed")
        await asyncio.sleep(settings.booking_sweep_interval_s)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    state = app.state
    state.mongo_client = make_client(settings)
    state.mongo_db = await init_db(state.mongo_client, settings)
    state.redis = make_redis(settings)
    state.sessions = SessionStore(state.redis, settings)
    state.es = make_es(settings)
    state.background = []  # long-lived tasks (embedded indexer, expiry sweeper)
    if settings.embedded_mongo and settings.seed_demo_listings:
        from service.seeding import seed_database

        report = await seed_database(
            listings=settings.seed_demo_listings,
            users=max(20, settings.seed_demo_listings // 10),
            seed=42,
            settings=settings,
        )
        log.info("embedded store seeded: %s", report)
    await start_search(state, settings)  # alias exists; embedded polling indexer
    if settings.run_booking_sweeper:  # expires requests, recovers crashed bookings
        state.background.append(asyncio.create_task(run_sweeper(state)))
    if settings.run_alerts:  # saved-search alerts; one worker per tick (Redis lock)
        state.background.append(asyncio.create_task(run_alert_loop(state)))
    try:
        yield
    finally:
        for task in state.background:
            task.cancel()
        for task in state.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if state.es is not None:
            await state.es.close()
        await state.redis.aclose()
        state.mongo_client.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Marketplace API",
        version="1.0.0",
        description="Listings, discovery, bookings and payments. Contract: docs/api.md.",
        lifespan=lifespan,
        # A slash redirect is built from the Host header (`Host: evil.example` sent the caller
        # to http://evil.example/v1/me): paths are exact, `/v1/me/` is a 404.
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served by install_openapi from local assets, never a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_middleware(app, settings)
    app.add_middleware(ProbeFastPath)  # outermost: probes never queue behind the stack
    name_body_shapes(app)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    return app
