"""Write -> index through the polling indexer, versioning, dead letters, ES outages."""

from __future__ import annotations

import itertools
import socket
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import AsyncElasticsearch
from hypothesis import given
from hypothesis import strategies as st

from documents import Availability, DeadLetter, Hold, IndexerCheckpoint, Listing, Unit
from documents.values import Period, utcnow
from indexers import checkpoints
from indexers.aliases import alias_targets, ensure_index
from indexers.definition import alias_name
from indexers.projection import IndexOp, _merge, busy_periods, op_for, project
from indexers.runner import Indexer
from indexers.writer import BulkWriter, WriteFailed
from service.core.config import Settings
from service.listings.store import apply_write
from tests.indexers.helpers import index_state, insert, make_listing, mongo_state, oid

pytestmark = pytest.mark.stores  # embedded and server tiers


async def test_projection_busy_periods_nights_hours_items(app) -> None:
    d0 = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=10)
    night = make_listing(
        availability=Availability(
            holds=[
                Hold(booking_id="a", start=d0, end=d0 + timedelta(days=2)),
                Hold(booking_id="b", start=d0 + timedelta(days=2), end=d0 + timedelta(days=3)),
                Hold(booking_id="c", quantity=1),  # no period: ignored
            ],
            blocks=[Period(start=d0 + timedelta(days=5), end=d0 + timedelta(days=6))],
        )
    )
    # Adjacent holds coalesce; the block stays separate.
    assert busy_periods(night) == [
        (d0, d0 + timedelta(days=3)),
        (d0 + timedelta(days=5), d0 + timedelta(days=6)),
    ]
    hour = make_listing(
        unit=Unit.hour,
        capacity=3,
        availability=Availability(
            hour_seats={"2030-01-01T10": 3, "2030-01-01T11": 3, "2030-01-01T12": 2}
        ),
    )
    start = busy_periods(hour)[0][0]
    assert [(s.isoformat(), e.isoformat()) for s, e in busy_periods(hour)] == [
        ("2030-01-01T10:00:00+00:00", "2030-01-01T12:00:00+00:00")
    ]
    assert start.tzinfo is not None
    sold_out = make_listing(unit=Unit.item, stock=5, availability=Availability(stock_left=0))
    assert project(sold_out)["in_stock"] is False
    assert project(make_listing(unit=Unit.item, stock=5))["in_stock"] is True
    doc = project(make_listing(reviews=(4, 18)))
    assert doc["review_summary"]["average"] == 4.5
    assert doc["review_summary"]["bayesian_average"] == round((4.0 * 5 + 18) / 9, 4)


async def test_api_writes_reach_the_index(
    client, host, new_listing, indexer: Indexer, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    r = await client.post("/v1/listings", json=new_listing(), headers=host.headers)
    lid = r.json()["id"]
    await indexer.drain()
    assert lid not in await index_state(es, prefix)  # drafts are not searchable

    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await indexer.drain()
    assert (await index_state(es, prefix))[lid] == 2

    await client.patch(f"/v1/listings/{lid}", json={"title": "Renamed"}, headers=host.headers)
    await indexer.drain()
    doc = await es.get(index=alias_name(prefix), id=lid)
    assert doc["_version"] == 3 and doc["_source"]["title"] == "Renamed"

    await client.post(f"/v1/listings/{lid}/close", headers=host.headers)
    await indexer.drain()
    assert lid not in await index_state(es, prefix)

    await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    await indexer.drain()
    assert (await index_state(es, prefix))[lid] == 5
    assert (await client.delete(f"/v1/listings/{lid}", headers=host.headers)).status_code == 204
    await indexer.drain()
    assert lid not in await index_state(es, prefix)
    cp = await checkpoints.load(indexer.source.checkpoint)  # type: ignore[attr-defined]
    assert cp is not None and cp.last_updated_at is not None


async def test_out_of_order_and_replayed_events_never_regress(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    writer = BulkWriter(es, alias_name(prefix), prefix=prefix)
    (listing,) = await insert(make_listing(title="v1 title"))
    lid = str(listing.id)
    v1 = op_for(listing)
    listing.title, listing.version = "v3 title", 3
    v3 = op_for(listing)
    listing.title, listing.version = "v2 title", 2
    v2 = op_for(listing)

    stats = await writer.write([v3])
    assert stats.indexed == 1
    stats = await writer.write([v1, v2])  # late events
    assert stats.stale == 1  # one op per listing per batch: the newest of the two
    stats = await writer.write([v3])  # replay of the same version is harmless
    assert stats.indexed == 1
    got = await es.get(index=alias_name(prefix), id=lid)
    assert (got["_version"], got["_source"]["title"]) == (3, "v3 title")

    # A delete carries its version too: a late index op cannot resurrect the listing.
    assert (await writer.write([IndexOp(lid, 4, None)])).deleted == 1
    assert (await writer.write([v3])).stale == 1
    assert lid not in await index_state(es, prefix)
    # Deleting what is not there is fine (a draft that was never published).
    assert (await writer.write([IndexOp("nope", 1, None)])).deleted == 1


async def test_rejected_documents_go_to_dead_letters_and_the_rest_is_written(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    good, bad = await insert(make_listing(title="good"), make_listing(title="bad"))
    bad_doc = project(bad)
    bad_doc["location"] = {"lat": 123.0, "lon": 500.0}  # not a point: a mapping error
    bad_op = IndexOp(str(bad.id), bad.version, bad_doc)
    stats = await BulkWriter(es, alias_name(prefix), prefix=prefix).write([op_for(good), bad_op])
    assert (stats.indexed, stats.dead_letters) == (1, 1)
    letters = await DeadLetter.find_all().to_list()
    assert [(d.listing_id, d.version) for d in letters] == [(str(bad.id), bad.version)]
    assert letters[0].error["status"] == 400
    assert list(await index_state(es, prefix)) == [str(good.id)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_es_down_keeps_the_checkpoint_and_the_indexer_catches_up(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    await insert(*(make_listing(title=f"l{i}") for i in range(5)))
    down = AsyncElasticsearch(f"http://127.0.0.1:{_closed_port()}", max_retries=0)
    try:
        writer = BulkWriter(
            down, alias_name(prefix), prefix=prefix, max_retries=2, initial_backoff_s=0.01
        )
        broken = Indexer.polling(down, settings, writer=writer)
        with pytest.raises(WriteFailed):
            await broken.drain()
    finally:
        await down.close()
    assert await IndexerCheckpoint.find_all().count() == 0  # nothing acknowledged
    await Indexer.polling(es, settings).drain()  # back up: a fresh run catches up
    assert await index_state(es, prefix) == await mongo_state()


async def test_writer_recreates_a_missing_alias(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    for name in await alias_targets(es, prefix):
        await es.indices.delete(index=name)
    (listing,) = await insert(make_listing())
    stats = await BulkWriter(es, alias_name(prefix), prefix=prefix).write([op_for(listing)])
    assert stats.indexed == 1
    assert len(await alias_targets(es, prefix)) == 1  # a real index behind the alias, not
    assert await ensure_index(es, prefix) == (await alias_targets(es, prefix))[0]  # auto-made


async def test_ensure_index_is_idempotent_and_converges_under_races(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    import asyncio

    prefix = settings.elasticsearch_index_prefix + "race-"
    names = await asyncio.gather(*(ensure_index(es, prefix) for _ in range(4)))
    targets = await alias_targets(es, prefix)
    assert len(targets) == 1 and set(names) == {targets[0]}  # every racer agrees
    assert await ensure_index(es, prefix) == targets[0]
    left = await es.indices.get(index=f"{prefix}listings-*")
    assert list(left.body) == targets  # nothing left behind
    await es.indices.delete(index=targets[0])


async def test_late_committing_writer_inside_the_overlap_window_is_picked_up(
    app, es: AsyncElasticsearch, settings: Settings, indexer: Indexer
) -> None:
    prefix = settings.elasticsearch_index_prefix
    a, b = await insert(make_listing(title="a"), make_listing(title="b"))
    await indexer.drain()
    # A writer stamped updated_at a second ago but commits only now, behind the checkpoint.
    stamped = utcnow() - timedelta(seconds=1)
    await Listing.get_motor_collection().update_one(
        {"_id": oid(a)}, {"$set": {"title": "late", "updated_at": stamped}, "$inc": {"version": 1}}
    )
    await indexer.drain()
    got = await es.get(index=alias_name(prefix), id=str(a.id))
    assert (got["_version"], got["_source"]["title"]) == (2, "late")
    # A normal write afterwards, and everything agrees.
    await apply_write(oid(b), {"$set": {"title": "b2"}})
    await indexer.drain()
    assert await index_state(es, prefix) == await mongo_state()


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 200)).map(lambda t: (min(t), max(t))),
        max_size=12,
    ),
    st.integers(0, 200),
)
def test_merged_busy_ranges_cover_exactly_the_union(
    spans: list[tuple[int, int]], probe: int
) -> None:
    base = datetime(2031, 1, 1, tzinfo=UTC)

    def at(h: int) -> datetime:
        return base + timedelta(hours=h)

    merged = _merge([(at(a), at(b)) for a, b in spans])
    t = at(probe)
    in_union = any(at(a) <= t < at(b) for a, b in spans)
    assert in_union == any(s <= t < e for s, e in merged)
    for (s1, e1), (s2, _) in itertools.pairwise(merged):
        assert s1 < e1 < s2  # sorted, non-empty, disjoint and not touching


async def test_stored_document_projection_equals_the_model_projection(app) -> None:
    """The fast path (straight off the stored dict) and the typed path agree on every shape:
    nights with holds and blocks, hour slots, items, drafts, deleted, naive stored datetimes."""
    import random

    from indexers.projection import _op_from_stored
    from service.seeding import Generator
    from tests.search.conftest import seed_listings

    await insert(*seed_listings(random.Random(3), 120))
    stored = [raw async for raw in Listing.get_motor_collection().find({})]
    gen = Generator(listings=150, users=20, seed=9)
    gen.users("hash")
    stored += [raw for batch in gen.batches(50) for raw in batch.listings]
    kinds = {(r["unit"], r["status"], r.get("deleted_at") is None) for r in stored}
    assert len(kinds) >= 5
    for raw in stored:
        assert _op_from_stored(raw) == op_for(Listing.model_validate(raw))
