"""Web client benchmark: prints ONE JSON line.

Seeds N listings (default 100 000, `--listings` for a quick run) into Elasticsearch the way
bench/search.py does, serves the app (with `web/dist` at /app/) under uvicorn, and loads the
client in Debian's chromium (`MARKETPLACE_CHROMIUM` overrides the path) with a cold cache
each time. Measured in the page with the Performance API:
  fcp_ms            first contentful paint (`paint` entry)
  first_results_ms  the client's `first-results` mark: the first page of hits is on screen
  search_sent_ms    when the page sent its search request (resource timing)
  search_api_ms     the search request's own duration (resource timing), for comparison
for an undated search and a dated one (quotes for the stay), as p50/p90 over `--rounds` loads.
Starts its own Elasticsearch node unless ELASTICSEARCH_URL is set.
Run: python -m bench.web [--listings 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, sync_playwright

from bench.common import app_settings, elasticsearch_url, pct, quiet
from bench.search import seed
from indexers.definition import alias_name

CHROMIUM = os.environ.get("MARKETPLACE_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MEASURE = """() => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const mark = performance.getEntriesByName("first-results")[0];
  const search = performance.getEntriesByType("resource")
    .filter((r) => r.name.includes("/v1/search/listings"))[0];
  return { fcp: fcp ? fcp.startTime : null, results: mark ? mark.startTime : null,
           api: search ? search.duration : null, sent: search ? search.startTime : null };
}"""


def load(browser: Browser, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(
            "() => performance.getEntriesByName('first-results').length > 0", timeout=60_000
        )
        page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0"
        )
        result: dict[str, float] = page.evaluate(MEASURE)
        return result
    finally:
        context.close()


def summarise(samples: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, name in (
        ("fcp", "fcp_ms"),
        ("sent", "search_sent_ms"),
        ("api", "search_api_ms"),
        ("results", "first_results_ms"),
    ):
        values = [s[key] for s in samples if s[key] is not None]
        out[f"{name}_p50"] = round(pct(values, 0.5), 1)
        out[f"{name}_p90"] = round(pct(values, 0.9), 1)
    return out


def main(listings: int, rounds: int) -> dict[str, Any]:
    from service.app import create_app

    quiet()
    with elasticsearch_url() as es_url:
        prefix = f"benchweb{uuid.uuid4().hex[:8]}-"
        settings = app_settings(es_url, prefix)
        app = create_app(settings)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, name="bench-web", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

        async def seeded() -> tuple[float, int]:
            es = AsyncElasticsearch(es_url, request_timeout=120)
            try:
                seconds = await seed(es, prefix, listings)
                return seconds, int((await es.count(index=alias_name(prefix)))["count"])
            finally:
                await es.close()

        async def drop() -> None:
            es = AsyncElasticsearch(es_url, request_timeout=120)
            try:
                for name in (await es.indices.get(index=f"{prefix}*")).body:
                    await es.indices.delete(index=name)
            finally:
                await es.close()

        try:
            seed_s, indexed = asyncio.run(seeded())
            base = f"http://127.0.0.1:{port}/app/"
            check_in = datetime.now(UTC).date() + timedelta(days=30)
            dated = f"{base}#/?check_in={check_in}&check_out={check_in + timedelta(days=3)}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    load(browser, base)  # warm the server's caches and Elasticsearch's
                    plain = [load(browser, base) for _ in range(rounds)]
                    quoted = [load(browser, dated) for _ in range(rounds)]
                finally:
                    browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=60)
            asyncio.run(drop())
    return {
        "bench": "web",
        "listings": listings,
        "indexed": indexed,
        "seed_s": round(seed_s, 1),
        "rounds": rounds,
        **summarise(plain),
        "dated": summarise(quoted),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.listings, args.rounds)))


if __name__ == "__main__":
    cli()
