"""PUT /v1/admin/fx, GET /v1/fx and `marketplace fx set`: versions, validation, audit."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from documents import AuditEvent
from documents.fx import FxTable
from service import audit
from service.fx import service as fx_service
from service.fx.cli import _pairs
from service.fx.service import set_table
from tests.conftest import Account

pytestmark = pytest.mark.stores

TABLE = {"base": "EUR", "rates": {"USD": "1.0832", "KRW": "1456.2"}}


async def test_put_then_get_with_versions_and_audit(
    client: httpx.AsyncClient, admin: Account
) -> None:
    assert (await client.get("/v1/fx")).status_code == 404
    r = await client.put("/v1/admin/fx", json=TABLE, headers=admin.headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["version"], first["base"], first["rates"]) == (1, "EUR", TABLE["rates"])
    assert first["updated_at"]
    again = {"base": "EUR", "rates": {"USD": "1.09", "BHD": "0.4105"}}
    second = (await client.put("/v1/admin/fx", json=again, headers=admin.headers)).json()
    assert second["version"] == 2 and second["rates"] == again["rates"]
    shown = (await client.get("/v1/fx")).json()
    assert shown == second
    events = await AuditEvent.find(AuditEvent.action == audit.FX_RATES_SET).to_list()
    assert [(e.actor_id, e.subject_id) for e in events] == [(admin.id, "1"), (admin.id, "2")]
    assert events[1].data == {"base": "EUR", "rates": {"BHD": "0.4105", "USD": "1.09"}}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"base": "EUR", "rates": {"KRW": "-3"}}, ["rates", "KRW"]),
        ({"base": "EUR", "rates": {"KRW": "0"}}, ["rates", "KRW"]),
        ({"base": "EUR", "rates": {"KRW": "1e3"}}, ["rates", "KRW"]),
        ({"base": "EUR", "rates": {"KRW": 1456.2}}, ["rates", "KRW"]),
        ({"base": "EUR", "rates": {"ZZZ": "1.5"}}, ["rates", "ZZZ"]),
        ({"base": "EUR", "rates": {"usd": "1.5"}}, ["rates", "usd"]),
        ({"base": "EUR", "rates": {"EUR": "1"}}, ["rates", "EUR"]),
        ({"base": "EURO", "rates": {"USD": "1.5"}}, ["base"]),
        ({"base": "EUR", "rates": {}}, ["rates"]),
    ],
)
async def test_bad_tables_are_422_naming_the_field(
    client: httpx.AsyncClient, admin: Account, body: dict, loc: list[str]
) -> None:
    r = await client.put("/v1/admin/fx", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert loc in [e["loc"][: len(loc)] for e in r.json()["errors"]], r.json()
    assert await FxTable.count() == 0


async def test_racing_writers_never_share_a_version(client: httpx.AsyncClient) -> None:
    rates = [{"USD": f"1.{i:04d}"} for i in range(1, 7)]
    stored = await asyncio.gather(
        *(set_table("racer", base="EUR", rates=r) for r in rates), return_exceptions=True
    )
    won = [t for t in stored if isinstance(t, FxTable)]
    lost = [e for e in stored if not isinstance(e, FxTable)]
    # Each writer either got a version of its own or a 409 after its retries.
    assert all(getattr(e, "status", None) == 409 for e in lost), lost
    versions = sorted(t.version for t in won)
    assert versions == list(range(1, len(won) + 1))
    assert await FxTable.count() == len(won)


async def test_searches_share_one_read_of_an_expired_table(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_table("test", base="EUR", rates={"USD": "1.0832"})
    reads = 0
    real = fx_service.current_rates

    async def counted() -> object:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)  # a read slow enough for the others to arrive meanwhile
        return await real()

    monkeypatch.setattr(fx_service, "current_rates", counted)
    monkeypatch.setattr(fx_service, "_cache", None)  # expired
    got = await asyncio.gather(*(fx_service.cached_rates() for _ in range(32)))
    assert reads == 1
    assert {r.version for r in got if r is not None} == {1} and None not in got
    # A new table is read once the entry expires again.
    await set_table("test", base="EUR", rates={"USD": "1.09"})
    monkeypatch.setattr(fx_service, "_cache", None)
    assert (await fx_service.cached_rates()).version == 2  # type: ignore[union-attr]
    assert reads == 2


def test_cli_pairs_parse_and_refuse() -> None:
    assert _pairs(["USD=1.0832", "KRW=1456.2"]) == {"USD": "1.0832", "KRW": "1456.2"}
    with pytest.raises(Exception, match="CODE=RATE"):
        _pairs(["USD"])


def test_cli_sets_the_table_on_the_embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.cli import app
    from service.core.config import get_settings

    monkeypatch.delenv("MONGODB_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["fx", "set", "EUR", "USD=1.0832", "KRW=1456.2"])
        assert result.exit_code == 0, result.output
        assert '"version":1' in result.output and '"KRW":"1456.2"' in result.output
        bad = runner.invoke(app, ["fx", "set", "EUR", "KRW=-1"])
        assert bad.exit_code != 0 and "rates.KRW" in bad.output
    finally:
        get_settings.cache_clear()
