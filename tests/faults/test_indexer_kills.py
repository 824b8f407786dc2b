"""The indexer killed again and again while the API takes writes: after a final restart,
nothing is missing or stale. (tests/indexers/test_recovery.py covers one crash before and after
a flush in detail; this is the repeated, mixed version under HTTP write load.)"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch

from indexers.definition import alias_name
from indexers.projection import IndexOp
from indexers.rebuild import verify
from indexers.runner import Indexer
from indexers.writer import BulkWriter, WriteStats
from service.core.config import Settings
from tests.conftest import Account, listing_body

MIN_LIVE = 5  # the load never closes or deletes below this many searchable listings


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
    closed: set[str] = set()
    for i in range(rounds):
        roll = rng.random()
        if roll < 0.15 or not ids:
            r = await client.post(
                "/v1/listings", json=listing_body(title=f"load {i}"), headers=host.headers
            )
            assert r.status_code == 201, r.text
            lid = r.json()["id"]
            r = await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
            assert r.status_code == 200, r.text
            ids.append(lid)
            continue
        lid = rng.choice(ids)
        action = (
            "patch" if roll < 0.7 else rng.choice(["close", "publish"]) if roll < 0.85 else "delete"
        )
        if action in ("close", "delete") and len(set(ids) - closed - {lid}) < MIN_LIVE:
            action = "patch"  # keep some listings searchable: a verify of nothing proves nothing
        if action == "patch":
            body = {"price": {"amount": rng.randint(1000, 90000), "currency": "EUR"}}
            await client.patch(f"/v1/listings/{lid}", json=body, headers=host.headers)
        elif action == "delete":
            await client.delete(f"/v1/listings/{lid}", headers=host.headers)
            ids.remove(lid)
            closed.discard(lid)
        else:
            await client.post(f"/v1/listings/{lid}/{action}", headers=host.headers)
            (closed.add if action == "close" else closed.discard)(lid)
        if i % 4 == 0:
            await asyncio.sleep(0.005)


@pytest.mark.stores
async def test_indexer_killed_repeatedly_under_write_load(
    app: Any, client: httpx.AsyncClient, host: Account, settings: Settings
) -> None:
    # Two generators: the write sequence must not depend on how the kill loop interleaves with
    # it. With one shared generator the load sometimes deleted every listing it had made, and
    # verify then checked nothing (drift.checked == 0).
    rng = random.Random(20261122)
    load_rng = random.Random(20261123)
    prefix = settings.elasticsearch_index_prefix
    cfg = settings.model_copy(update={"indexer_batch_size": 8})
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    ids: list[str] = []
    try:
        load = asyncio.create_task(_write_load(client, host, ids, 160, load_rng))
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
        assert drift.checked >= MIN_LIVE
        assert not drift.missing, drift.missing
        assert not drift.stale, drift.stale
        assert not drift.extra, drift.extra
    finally:
        await es.close()
