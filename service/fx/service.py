"""The exchange-rate table: read the current version, write the next one (audited).

Versions are assigned by inserting `latest + 1` under a unique index: of two writers racing
for one version exactly one insert succeeds, and the other retries on top of it, so the
history never holds two tables with one version.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import pymongo
from pymongo.errors import DuplicateKeyError

from documents.fx import FxTable, Rates
from documents.values import utcnow
from service import audit
from service.core.errors import conflict, invalid

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 5


def _millis(value: datetime) -> datetime:
    # BSON dates hold milliseconds: the PUT answer must equal what GET reads back.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


async def current() -> FxTable | None:
    """The newest table (None before the first PUT)."""
    return await FxTable.find_all().sort([("version", pymongo.DESCENDING)]).first_or_none()


async def current_rates() -> Rates | None:
    table = await current()
    return table.rates_of() if table is not None else None


# Searches read the table on every request; within a process it is read from Mongo at most
# once a second (a rate change still reaches search within the 5 s it may take). Keyed by the
# collection object, so a process that re-initialises its database never sees another's.
CACHE_TTL_S = 1.0
_cache: tuple[object, float, Rates | None] | None = None
# The one read in flight: when the entry expires under load, every search waiting on it shares
# that read instead of each sending its own (32 concurrent searches were 32 Mongo reads a
# second per process).
_reading: tuple[object, asyncio.Task[Rates | None]] | None = None


async def _read(coll: object) -> Rates | None:
    global _cache
    rates = await current_rates()
    known = _cache[2] if _cache is not None and _cache[0] is coll else None
    if known is not None and rates is not None and known.version == rates.version:
        # Versions are written once (a unique index): the same table. Keeping the object keeps
        # what searches memoised on it (conversion ratios, converted bounds).
        rates = known
    _cache = (coll, time.monotonic(), rates)
    return rates


async def cached_rates() -> Rates | None:
    """The current table as search converts with it (at most CACHE_TTL_S old)."""
    global _reading
    coll = FxTable.get_motor_collection()
    if _cache is not None and _cache[0] is coll and time.monotonic() - _cache[1] < CACHE_TTL_S:
        return _cache[2]
    loop = asyncio.get_running_loop()
    if _reading is None or _reading[0] is not coll or _reading[1].done():
        _reading = (coll, loop.create_task(_read(coll)))
    elif _reading[1].get_loop() is not loop:  # another event loop's read (tests run many)
        return await _read(coll)
    # Shielded: a search that is cancelled does not cancel the read the others wait on.
    return await asyncio.shield(_reading[1])


async def current_version() -> int | None:
    """The rate table version search uses now: what a cache of search results must fold into
    its key (display prices, currency bounds and sorts change with it)."""
    rates = await cached_rates()
    return rates.version if rates is not None else None


async def set_table(
    actor_id: str | None, *, base: str, rates: dict[str, str], ip: str | None = None
) -> FxTable:
    """Store `rates` (1 base = rate units) as the next version; 409 if the race is lost
    `WRITE_ATTEMPTS` times in a row."""
    if base in rates:
        raise invalid(["rates", base], "the base is 1 by definition; leave it out")
    for _ in range(WRITE_ATTEMPTS):
        latest = await current()
        table = FxTable(
            version=(latest.version if latest is not None else 0) + 1,
            base=base,
            rates=dict(sorted(rates.items())),
            updated_at=_millis(utcnow()),
            updated_by=actor_id,
        )
        try:
            await table.insert()
        except DuplicateKeyError:
            log.info("fx: version %s taken by a concurrent write; retrying", table.version)
            continue
        global _cache
        _cache = None  # this process answers with the new table at once
        await audit.record(
            audit.FX_RATES_SET,
            actor_id=actor_id,
            subject_id=str(table.version),
            ip=ip,
            base=base,
            rates=table.rates,
        )
        return table
    raise conflict("the exchange-rate table changed concurrently; try again")
