"""The Mongo store adapter: the one module that touches motor, mongomock and PyMongo's client.

Two stores sit behind the same few functions, so the modules that read and load listings read
the same whichever one is configured:

- **MongoDB** (motor): sorted, limited queries and `insert_many`.
- **The embedded store** (mongomock-motor, in process). It answers every find by filtering and
  deep-copying the whole collection in Python (it has no indexes), which made full-collection
  reads the dominant cost of the embedded default. So here those reads look at the stored
  documents in place under the store's read lock, and bulk loads put documents straight in.

Interface (each function takes a Beanie-bound collection, `Document.get_motor_collection()`):

- `make_client(url)`, `init_documents(client, database, create_indexes=)`: connect and bind
  the Beanie documents (no `url`: a fresh embedded store).
- `count(coll, where)`: how many documents match `where`.
- `snapshot(coll, where, chunk_size, read)`: every match, a chunk at a time, as `read(raw)`.
- `scan_after(coll, position, limit)`: the next documents in (updated_at, _id) order.
- `bulk_insert(coll, docs, chunk_size)`: raw documents, stored as they are.
- `unique_indexes_deferred(colls)`: around a bulk load, rebuild unique indexes once after it.
- `ChangeFeed(url, coll, ...)`: a change stream on `coll`, read with PyMongo's asyncio client.

`where` is an equality filter on top-level fields (`{"status": "published", "deleted_at":
None}`): the same dict is a Mongo query and a predicate on stored documents, with Mongo's
meaning that `None` also matches a missing field.

Documents read in place are only lent: `read` runs under the read lock, and rows returned by
`scan_after` must be read before the caller's next await (a writer may update them after).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from beanie import init_beanie
from bson import ObjectId
from mongomock_motor import AsyncMongoMockClient, AsyncMongoMockCollection
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import AsyncMongoClient

from documents import ALL_DOCUMENTS
from documents.values import as_utc

T = TypeVar("T")
Raw = dict[str, Any]
Position = tuple[datetime, ObjectId]  # (updated_at, _id) of the last document seen

# In-place snapshot reads go this many documents at a time between yields to the event loop.
SNAPSHOT_SLICE = 100

# In-place reads of the embedded store. Tests turn them off to run, on mongomock, the query
# path a real MongoDB takes. (Bulk loads go straight in regardless.)
ENABLED = True


class DuplicateIds(ValueError):
    """A bulk load met an _id the collection already holds."""


# -- connecting ---------------------------------------------------------------------------------


# How every client here talks to a MongoDB server (motor and PyMongo alike).
CLIENT_OPTIONS: dict[str, Any] = {
    "tz_aware": True,
    "uuidRepresentation": "standard",
    "serverSelectionTimeoutMS": 3000,
}


def make_client(url: str | None) -> Any:
    """A motor client for `url`, or an in-process mongomock-motor client when there is none."""
    if not url:
        return AsyncMongoMockClient(tz_aware=True)
    return AsyncIOMotorClient(url, **CLIENT_OPTIONS)


async def init_documents(
    client: Any, database: str, *, create_indexes: bool
) -> AsyncIOMotorDatabase:
    """Bind every Beanie document to `database`. Real deployments get their indexes from
    migrations (`marketplace migrate up`); an embedded store starts empty and creates them."""
    db = client[database]
    await init_beanie(
        database=db,
        document_models=ALL_DOCUMENTS,
        allow_index_dropping=False,
        skip_indexes=not create_indexes,
    )
    return db


# -- which store --------------------------------------------------------------------------------


def _mock_store(coll: Any) -> Any | None:
    """The mongomock CollectionStore behind an embedded collection (None for a real MongoDB)."""
    if not isinstance(coll, AsyncMongoMockCollection):
        return None
    store = getattr(coll, "_store", None)
    return store if hasattr(store, "_documents") and hasattr(store, "_rwlock") else None


def _readable_in_place(coll: Any) -> Any | None:
    return _mock_store(coll) if ENABLED else None


def is_embedded(coll: Any) -> bool:
    return isinstance(coll, AsyncMongoMockCollection)


def _matches(where: Mapping[str, Any]) -> Callable[[Raw], bool]:
    items = list(where.items())
    return lambda raw: all(raw.get(k) == v for k, v in items)


def position_of(raw: Raw) -> Position:
    """Where a (updated_at, _id) scan stands after `raw`."""
    return as_utc(raw["updated_at"]), raw["_id"]


# -- reading ------------------------------------------------------------------------------------


async def count(coll: Any, where: Mapping[str, Any]) -> int:
    store = _readable_in_place(coll)
    if store is None:
        return int(await coll.count_documents(dict(where)))
    match = _matches(where)
    with store._rwlock.reader():
        return sum(1 for raw in store._documents.values() if match(raw))


async def snapshot(
    coll: Any, where: Mapping[str, Any], chunk_size: int, read: Callable[[Raw], T | None]
) -> AsyncIterator[list[T]]:
    """`read(raw)` of every document matching `where`, in chunks of up to `chunk_size` inputs
    (a None from `read` is dropped; empty chunks are not yielded). Documents changed meanwhile
    may be seen in either state, as with a cursor."""
    store = _readable_in_place(coll)
    if store is None:
        cursor = coll.find(dict(where)).sort("_id", 1).batch_size(chunk_size)
        chunk: list[T] = []
        async for raw in cursor:
            item = read(raw)
            if item is not None:
                chunk.append(item)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    # The ids up front, then a slice at a time under the lock: the bulk load keeps streaming
    # instead of waiting for a deep copy of the whole collection. Between slices the loop
    # yields, so a bulk request that has finished is answered and its worker sends the next
    # one without waiting for a whole chunk to be read (Elasticsearch idles meanwhile).
    match = _matches(where)
    ids = list(store._documents)
    step = max(1, min(chunk_size, SNAPSHOT_SLICE))
    chunk = []
    for start in range(0, len(ids), step):
        with store._rwlock.reader():
            rows = (store._documents.get(i) for i in ids[start : start + step])
            chunk += [item for raw in rows if raw and match(raw) if (item := read(raw)) is not None]
        if len(chunk) >= chunk_size:
            yield chunk[:chunk_size]
            chunk = chunk[chunk_size:]
        else:
            await asyncio.sleep(0)
    if chunk:
        yield chunk


def _after(position: Position | None) -> dict[str, Any]:
    if position is None:
        return {}
    ts, oid = position
    return {"$or": [{"updated_at": {"$gt": ts}}, {"updated_at": ts, "_id": {"$gt": oid}}]}


async def scan_after(coll: Any, position: Position | None, limit: int) -> list[Raw]:
    """The next `limit` documents after `position` in (updated_at, _id) order (from the start
    when None). On the embedded store they are lent in place: read them before the next await."""
    store = _readable_in_place(coll)
    if store is None:
        cursor = coll.find(_after(position)).sort([("updated_at", 1), ("_id", 1)]).limit(limit)
        return [raw async for raw in cursor]
    # One position per document, and only the first `limit` ordered (a rebuild's replay and
    # the polling indexer scan the whole store for the few documents changed lately).
    with store._rwlock.reader():
        if position is None:
            rows = list(store._documents.values())
        else:
            # The store keeps naive UTC datetimes: compare those as they are, and take the
            # position (with its timezone) only of what is not plainly older.
            ts, oid = as_utc(position[0]), position[1]
            naive = ts.replace(tzinfo=None)
            rows = [
                raw
                for raw in store._documents.values()
                if not ((at := raw["updated_at"]).tzinfo is None and at < naive)
                and position_of(raw) > (ts, oid)
            ]
    keyed = [(position_of(raw), raw) for raw in rows]
    return [raw for _, raw in heapq.nsmallest(limit, keyed, key=_first)]


def _first(row: tuple[Position, Raw]) -> Position:
    return row[0]


# -- loading ------------------------------------------------------------------------------------


async def bulk_insert(coll: Any, docs: list[Raw], chunk_size: int) -> None:
    """Insert raw documents exactly as given (unordered on MongoDB).

    mongomock's insert re-walks every value in Python to make datetimes naive and round them to
    milliseconds. Documents already in that form (naive UTC whole seconds, lists, plain dicts)
    go into the embedded store as they are; anything else must take `insert_many`.
    """
    store = _mock_store(coll)
    if store is None:
        for i in range(0, len(docs), chunk_size):
            await coll.insert_many(docs[i : i + chunk_size], ordered=False)
        return
    with store._rwlock.writer():
        if any(doc["_id"] in store._documents for doc in docs):
            raise DuplicateIds("duplicate _id: the collection already holds one of these")
        store._documents.update((doc["_id"], doc) for doc in docs)


@contextlib.asynccontextmanager
async def unique_indexes_deferred(collections: list[Any]) -> AsyncIterator[None]:
    """mongomock checks a unique index by scanning the whole collection on every insert
    (quadratic), so on the embedded store unique indexes are dropped for a bulk load and rebuilt
    after (one pass each, which also proves the loaded data unique). MongoDB keeps them."""
    dropped: list[tuple[Any, str, dict[str, Any]]] = []
    for coll in collections:
        if not is_embedded(coll):
            continue
        for name, info in (await coll.index_information()).items():
            if info.get("unique") and name != "_id_":
                await coll.drop_index(name)
                dropped.append((coll, name, info))
    try:
        yield
    finally:
        for coll, name, info in dropped:
            options = {k: v for k, v in info.items() if k not in ("key", "v", "ns")}
            await coll.create_index(info["key"], name=name, **options)


# -- following changes --------------------------------------------------------------------------


class ChangeFeed:
    """A change stream on one collection, read through PyMongo's native asyncio client.

    Motor runs every `try_next` on its thread pool, one hop per event. Reading the same 50,000
    changes from the wire server, motor gave 2,231 events/s with `updateLookup` (3,592
    without); PyMongo's asyncio client gave 3,789 (16,802): motor was the catch-up's ceiling.
    Change streams exist only on a MongoDB server, never on the embedded store, so nothing here
    needs mongomock; and it is where the move off motor (end of life May 2026) starts.

    Opened on the first `try_next`, as motor's streams are, so an unusable resume token is
    reported by the first read, where the source turns it into a rebuild. It owns its client:
    `close` ends both."""

    def __init__(self, url: str, coll: Any, **watch: Any) -> None:
        self._client: AsyncMongoClient[Raw] = AsyncMongoClient(url, **CLIENT_OPTIONS)
        self._coll = self._client[coll.database.name][coll.name]
        self._watch = watch
        self._stream: Any = None

    @property
    def resume_token(self) -> Raw | None:
        return self._stream.resume_token if self._stream is not None else None

    async def try_next(self) -> Raw | None:
        """The next event, or None when the server had none within the await time."""
        if self._stream is None:
            self._stream = await self._coll.watch(**self._watch)
        return await self._stream.try_next()

    async def close(self) -> None:
        try:
            if self._stream is not None:
                await self._stream.close()
        finally:
            await self._client.close()
