"""The embedded default, run the way the README's first command runs it: `marketplace serve`
with no MONGODB_URL/REDIS_URL, demo data seeded, then a seeded listing fetched over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from service.seeding import DEMO_PASSWORD
from tests.services import free_port

MARKETPLACE = Path(sys.executable).parent / "marketplace"
SEED_LISTINGS = 150


@contextmanager
def serve(env_overrides: dict[str, str], boot_timeout: float) -> Iterator[str]:
    """Start `marketplace serve` on a free port; yield its base URL once /readyz answers 200;
    stop it with SIGINT (as Ctrl-C would) and require a clean exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URL", "REDIS_URL")}
    env.pop("ELASTICSEARCH_URL", None)
    env.update(
        {
            "SEED_DEMO_LISTINGS": str(SEED_LISTINGS),
            "SESSION_COOKIE_SECURE": "false",
            "LOG_LEVEL": "WARNING",
            **env_overrides,
        }
    )
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(MARKETPLACE), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group: nothing leaks if the test dies
        )

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-4000:]

        started = time.monotonic()
        try:
            deadline = started + boot_timeout
            while True:
                assert proc.poll() is None, f"serve exited early:\n{output()}"
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"not ready in {boot_timeout}s:\n{output()}"
                time.sleep(0.3)
            print(f"serve ready after {time.monotonic() - started:.1f}s")
            yield base
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    pytest.fail(f"serve did not stop on SIGINT:\n{output()}")
        assert proc.returncode == 0, f"serve exited with {proc.returncode}:\n{output()}"


def check_seeded_listing_over_http(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/docs").status_code == 200

        # A demo host logs in with the documented password and sees their seeded listings.
        r = http.post(
            "/v1/auth/login", json={"email": "host1@example.com", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        r = http.get("/v1/listings", params={"owner": "me", "limit": 100}, headers=headers)
        assert r.status_code == 200, r.text
        own = r.json()["items"]
        assert own, "host1 owns no seeded listing"
        published = [item for item in own if item["status"] == "published"]
        assert published

        # Anyone can read a seeded published listing by id.
        listing = published[0]
        r = http.get(f"/v1/listings/{listing['id']}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["title"] == listing["title"] and body["owner_id"] == listing["owner_id"]
        assert isinstance(body["price"]["amount"], int)

        # Search: the embedded indexer picks the seeded listings up (it polls, so wait a bit).
        hits: list[dict[str, Any]] = []
        total = 0
        searched = time.monotonic()
        deadline = searched + 60
        while time.monotonic() < deadline:
            r = http.get("/v1/search/listings", params={"limit": 5})
            if r.status_code == 200:
                hits, total = r.json()["hits"], r.json()["total"]
                if hits:
                    break
            time.sleep(0.5)
        print(f"search returned seeded listings after {time.monotonic() - searched:.1f}s")
        assert hits, f"search never returned the seeded listings (last: {r.status_code} {r.text})"
        assert 0 < total <= SEED_LISTINGS
        r = http.get(f"/v1/listings/{hits[0]['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "published" and r.json()["title"] == hits[0]["title"]


def test_embedded_default_serves_seeded_listings(es_url: str) -> None:
    # The session's Elasticsearch node stands in for the one `serve` would start (saves ~30 s);
    # its own index prefix keeps it apart from other tests.
    prefix = f"e2e{uuid.uuid4().hex[:8]}-"
    env = {"ELASTICSEARCH_URL": es_url, "ELASTICSEARCH_INDEX_PREFIX": prefix}
    try:
        with serve(env, boot_timeout=120) as base:
            check_seeded_listing_over_http(base)
    finally:
        es = Elasticsearch(es_url)
        for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True).body:
            es.indices.delete(index=name)
        es.close()


@pytest.mark.slow
def test_embedded_default_with_its_own_elasticsearch() -> None:
    """Exactly the README's first command: nothing configured, serve starts its own node
    (~40 s here; deselect with -m "not slow")."""
    with serve({}, boot_timeout=300) as base:
        check_seeded_listing_over_http(base)
