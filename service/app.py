"""The FastAPI application: wiring of settings, clients, routers and background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from indexers.clients import make_es
from indexers.tasks import cancel_and_wait, stop_if_cancelled
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
from service.fx.router import router as fx_router
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

# How long the shutdown waits for its background tasks: the embedded indexer's final flush
# is bounded by two 10 s timeouts; a task that has not ended by then dies with the process.
SHUTDOWN_GRACE_S = 30.0

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
    fx_router,
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
        stop_if_cancelled()  # a cancel swallowed mid-sweep (see indexers.tasks) stops it here
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
        state.background.append(asyncio.create_task(run_sweeper(state), name="booking-sweeper"))
    if settings.run_alerts:  # saved-search alerts; one worker per tick (Redis lock)
        state.background.append(
            asyncio.create_task(run_alert_loop(state), name="saved-search-alerts")
        )
    try:
        yield
    finally:
        for task in await cancel_and_wait(state.background, SHUTDOWN_GRACE_S):
            log.error(
                "background task %s did not stop within %.0f s", task.get_name(), SHUTDOWN_GRACE_S
            )
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
    install_web(app, settings)
    return app


# -- the reference web client (web/, built by `scripts/dev setup` into web/dist) -------------

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"


def web_csp(settings: Settings) -> str:
    """Everything from this origin only; images also from the configured tile server. No inline
    script or style: the client is ES modules and stylesheets, so an injected tag cannot run."""
    images = "'self' data:"
    if settings.web_tile_url:
        parts = urlsplit(settings.web_tile_url)
        # `{s}.tile.example` (Leaflet's subdomain template) is any subdomain of it.
        images += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return (
        f"default-src 'self'; img-src {images}; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


class WebFiles(StaticFiles):
    """web/dist with the client's security headers; a clear 404 while it is not built."""

    def __init__(self, directory: Path, csp: str) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not (Path(str(self.directory)) / "index.html").is_file():
            raise HTTPException(404, "the web client is not built: run `scripts/dev setup`")
        return await super().get_response(path, scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
            await send(message)

        await super().__call__(scope, receive, with_headers)


def install_web(app: FastAPI, settings: Settings) -> None:
    """`/app/`: static files only, no server rendering; outside the API's schema and contract."""

    @app.get("/app", include_in_schema=False)
    async def web_root() -> RedirectResponse:
        # A relative Location: never built from the Host header.
        return RedirectResponse("/app/", status_code=308)

    @app.get("/app/config.json", include_in_schema=False)
    async def web_config() -> dict[str, str]:
        """What a deployment configures for the page (the tile server), read at page start."""
        return {
            "tile_url": settings.web_tile_url,
            "tile_attribution": settings.web_tile_attribution,
        }

    app.mount("/app", WebFiles(WEB_DIST, web_csp(settings)), name="web")
