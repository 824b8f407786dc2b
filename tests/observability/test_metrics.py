"""/metrics: request counts and latency by route template and status, rate-limit rejections,
backing-service call latencies."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import METRICS, Account
from tests.hardening.conftest import AppFactory


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and want <= set(ls))


async def test_request_metrics_by_route_template_and_status(
    client: httpx.AsyncClient, guest: Account
) -> None:
    before = (await client.get("/metrics", headers=METRICS)).text
    route = "/v1/listings/{listing_id}"
    for oid in ("0123456789abcdef01234567", "aaaaaaaaaaaaaaaaaaaaaaaa"):
        assert (await client.get(f"/v1/listings/{oid}")).status_code == 404
    assert (await client.get("/v1/me", headers=guest.headers)).status_code == 200
    assert (await client.get("/no/such/route/abc")).status_code == 404
    after = (await client.get("/metrics", headers=METRICS)).text
    assert after.startswith("#") or "http_requests_total" in after

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", method="GET", route=route, status="404") == 2
    assert delta("http_requests_total", method="GET", route="/v1/me", status="200") == 1
    assert delta("http_requests_total", route="unmatched", status="404") == 1
    assert (
        delta("http_request_duration_seconds_count", method="GET", route=route, status="404") == 2
    )
    # Raw ids never become label values.
    assert "0123456789abcdef01234567" not in after
    # Session lookups and the limiter went to Redis, timed per command.
    assert value(after, "backend_call_duration_seconds_count", service="redis") > 0


async def test_rate_limit_rejections_and_es_latency_are_counted(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=2) as (_, client):
        before = (await client.get("/metrics", headers=METRICS)).text
        await client.get("/readyz")  # pings Elasticsearch through the instrumented client
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 429
        async with app_with(rate_limit_read=1000) as (_, other):
            after = (await other.get("/metrics", headers=METRICS)).text
    rejected = value(after, "ratelimit_rejections_total", route_class="read") - value(
        before, "ratelimit_rejections_total", route_class="read"
    )
    assert rejected == 1
    assert value(after, "backend_call_duration_seconds_count", service="elasticsearch") > 0
    # The indexer publishes its lag in the same registry (tests/indexers checks its values).
    assert "# TYPE indexer_lag_seconds gauge" in after
    assert re.search(r'http_request_duration_seconds_bucket\{.*le="0.005"', after)
