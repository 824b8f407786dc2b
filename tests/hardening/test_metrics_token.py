"""/metrics is not public (finding 12): a token, or nothing at all."""

from __future__ import annotations

import httpx

from tests.conftest import METRICS, Account
from tests.hardening.conftest import AppFactory


async def test_metrics_need_the_token(client: httpx.AsyncClient, guest: Account) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=guest.headers)).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await client.get("/metrics", headers=wrong)).status_code == 401
    r = await client.get("/metrics", headers=METRICS)
    assert r.status_code == 200 and "http_requests_total" in r.text


async def test_metrics_are_off_without_a_token(app_with: AppFactory) -> None:
    async with app_with(metrics_token=None) as (_, client):
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers=METRICS)).status_code == 404
