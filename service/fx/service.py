"""The exchange-rate table: read the current version, write the next one (audited).

Versions are assigned by inserting `latest + 1` under a unique index: of two writers racing
for one version exactly one insert succeeds, and the other retries on top of it, so the
history never holds two tables with one version.
"""

from __future__ import annotations

import logging
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
