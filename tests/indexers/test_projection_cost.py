"""The projection's cheaper forms are the rules they replace, exactly: the stay figures are
`stay_charge`, the review figures are `ReviewSummary`'s, timestamps read as before, and the
collector settings of a bulk load are undone after it."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from documents.listing import (
    ReviewSummary,
    bayesian_average,
    charged_per_stay,
    review_average,
    stay_charge,
)
from documents.values import as_utc
from indexers import heap
from indexers.projection import _hour_start, _iso

bps = st.integers(min_value=0, max_value=10_000)


@given(
    st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**7), bps, bps
)
def test_charged_per_stay_is_stay_charge(price: int, fee: int, weekly: int, monthly: int) -> None:
    got = charged_per_stay(price, 30, cleaning_fee=fee, weekly_bps=weekly, monthly_bps=monthly)
    want = []
    for n in range(1, 31):
        subtotal, discount, cleaning = stay_charge(
            price, n, cleaning_fee=fee, weekly_bps=weekly, monthly_bps=monthly
        )
        want.append(subtotal - discount + cleaning)
    assert got == want


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**5))
def test_review_figures_are_the_summary_s(total: int, count: int) -> None:
    summary = ReviewSummary(count=count, sum=total)
    assert review_average(total, count) == summary.average
    assert bayesian_average(total, count) == summary.bayesian()


@given(st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))])))
def test_iso_is_the_utc_rfc3339_text(value: datetime) -> None:
    assert _iso(value) == as_utc(value).isoformat().replace("+00:00", "Z")


def test_hour_slot_keys_parse_as_strptime_does() -> None:
    key = "2026-12-01T07"
    assert _hour_start(key) == datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)


def test_bulk_work_undoes_its_collector_settings() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with heap.bulk_work():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold()[0] >= heap.BULK_THRESHOLD
        with heap.bulk_work():  # nested: the outer one's settings hold
            assert gc.get_threshold()[0] >= heap.BULK_THRESHOLD
        # Still frozen after the inner block. Not ">= frozen": a frozen object that dies leaves
        # the permanent generation, so the count may shrink while other tests' objects go.
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= heap.BULK_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_bulk_work_leaves_a_freeze_it_did_not_make() -> None:
    gc.freeze()
    try:
        with heap.bulk_work():
            pass
        assert gc.get_freeze_count() > 0  # someone else's freeze is not undone
    finally:
        gc.unfreeze()


async def test_embedded_reads_page_and_chunk_as_a_query_would() -> None:
    """`scan_after` on the embedded store: the next `limit` in (updated_at, _id) order after a
    position; `snapshot`: full chunks of `chunk_size` (read a slice at a time), then the rest."""
    from bson import ObjectId

    from indexers import store

    client = store.make_client(None)
    coll = client["t"]["docs"]
    base = datetime(2026, 1, 1)
    docs = [
        {"_id": ObjectId(), "updated_at": base + timedelta(seconds=i % 37), "n": i}
        for i in range(250)
    ]
    await coll.insert_many(docs)
    order = sorted(docs, key=lambda d: (d["updated_at"], d["_id"]))
    position = (as_utc(order[99]["updated_at"]), order[99]["_id"])
    page = await store.scan_after(coll, position, 40)
    assert [d["n"] for d in page] == [d["n"] for d in order[100:140]]
    first = await store.scan_after(coll, None, 10)
    assert [d["n"] for d in first] == [d["n"] for d in order[:10]]

    chunks = [c async for c in store.snapshot(coll, {}, 64, lambda raw: raw["n"])]
    assert [len(c) for c in chunks] == [64, 64, 64, 58]
    assert sorted(n for c in chunks for n in c) == list(range(250))
