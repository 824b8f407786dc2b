"""Writes generated documents with insert_many in chunks (not Beanie models one by one)."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from mongomock_motor import AsyncMongoMockCollection

from documents import Booking, Listing, Review, User
from service.accounts.passwords import hasher
from service.core.config import Settings, get_settings
from service.seeding.generate import Counts, Generator, demo_email

# The one password of every demo account (documented in the README). Demo data only.
DEMO_PASSWORD = "demo-password"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class SeedError(RuntimeError):
    pass


@dataclass
class SeedReport:
    seed: int
    anchor: datetime
    counts: Counts
    seconds: float
    demo_password: str = DEMO_PASSWORD
    demo_logins: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        c = self.counts
        return {
            "seed": self.seed,
            "anchor": self.anchor.isoformat(),
            "users": c.hosts + c.guests + c.admins,
            "hosts": c.hosts,
            "guests": c.guests,
            "listings": c.listings,
            "published": c.published,
            "drafts": c.drafts,
            "closed": c.closed,
            "bookings": c.bookings,
            "holds": c.holds,
            "reviews": c.reviews,
            "seconds": round(self.seconds, 2),
        }

    def __str__(self) -> str:
        figures = ", ".join(f"{k}={v}" for k, v in self.summary().items())
        logins = ", ".join(self.demo_logins)
        return f"{figures}; demo logins {logins} (password {self.demo_password!r})"


@contextlib.asynccontextmanager
async def _bulk_load(collections: list[Any]) -> AsyncIterator[None]:
    """mongomock checks a unique index by scanning the whole collection on every insert
    (quadratic), so on the embedded store unique indexes are dropped for the load and rebuilt
    after (one pass each, which also proves the seeded data unique). Real MongoDB keeps them."""
    dropped: list[tuple[Any, str, dict[str, Any]]] = []
    for coll in collections:
        if not isinstance(coll, AsyncMongoMockCollection):
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


def embedded_store(coll: Any) -> Any | None:
    """The mongomock CollectionStore behind an embedded collection (None for real MongoDB)."""
    if not isinstance(coll, AsyncMongoMockCollection):
        return None
    store = getattr(coll, "_store", None)
    return store if hasattr(store, "_documents") and hasattr(store, "_rwlock") else None


@contextlib.asynccontextmanager
async def _no_cyclic_gc() -> AsyncIterator[None]:
    """Hundreds of thousands of fresh dicts set off the cyclic collector over and over, each
    pass walking everything alive; the generated documents hold no cycles, so pause it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _insert(coll: Any, docs: list[dict[str, Any]], chunk: int) -> None:
    store = embedded_store(coll)
    if store is not None:
        # mongomock's insert re-walks every value in Python to make datetimes naive and round
        # them to milliseconds (~0.2 ms per listing, most of a 100k seed). The generator already
        # emits exactly that form (naive UTC whole seconds, lists, plain dicts; tests assert the
        # walk is an identity on its output), so the documents go into the store as they are.
        with store._rwlock.writer():
            if any(doc["_id"] in store._documents for doc in docs):
                raise SeedError("duplicate _id: this database already holds seeded documents")
            store._documents.update((doc["_id"], doc) for doc in docs)
        return
    for i in range(0, len(docs), chunk):
        await coll.insert_many(docs[i : i + chunk], ordered=False)


def _check_shape(model: Any, docs: list[dict[str, Any]]) -> None:
    """Validate a sample against the Beanie document, so a model change that the generator
    missed fails loudly here instead of at the first read."""
    for doc in (docs[0], docs[-1]) if docs else ():
        model.model_validate(doc)


async def seed_database(
    *,
    listings: int,
    users: int,
    seed: int = 42,
    progress: Progress | None = None,
    anchor: date | datetime | None = None,
    settings: Settings | None = None,
    chunk_size: int = 5000,
) -> SeedReport:
    """Insert demo users, listings, bookings and reviews through the Beanie-bound collections.

    Same `seed` and `anchor` (default: today's UTC midnight) give the same documents and ids.
    Refuses to run twice on one database (the ids would collide).
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    gen = Generator(
        listings=listings,
        users=users,
        seed=seed,
        anchor=anchor,
        guest_fee_bps=settings.guest_service_fee_bps,
        commission_bps=settings.platform_commission_bps,
    )
    report_progress = progress or (lambda stage, done, total: None)
    users_coll = User.get_motor_collection()
    listings_coll = Listing.get_motor_collection()
    bookings_coll = Booking.get_motor_collection()
    reviews_coll = Review.get_motor_collection()

    # argon2 is deliberately slow: hash the one demo password once, share the hash. The salt
    # comes from the seed so the data stays deterministic (the password is public anyway).
    salt = hashlib.blake2b(f"demo-salt:{seed}".encode(), digest_size=16).digest()
    password_hash = await anyio.to_thread.run_sync(
        functools.partial(hasher(settings).hash, DEMO_PASSWORD, salt=salt)
    )
    user_docs = gen.users(password_hash)
    clash = await users_coll.find_one(
        {"$or": [{"_id": user_docs[0]["_id"]}, {"email": user_docs[0]["email"]}]}, {"_id": 1}
    )
    if clash is not None:
        raise SeedError(f"this database is already seeded ({user_docs[0]['email']} exists)")

    async with (
        _bulk_load([users_coll, listings_coll, bookings_coll, reviews_coll]),
        _no_cyclic_gc(),
    ):
        _check_shape(User, user_docs)
        report_progress("users", 0, len(user_docs))
        await _insert(users_coll, user_docs, chunk_size)
        report_progress("users", len(user_docs), len(user_docs))
        done = 0
        report_progress("listings", 0, listings)
        for batch in gen.batches(chunk_size):
            _check_shape(Listing, batch.listings)
            _check_shape(Booking, batch.bookings)
            _check_shape(Review, batch.reviews)
            await _insert(listings_coll, batch.listings, chunk_size)
            if batch.bookings:
                await _insert(bookings_coll, batch.bookings, chunk_size)
            if batch.reviews:
                await _insert(reviews_coll, batch.reviews, chunk_size)
            done += len(batch.listings)
            report_progress("listings", done, listings)

    logins = [demo_email("host", 1), demo_email("guest", 1), "admin@example.com"]
    return SeedReport(
        seed=seed,
        anchor=gen.anchor,
        counts=gen.counts,
        seconds=time.perf_counter() - started,
        demo_logins=logins,
    )
