"""Change-stream source. Event mapping runs everywhere; the stream itself needs a server with
change streams (mongomock has no watch()): those tests run on the wire server (or MONGODB_URL)."""

from __future__ import annotations

import asyncio

import pytest
from bson import ObjectId, Timestamp
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents import IndexerCheckpoint
from documents.values import utcnow
from indexers import checkpoints
from indexers.definition import alias_name
from indexers.projection import HARD_DELETE_VERSION
from indexers.runner import build_indexer, choose_source
from indexers.sources.changestream import ChangeStreamSource, HistoryLost, change_of
from service.core.config import Settings
from service.listings.store import apply_write
from tests.indexers.helpers import insert, make_listing, oid, until_in_sync


async def test_change_events_map_to_index_ops(app: FastAPI) -> None:
    listing = make_listing(title="streamed")
    listing.id = ObjectId()
    raw = listing.model_dump(by_alias=True)
    base = {"_id": {"_data": "8200"}, "clusterTime": Timestamp(1_900_000_000, 1)}
    change = change_of({**base, "operationType": "update", "fullDocument": raw})
    assert change.op is not None and change.op.doc is not None
    assert change.op.doc["title"] == "streamed" and change.position == {"_data": "8200"}
    assert change.observed_at is not None and change.observed_at.year == 2030
    gone = change_of({**base, "operationType": "update", "fullDocument": None})
    assert gone.op is None  # looked up after a delete: the delete event follows
    deleted = change_of({**base, "operationType": "delete", "documentKey": {"_id": listing.id}})
    assert deleted.op is not None and deleted.op.is_delete
    assert deleted.op.version == HARD_DELETE_VERSION
    with pytest.raises(HistoryLost):
        change_of({**base, "operationType": "invalidate"})


async def test_auto_source_is_polling_on_the_embedded_store(
    app: FastAPI, settings: Settings
) -> None:
    assert await choose_source(settings, app.state.mongo_db) == "polling"
    forced = settings.model_copy(update={"indexer_source": "changestream"})
    assert await choose_source(forced, app.state.mongo_db) == "changestream"


@pytest.mark.realmongo
async def test_change_stream_indexes_checkpoints_and_resumes(real_app: FastAPI) -> None:
    settings: Settings = real_app.state.settings
    prefix = settings.elasticsearch_index_prefix
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        assert await choose_source(settings, real_app.state.mongo_db) == "changestream"
        indexer = await build_indexer(es, settings, real_app.state.mongo_db)
        task = asyncio.create_task(indexer.run())
        await asyncio.sleep(0.5)
        ls = await insert(*(make_listing(title=f"cs {i}") for i in range(20)))
        await apply_write(oid(ls[0]), {"$set": {"status": "closed"}})
        await until_in_sync(es, prefix)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cp = await checkpoints.load(f"{alias_name(prefix)}:changestream")
        assert cp is not None and cp.resume_token is not None
        # Changes while the indexer is down are picked up from the stored token.
        await apply_write(oid(ls[1]), {"$set": {"price.amount": 777}})
        await apply_write(oid(ls[2]), {"$set": {"deleted_at": ls[2].created_at}})
        await ls[3].delete()  # a hard delete: only the change stream sees it
        again = await build_indexer(es, settings, real_app.state.mongo_db)
        task = asyncio.create_task(again.run())
        await until_in_sync(es, prefix)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await es.close()


@pytest.mark.realmongo
async def test_lost_history_triggers_a_rebuild(real_app: FastAPI) -> None:
    settings: Settings = real_app.state.settings
    prefix = settings.elasticsearch_index_prefix
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        await insert(*(make_listing(title=f"h {i}") for i in range(10)))
        # A token the oplog cannot resume from.
        await IndexerCheckpoint.get_motor_collection().insert_one(
            {
                "name": f"{alias_name(prefix)}:changestream",
                "resume_token": {"_data": "82" + "0" * 60},
                "updated_at": utcnow(),
            }
        )
        indexer = await build_indexer(es, settings, real_app.state.mongo_db)
        # The point is the change stream's own recovery: polling would pass without one.
        assert isinstance(indexer.source, ChangeStreamSource)
        rebuilds = 0
        rebuild_after_loss = indexer.on_history_lost
        assert rebuild_after_loss is not None

        async def counted() -> None:
            nonlocal rebuilds
            rebuilds += 1
            await rebuild_after_loss()

        indexer.on_history_lost = counted
        task = asyncio.create_task(indexer.run())
        await until_in_sync(es, prefix)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert rebuilds == 1
    finally:
        await es.close()


@pytest.mark.parametrize(
    ("code", "message", "lost"),
    [
        (286, "Resume of change stream was not possible", True),  # ChangeStreamHistoryLost
        (280, "cannot resume stream", True),  # ChangeStreamFatalError
        (260, "Invalid resume token", True),  # InvalidResumeToken
        (9, "KeyString format error in resume token", True),  # FailedToParse: unreadable token
        (13, "not authorized on marketplace", False),
        # The message names the resume token, but the code says something else: not ours.
        (11600, "interrupted at shutdown while reading the resume token", False),
    ],
)
async def test_only_position_errors_count_as_history_lost(
    code: int, message: str, lost: bool
) -> None:
    from pymongo.errors import OperationFailure

    class Failing:  # the server's answer to a getMore on the stream
        async def try_next(self) -> None:
            raise OperationFailure(message, code=code)

    source = ChangeStreamSource("listings:changestream")
    source._stream = Failing()
    expected = HistoryLost if lost else OperationFailure
    with pytest.raises(expected):
        await source.next_changes(10, 0)


async def test_a_steady_trickle_is_flushed_at_the_deadline_not_at_a_full_batch(
    app: FastAPI,
) -> None:
    """Events that never stop coming must still be handed over when the batch window closes.

    The stream below always has the next event ready 5 ms later, so the source is never idle;
    a deadline checked only on idle would gather the full 500 (2.5 s of waiting)."""
    from indexers.sources.changestream import ChangeStreamSource

    listing = make_listing(title="trickle")
    listing.id = ObjectId()
    raw = listing.model_dump(by_alias=True)

    class Trickle:
        resume_token = None

        async def try_next(self) -> dict[str, object]:
            await asyncio.sleep(0.005)
            event = {"_id": {"_data": "8200"}, "operationType": "update", "fullDocument": raw}
            event["clusterTime"] = Timestamp(1_900_000_000, 1)
            return event

    source = ChangeStreamSource("listings:changestream")
    source._stream = Trickle()
    changes = await source.next_changes(500, 0.05)
    assert 1 <= len(changes) < 500
    assert not source.caught_up


@pytest.mark.realmongo
async def test_a_reopened_source_ends_the_client_of_its_old_stream(real_app: FastAPI) -> None:
    """The stream is read through a PyMongo client of its own (`store.ChangeFeed`; motor's
    thread hop per event capped the catch-up). Re-opening after a lost lease, and closing,
    must end that client, or every lease flap would leave a connection pool behind."""
    from pymongo.errors import InvalidOperation

    from indexers.runner import make_source

    source = make_source("changestream", real_app.state.settings)
    assert isinstance(source, ChangeStreamSource)
    await source.open()
    first = source._stream
    listing = make_listing(title="fed")
    await insert(listing)
    changes: list = []
    for _ in range(20):
        changes += await source.next_changes(10, 0.2)
        if changes:
            break
    assert [c.op.listing_id for c in changes if c.op is not None] == [str(listing.id)]
    assert changes[0].op is not None and changes[0].op.doc is not None
    assert changes[0].op.doc["title"] == "fed"
    await source.open()
    with pytest.raises(InvalidOperation):
        await first._client.admin.command("ping")
    second = source._stream
    await source.close()
    with pytest.raises(InvalidOperation):
        await second._client.admin.command("ping")
