"""One live server and one browser for every web-client test.

The server is the real app under uvicorn (a thread of the test process) on the embedded store,
seeded with the deterministic demo data (demo logins, password `demo-password`), its polling
indexer feeding the suite's Elasticsearch node, and `web/dist` (built by `scripts/dev setup`)
at `/app/`. Playwright (PyPI) drives Debian's chromium (`MARKETPLACE_CHROMIUM` overrides the
path); each test gets a fresh browser context, so cookies never leak between tests. Pages fail
their test on an uncaught script error or a Content-Security-Policy violation.

The server and the browser are package-scoped, so they end with the last test here: while
Playwright's sync API is open its event loop counts as running in this thread, and the suite's
async tests elsewhere could not start theirs. For the same reason every test here is sync."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from service.app import WEB_DIST, create_app
from tests.conftest import make_settings
from tests.services import RedisServer, free_port

CHROMIUM = os.environ.get("MARKETPLACE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DEMO_PASSWORD = "demo-password"
SEEDED_LISTINGS = 150


def _wait_indexed(app: FastAPI, url: str, deadline: float) -> int:
    """Until the embedded indexer has caught up and search shows a stable total."""
    last = -1
    while time.monotonic() < deadline:
        indexer = getattr(app.state, "indexer", None)
        if indexer is not None and indexer.source.caught_up and indexer.buffered == 0:
            total = httpx.get(f"{url}/v1/search/listings", params={"limit": 1}, timeout=30).json()[
                "total"
            ]
            if total > 0 and total == last:
                return total
            last = total
        time.sleep(1.0)  # about Elasticsearch's refresh interval
    raise AssertionError("the demo listings were not indexed in time")


@pytest.fixture(scope="package")
def web_server(redis_server: RedisServer, es_url: str) -> Iterator[dict[str, Any]]:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("web/dist is missing: run `scripts/dev setup` (npm ci and build in web/)")
    redis.Redis.from_url(redis_server.url).flushall()
    settings = make_settings(
        redis_server.url,
        es_url,
        seed_demo_listings=SEEDED_LISTINGS,
        run_embedded_indexer=True,
        rate_limit_enabled=False,
        run_alerts=False,
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="web-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        total = _wait_indexed(app, url, deadline)
        yield {"url": url, "app": app, "total": total}
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        # The shared node keeps no index of ours (an event loop runs here: the sync client).
        with Elasticsearch(es_url) as es:
            ours = es.indices.get(
                index=f"{settings.elasticsearch_index_prefix}*",
                allow_no_indices=True,
                expand_wildcards="all",
            )
            for name in ours.body:  # by name: the node refuses wildcard deletes
                es.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture(scope="package")
def web_url(web_server: dict[str, Any]) -> str:
    return str(web_server["url"])


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/dev setup` (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Client:
    """A browser context (one person's cookies) and its page, with the failures it saw."""

    def __init__(self, browser: Browser, base: str, **context: Any) -> None:
        self.base = base
        self.context: BrowserContext = browser.new_context(**context)
        self.context.set_default_timeout(20_000)
        self.page: Page = self.context.new_page()
        self.failures: list[str] = []
        self.page.on("pageerror", lambda exc: self.failures.append(f"page error: {exc}"))
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.failures.append(f"CSP: {message.text}")

    def open(self, fragment: str = "/") -> Page:
        url = f"{self.base}/app/#{fragment}"
        if self.page.url == url:  # same fragment: no hashchange, so load the page anew
            self.page.reload()
        else:
            self.page.goto(url)
        self.page.wait_for_selector("#main:not(:has(> .loading))")
        return self.page

    def sign_in(self, email: str) -> None:
        page = self.open("/signin")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#whoami:has-text('Signed in as')")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser: Browser, web_url: str) -> Iterator[Any]:
    """`people()` opens one more person's browser; all are closed and checked after the test."""
    opened: list[Client] = []

    def _open(**context: Any) -> Client:
        context.setdefault("viewport", {"width": 1280, "height": 900})
        client = Client(browser, web_url, **context)
        opened.append(client)
        return client

    yield _open
    failures = [f for c in opened for f in c.failures]
    for c in opened:
        c.close()
    assert not failures, failures
