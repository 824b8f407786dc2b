"""Migrations: ordered, reversible, idempotent, with their state in Mongo."""

from __future__ import annotations

import uuid
from typing import Any

import elasticsearch
import pytest
from typer.testing import CliRunner

from documents import ALL_DOCUMENTS
from indexers.aliases import alias_targets
from migrations import MIGRATIONS, Migration, MigrationContext, MigrationError, down, status, up
from migrations.cli import render_status
from migrations.indexes import collection_name, declared_indexes, index_name
from migrations.runner import STATE


async def snapshot(ctx: MigrationContext) -> dict[str, Any]:
    """index_information of every collection the documents declare, plus the state collection,
    plus the search alias's mapping (its concrete index name carries a timestamp)."""
    names = sorted({collection_name(d) for d in ALL_DOCUMENTS} | {STATE})
    snap: dict[str, Any] = {name: await ctx.db[name].index_information() for name in names}
    targets = await alias_targets(ctx.es, ctx.index_prefix)
    snap["es:alias_targets"] = len(targets)
    if targets:
        snap["es:mapping"] = (await ctx.es.indices.get_mapping(index=targets[0])).body[targets[0]][
            "mappings"
        ]
    return snap


def declared() -> dict[str, set[str]]:
    return {collection_name(d): {index_name(m) for m in declared_indexes(d)} for d in ALL_DOCUMENTS}


class Marker(Migration):
    """A real second migration for ordering tests: inserts and removes a document."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"marker {name}"

    async def up(self, ctx: MigrationContext) -> None:
        await ctx.db["markers"].update_one({"_id": self.name}, {"$set": {"n": 1}}, upsert=True)

    async def down(self, ctx: MigrationContext) -> None:
        await ctx.db["markers"].delete_one({"_id": self.name})


async def test_up_down_up_leaves_the_same_indexes(ctx: MigrationContext) -> None:
    empty = await snapshot(ctx)
    assert await up(ctx) == [m.name for m in MIGRATIONS]
    first = await snapshot(ctx)
    for coll, names in declared().items():
        assert names <= set(first[coll]), (coll, names - set(first[coll]))
    assert first[STATE]["name_unique"]["unique"] is True

    assert await down(ctx, steps=len(MIGRATIONS)) == [m.name for m in reversed(MIGRATIONS)]
    after_down = await snapshot(ctx)
    for coll, names in declared().items():
        if coll != STATE:  # the runner keeps its own state index
            assert not names & set(after_down[coll]), coll
            assert set(after_down[coll]) <= {"_id_"}
    assert all(v == {} for k, v in empty.items() if k not in (STATE, "es:alias_targets"))
    assert empty["es:alias_targets"] == after_down["es:alias_targets"] == 0
    assert first["es:alias_targets"] == 1
    assert await ctx.db[STATE].count_documents({}) == 0

    assert await up(ctx) == [m.name for m in MIGRATIONS]
    assert await snapshot(ctx) == first


async def test_second_up_is_a_no_op(ctx: MigrationContext) -> None:
    await up(ctx)
    before = await snapshot(ctx)
    assert await up(ctx) == []
    assert await snapshot(ctx) == before
    assert await ctx.db[STATE].count_documents({}) == len(MIGRATIONS)


async def test_down_of_unapplied_migrations_is_a_no_op(ctx: MigrationContext) -> None:
    migrations = [*MIGRATIONS, Marker("9001_marker"), Marker("9002_marker")]
    assert await down(ctx, steps=5, migrations=migrations) == []
    assert await ctx.db[STATE].count_documents({}) == 0

    # Apply up to the first marker: reverting one step skips the unapplied 9002.
    await up(ctx, to="9001_marker", migrations=migrations)
    assert await ctx.db["markers"].count_documents({}) == 1
    assert await down(ctx, steps=1, migrations=migrations) == ["9001_marker"]
    assert await ctx.db["markers"].count_documents({}) == 0
    states = {s.name: s.status for s in await status(ctx, migrations)}
    assert states == {
        **{m.name: "applied" for m in MIGRATIONS},
        "9001_marker": "pending",
        "9002_marker": "pending",
    }


async def test_status_output(ctx: MigrationContext) -> None:
    migrations = [*MIGRATIONS, Marker("9001_marker")]
    before = await status(ctx, migrations)
    assert [(s.name, s.status) for s in before] == [(m.name, "pending") for m in migrations]

    await up(ctx, to=MIGRATIONS[-1].name, migrations=migrations)
    after = await status(ctx, migrations)
    assert [s.status for s in after] == ["applied"] * len(MIGRATIONS) + ["pending"]
    assert all(s.applied_at is not None for s in after[: len(MIGRATIONS)])

    # A record this code does not know (applied by newer code) shows up, and blocks `down`.
    await ctx.db[STATE].insert_one(
        {"name": "9999_from_the_future", "applied_at": after[0].applied_at}
    )
    listed = {s.name: s.status for s in await status(ctx, migrations)}
    assert listed["9999_from_the_future"] == "unknown"
    with pytest.raises(MigrationError):
        await down(ctx, migrations=migrations)

    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(render_status(await status(ctx, migrations)))
    text = console.export_text()
    assert "0001_collection_indexes" in text and "applied" in text
    assert "9001_marker" in text and "pending" in text and "unknown" in text


async def test_up_to_an_unknown_name_is_refused(ctx: MigrationContext) -> None:
    with pytest.raises(MigrationError, match="unknown migration"):
        await up(ctx, to="0000_nope")
    assert await ctx.db[STATE].count_documents({}) == 0


def test_cli_on_the_embedded_store(monkeypatch: pytest.MonkeyPatch, es_url: str) -> None:
    from service.cli import app
    from service.core.config import get_settings

    for var in ("MONGODB_URL", "ELASTICSEARCH_URL"):
        monkeypatch.delenv(var, raising=False)
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate", "status"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "embedded" in result.output
        assert "0001_collection_indexes" in result.output
        assert f"{len(MIGRATIONS)} pending" in result.output

        # Without Elasticsearch the Mongo step applies and the search step says what it needs.
        result = runner.invoke(app, ["migrate", "up"], env={"COLUMNS": "200"})
        assert result.exit_code == 1, result.output
        assert "ELASTICSEARCH_URL" in result.output

        get_settings.cache_clear()
        env = {
            "COLUMNS": "200",
            "ELASTICSEARCH_URL": es_url,
            "ELASTICSEARCH_INDEX_PREFIX": prefix,
        }
        result = runner.invoke(app, ["migrate", "up"], env=env)
        assert result.exit_code == 0, result.output
        assert "applied 0001_collection_indexes" in result.output
        assert "applied 0002_search_index" in result.output
        assert "applied 0003_search_booking_terms" in result.output
        assert "applied 0004_discovery_indexes" in result.output
        assert "applied 0005_fx_tables" in result.output
        assert "applied 0006_search_fx_figures" in result.output
        result = runner.invoke(app, ["migrate", "down", "--steps", "4"], env=env)
        assert result.exit_code == 0, result.output
        assert "nothing to revert" in result.output  # each command gets a fresh embedded store
    finally:
        get_settings.cache_clear()
        es = elasticsearch.Elasticsearch(es_url)
        for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True).body:
            es.indices.delete(index=name)
        es.close()


async def test_migrations_create_what_the_embedded_boot_creates(ctx: MigrationContext) -> None:
    """The embedded store gets its indexes from init_beanie at boot, real deployments from
    `migrate up`: both must end with the same indexes (so nothing declared is missed, e.g.
    an index Beanie would derive from a field annotation)."""
    from beanie import init_beanie
    from mongomock_motor import AsyncMongoMockClient

    booted = AsyncMongoMockClient(tz_aware=True)["booted"]
    await init_beanie(database=booted, document_models=ALL_DOCUMENTS)
    await up(ctx)

    def shape(info: dict[str, Any]) -> dict[str, Any]:
        return {
            n: ([tuple(k) for k in i["key"]], bool(i.get("unique")), i.get("expireAfterSeconds"))
            for n, i in info.items()
        }

    for doc in ALL_DOCUMENTS:
        name = collection_name(doc)
        expected = shape(await booted[name].index_information())
        assert shape(await ctx.db[name].index_information()) == expected, name


async def test_added_search_fields_reach_an_index_made_before_them(ctx: MigrationContext) -> None:
    """0003 puts instant_book/min_nights on a live index built from the older mapping, so the
    strict mapping does not refuse the indexer's documents that carry them."""
    from indexers.aliases import current_index
    from indexers.definition import MAPPINGS, SETTINGS, F

    old = {k: v for k, v in MAPPINGS.items() if k != "properties"}
    old["properties"] = {
        k: v for k, v in MAPPINGS["properties"].items() if k not in (F.INSTANT_BOOK, F.MIN_NIGHTS)
    }
    name = f"{ctx.index_prefix}listings-1-19700101000000000000"
    await ctx.es.indices.create(
        index=name, mappings=old, settings=SETTINGS, aliases={f"{ctx.index_prefix}listings": {}}
    )
    assert await current_index(ctx.es, ctx.index_prefix) == name
    await up(ctx)
    props = (await ctx.es.indices.get_mapping(index=name)).body[name]["mappings"]["properties"]
    assert props[F.INSTANT_BOOK] == {"type": "boolean"}
    assert props[F.MIN_NIGHTS] == {"type": "integer"}
