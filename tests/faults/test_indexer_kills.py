"""The indexer killed again and again while the API takes writes: after a final restart,
nothing is missing or stale. (tests/indexers/test_recovery.py covers one crash before and after
a flush in detail; this is the repeated, mixed version under HTTP write load.)"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import httpx
from elasticsearch import AsyncElasticsearch

from indexers.definition import alias_name
from indexers.projection import IndexOp
from indexers.rebuild import verify
from indexers.runner import Indexer
from indexers.writer import BulkWriter, WriteStats
from service.core.config import Settings
from tests.conftest import Account, listing_body


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the indexer catches it."""


class DyingWriter(BulkWriter):
    """Dies on its n-th batch, before sending it or after ES acknowledged it (no checkpoint)."""

    def __init__(self, *args: Any, die_on: int, after_ack: bool, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.calls = 0
        self.die_on = die_on
        self.after_ack = after_ack

    async def write(self, ops: Sequence[IndexOp], **kw: Any) -> WriteStats:
        self.calls += 1
        if self.calls == self.die_on and not self.after_ack:
            raise Killed
        stats = await super().write(ops, **kw)
        if self.calls == self.die_on:
            raise Killed
        return stats


async def _write_load(
    client: httpx.AsyncClient, host: Account, ids: list[str], rounds: int, rng: random.Random
) -> None:
    for i in range(rounds):
        roll = rng.random()
        if roll < 0.15 or not ids:
            r = await client.post(
                "/v1/listings", json=listing_body(title=f"load {i}"), headers=host.headers
            )
            lid = r.json()["id"]
            await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
            ids.append(lid)
            continue
        lid = rng.choice(ids)
        if roll < 0.7:
            body = {"price": {"amount": rng.randint(1000, 90000), "currency": "EUR"}}
            await client.patch(f"/v1/listings/{lid}", json=body, headers=host.headers)
        elif roll < 0.85:
            action = rng.choice(["close", "publish"])
            await client.post(f"/v1/listings/{lid}/{action}", headers=host.headers)
        else:
            await client.delete(f"/v1/listings/{lid}", headers=host.headers)
            ids.remove(lid)
        if i % 4 == 0:
            await asyncio.sleep(0.005)


async def test_indexer_killed_repeatedly_under_write_load(
    app: Any, client: httpx.AsyncClient, host: Account, settings: Settings
) -> None:
    rng = random.Random(20261122)
    prefix = settings.elasticsearch_index_prefix
    cfg = settings.model_copy(update={"indexer_batch_size": 8})
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    ids: list[str] = []
    try:
        load = asyncio.create_task(_write_load(client, host, ids, 160, rng))
        kills = hard_kills = 0
        while not load.done() and kills < 12:
            mode = rng.choice(["die_before", "die_after", "cancel"])
            writer = DyingWriter(
                es,
                alias_name(prefix),
                prefix=prefix,
                die_on=rng.randint(1, 3) if mode != "cancel" else 10**9,
                after_ack=mode == "die_after",
            )
            task = asyncio.create_task(Indexer.polling(es, cfg, writer=writer).run())
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            task.cancel()  # a no-op when the writer already killed it
            try:
                await task
            except Killed:
                hard_kills += 1
            except asyncio.CancelledError:
                pass
            kills += 1
        await load
        assert kills >= 3 and hard_kills >= 1
        await Indexer.polling(es, cfg).drain()  # the restart after the last kill
        drift = await verify(es, prefix)
        assert drift.checked >= 1
        assert not drift.missing, drift.missing
        assert not drift.stale, drift.stale
        assert not drift.extra, drift.extra
    finally:
        await es.close()
