"""The exchange-rate table as the projection sees it, and re-projection when it changes.

Search documents carry base-currency sort figures (`price_base`, `stay_base.n<k>`) computed
with one version of the table (`fx_version`). The process's projection uses the table last
loaded here; the indexer loop polls for a newer version, and on one re-writes every
searchable listing through its normal writer. Writes use `external_gte` on the listing's
version, so the re-projection of an unchanged listing replaces the old figures; the loop
flushes what it buffered (projected with the old table) before, so nothing older lands after.
"""

from __future__ import annotations

import logging

import pymongo
from elasticsearch import AsyncElasticsearch

from documents import Listing
from documents.fx import FxTable, Rates
from indexers import fxstate, store
from indexers.definition import F
from indexers.projection import op_for_raw
from indexers.writer import BulkWriter, WriteStats

log = logging.getLogger(__name__)

SEARCHABLE = {"status": "published", "deleted_at": None}
# How often the indexer loop asks Mongo for a newer table: one indexed find_one per second;
# with the refresh interval this keeps a rate change well inside the 5 s it may take.
POLL_INTERVAL_S = 1.0

current, use = fxstate.current, fxstate.use


async def latest() -> Rates | None:
    """The newest table in Mongo."""
    coll = FxTable.get_motor_collection()
    raw = await coll.find_one({}, sort=[("version", pymongo.DESCENDING)])
    if raw is None:
        return None
    return Rates.of(int(raw["version"]), raw["base"], dict(raw.get("rates") or {}))


async def refresh() -> bool:
    """Load the newest table; True when its version differs from the one in use."""
    rates = await latest()
    used = current()
    before = used.version if used is not None else None
    after = rates.version if rates is not None else None
    use(rates)
    return before != after


async def stale_count(es: AsyncElasticsearch, index: str) -> int:
    """Indexed listings the table in use could convert whose figures come from another
    version (or none): what a re-projection would change."""
    rates = current()
    if rates is None:
        return 0
    query = {
        "bool": {
            "filter": [{"terms": {F.PRICE_CURRENCY: sorted(rates.table)}}],
            "must_not": [{"term": {F.FX_VERSION: rates.version}}],
        }
    }
    resp = await es.count(index=index, query=query)
    return int(resp["count"])


async def reproject(writer: BulkWriter, chunk_size: int = 500) -> WriteStats:
    """Write every searchable listing again with the table in use."""
    stats = WriteStats()
    coll = Listing.get_motor_collection()
    async for ops in store.snapshot(coll, SEARCHABLE, chunk_size, op_for_raw):
        stats.add(await writer.write(ops))
    used = current()
    version = used.version if used is not None else None
    log.info("fx: re-projected %d listings with rate table v%s", stats.indexed, version)
    return stats
