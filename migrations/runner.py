"""Applies and reverts migrations in order; the applied state lives in Mongo.

Why not Beanie's own migration tool (beanie 1.30 `beanie migrate`)? It loads migration files from
a directory path and opens its own connection from a URI (so it can't run against the in-process
mongomock store), wraps each step in a transaction by default (mongomock has none), keeps state as
a single "current" pointer in `migrations_log` rather than a record per applied migration, and
creates indexes only as a side effect of `init_beanie` on the forward/backward document classes,
so a migration cannot say "these indexes are mine" and drop exactly those on the way down. Our
steps are plain coroutines over the raw database with one `AppliedMigration` record each.

Run one `migrate` at a time (docker-compose runs it as a single one-shot service); every step is
idempotent, so a crashed or repeated run is safe to re-run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from documents import AppliedMigration
from documents.values import as_utc, utcnow
from migrations.base import Migration, MigrationContext, MigrationError
from migrations.registry import MIGRATIONS

STATE = AppliedMigration.Settings.name


@dataclass(frozen=True)
class MigrationState:
    name: str
    description: str
    applied_at: datetime | None  # None: pending
    known: bool = True  # False: recorded in the database but absent from this code

    @property
    def status(self) -> str:
        if not self.known:
            return "unknown"
        return "applied" if self.applied_at else "pending"


async def _ensure_state_collection(ctx: MigrationContext) -> None:
    await ctx.db[STATE].create_index("name", unique=True, name="name_unique")


async def applied(ctx: MigrationContext) -> dict[str, datetime]:
    return {
        doc["name"]: as_utc(doc["applied_at"])
        async for doc in ctx.db[STATE].find({}, {"name": 1, "applied_at": 1})
    }


async def status(
    ctx: MigrationContext, migrations: Sequence[Migration] = MIGRATIONS
) -> list[MigrationState]:
    done = await applied(ctx)
    states = [MigrationState(m.name, m.description, done.get(m.name)) for m in migrations]
    known = {m.name for m in migrations}
    states += [
        MigrationState(name, "", at, known=False)
        for name, at in sorted(done.items())
        if name not in known
    ]
    return states


async def up(
    ctx: MigrationContext, *, to: str | None = None, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply pending migrations in order, up to and including `to`; returns the names applied."""
    names = [m.name for m in migrations]
    if to is not None and to not in names:
        raise MigrationError(f"unknown migration {to!r}; known: {', '.join(names)}")
    await _ensure_state_collection(ctx)
    done = await applied(ctx)
    ran: list[str] = []
    for migration in migrations:
        if migration.name not in done:
            await migration.up(ctx)
            # Another runner may have recorded it meanwhile; up() is idempotent.
            with contextlib.suppress(DuplicateKeyError):
                await ctx.db[STATE].insert_one({"name": migration.name, "applied_at": utcnow()})
            ran.append(migration.name)
        if migration.name == to:
            break
    return ran


async def down(
    ctx: MigrationContext, *, steps: int = 1, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Revert the last `steps` applied migrations, newest first; returns the names reverted.
    Migrations that are not applied are skipped, so reverting on a fresh database is a no-op."""
    if steps < 1:
        raise MigrationError("steps must be at least 1")
    await _ensure_state_collection(ctx)
    done = await applied(ctx)
    unknown = sorted(set(done) - {m.name for m in migrations})
    if unknown:
        # Something newer than this code was applied: reverting past it blindly could break it.
        raise MigrationError(f"database has migrations this code does not know: {unknown}")
    reverted: list[str] = []
    for migration in reversed(migrations):
        if len(reverted) == steps:
            break
        if migration.name in done:
            await migration.down(ctx)
            await ctx.db[STATE].delete_one({"name": migration.name})
            reverted.append(migration.name)
    return reverted
