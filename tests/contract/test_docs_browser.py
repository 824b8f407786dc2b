"""`/docs` renders in a real browser with the network closed: Swagger UI's assets come from the
app itself (fastapi-offline's bundle), never a CDN. Playwright (PyPI) drives Debian's chromium
(`scripts/dev setup` installs it); every request that leaves the test server is aborted."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from playwright.sync_api import Route, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_docs_render_offline(live_url: str, spec: dict[str, Any]) -> None:
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is missing: run `scripts/dev setup` (apt-get install chromium)")
    outside: list[str] = []

    def closed_network(route: Route) -> None:
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=False)
            context.route("**/*", closed_network)
            page = context.new_page()
            page.goto(f"{live_url}/docs", wait_until="networkidle", timeout=60_000)
            page.wait_for_selector(".opblock", timeout=30_000)
            shown = page.locator(".opblock").count()
            text = page.inner_text("body")
        finally:
            browser.close()
    operations = [
        op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)
    ]
    assert shown == len(operations), (shown, len(operations))
    for summary in ("Search published listings", "Request a booking", "Cancel a booking"):
        assert summary in text, summary
    assert not outside, f"requests left the server: {outside}"
