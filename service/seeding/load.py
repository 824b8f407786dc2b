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

from documents import Booking, FxTable, Listing, Review, User
from indexers import store
from service.accounts.passwords import hasher
from service.core.config import Settings, get_settings
from service.seeding.generate import Counts, Generator, demo_email
from service.seeding.places import demo_rates

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
    # The generator emits exactly the form the embedded store keeps (naive UTC whole seconds,
    # lists, plain dicts; tests assert mongomock's normalising walk is an identity on its
    # output), so bulk_insert may put them in as they are.
    try:
        await store.bulk_insert(coll, docs, chunk)
    except store.DuplicateIds as exc:
        raise SeedError("duplicate _id: this database already holds seeded documents") from exc


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
        store.unique_indexes_deferred([users_coll, listings_coll, bookings_coll, reviews_coll]),
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

    # The demo prices in 18 currencies: a rate table lets currency= searches compare them.
    if await FxTable.find_one() is None:
        await FxTable(version=1, base="EUR", rates=demo_rates(), updated_by="seed").insert()
    logins = [demo_email("host", 1), demo_email("guest", 1), "admin@example.com"]
    return SeedReport(
        seed=seed,
        anchor=gen.anchor,
        counts=gen.counts,
        seconds=time.perf_counter() - started,
        demo_logins=logins,
    )
