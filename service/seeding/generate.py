"""Deterministic synthetic data as raw Mongo documents, in exactly the shape Beanie stores.

Everything comes from one `random.Random(seed)` consumed in a fixed order, and every timestamp is
an offset from `anchor`, so a (seed, anchor) pair always yields the same documents; ObjectIds are
built from the creation time, a per-kind byte, a seed tag and a counter, so they are stable too.
Datetimes are naive UTC whole seconds, which is how MongoDB (and mongomock) store them: pymongo
writes naive datetimes as UTC, and tz-aware clients read them back as UTC.

Invariants the generator keeps (tests check them):
- every Hold in a listing's availability belongs to a Booking of that listing that is not
  released, and every such booking has exactly one hold; released (cancelled) bookings hold none;
- night holds never overlap; hour_seats is the sum of the hour holds' seats per slot and never
  exceeds capacity; stock_left = stock - held quantities >= 0;
- a listing's review_summary (count, sum, histogram) is exactly that of its reviews, and only
  completed bookings are reviewed, at most once;
- money is integer minor units in the city's currency; version counts the writes that made the
  listing (create, publish, close, each claim and release, each review), updated_at is the last.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bson import ObjectId

from documents import Unit
from documents.listing import stored_listing
from documents.values import CURRENCY_EXPONENT, midnight
from service.seeding.catalog import (
    ADJECTIVES,
    CATEGORIES,
    FIRST_NAMES,
    LAST_INITIALS,
    REVIEW_TEXTS,
    Category,
)
from service.seeding.places import (
    CITIES,
    EUR_PER_UNIT,
    NEIGHBOURHOODS,
    PRICE_LEVEL,
    STREETS,
    City,
)

EPOCH = datetime(1970, 1, 1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
JITTER_KM = 8.0
KM_PER_DEG_LAT = 111.32

# Kinds encoded in byte 4 of generated ObjectIds, so ids of different collections never collide.
KIND_USER, KIND_LISTING, KIND_BOOKING, KIND_REVIEW = 1, 2, 3, 4


class FastRandom(random.Random):
    """random.Random with cheaper randint/choice (one float draw each): the generator makes
    millions of draws. Same seed, same sequence; only the mapping differs from the stdlib's."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq: Any) -> Any:
        return seq[int(self.random() * len(seq))]


def default_anchor() -> datetime:
    """Today's UTC midnight: same data all day, and upcoming bookings stay upcoming."""
    return midnight(datetime.now(UTC).date())


def as_anchor(value: date | datetime | None) -> datetime:
    if value is None:
        return default_anchor()
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).replace(microsecond=0)
    return midnight(value)


def demo_email(kind: str, n: int) -> str:
    return f"{kind}{n}@example.com"


@dataclass
class Batch:
    listings: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Counts:
    hosts: int = 0
    guests: int = 0
    admins: int = 0
    listings: int = 0
    published: int = 0
    drafts: int = 0
    closed: int = 0
    bookings: int = 0
    holds: int = 0
    reviews: int = 0
    by_category: dict[str, int] = field(default_factory=dict)


class Generator:
    def __init__(
        self,
        *,
        listings: int,
        users: int,
        seed: int = 42,
        anchor: date | datetime | None = None,
        guest_fee_bps: int = 500,
        commission_bps: int = 1500,
    ) -> None:
        if listings < 0 or users < 0:
            raise ValueError("counts must not be negative")
        self.n_listings = listings
        self.seed = seed
        self.anchor = as_anchor(anchor)
        self._t0 = self.anchor.astimezone(UTC).replace(tzinfo=None)  # naive UTC, see module doc
        self.rng = FastRandom(seed)
        self.guest_fee_bps = guest_fee_bps
        self.commission_bps = commission_bps
        self.tag = hashlib.blake2b(str(seed).encode(), digest_size=3).digest()
        self.counters = {KIND_USER: 0, KIND_LISTING: 0, KIND_BOOKING: 0, KIND_REVIEW: 0}
        # At least one host and one guest, so every listing has an owner and bookings a guest.
        users = max(users, 2)
        self.n_hosts = max(1, round(users * 0.3))
        self.n_guests = users - self.n_hosts
        self.hosts: list[str] = []
        self.guests: list[str] = []
        self.counts = Counts()
        self._city_cum = _cumulative(c.weight for c in CITIES)
        self._cat_cum = _cumulative(c.weight for c in CATEGORIES)
        self._cos_lat = [math.cos(math.radians(c.lat)) for c in CITIES]

    # -- ids and time ---------------------------------------------------------------------------

    def oid(self, kind: int, at: datetime) -> ObjectId:
        self.counters[kind] += 1
        raw = struct.pack(">I", int((at - EPOCH).total_seconds())) + bytes([kind]) + self.tag
        return ObjectId(raw + struct.pack(">I", self.counters[kind]))

    def _between(self, lo: datetime, hi: datetime) -> datetime:
        """A whole second in [lo, hi] (the earlier bound when the range is empty)."""
        span = int((hi - lo).total_seconds())
        return lo + timedelta(seconds=self.rng.randint(0, span)) if span > 0 else min(lo, hi)

    # -- users ----------------------------------------------------------------------------------

    def users(self, password_hash: str) -> list[dict[str, Any]]:
        docs = [
            self._user(demo_email("host", i + 1), password_hash, ["host"])
            for i in range(self.n_hosts)
        ]
        docs += [
            self._user(demo_email("guest", i + 1), password_hash, ["guest"])
            for i in range(self.n_guests)
        ]
        docs.append(self._user("admin@example.com", password_hash, ["admin"]))
        self.hosts = [str(d["_id"]) for d in docs[: self.n_hosts]]
        self.guests = [str(d["_id"]) for d in docs[self.n_hosts : self.n_hosts + self.n_guests]]
        self.counts.hosts, self.counts.guests, self.counts.admins = self.n_hosts, self.n_guests, 1
        return docs

    def _user(self, email: str, password_hash: str, roles: list[str]) -> dict[str, Any]:
        rng = self.rng
        created = self._t0 - timedelta(days=rng.randint(901, 1500), seconds=rng.randint(0, 86399))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_INITIALS)}."
        return {
            "_id": self.oid(KIND_USER, created),
            "email": email,
            "password_hash": password_hash,
            "display_name": name,
            "roles": roles,
            "bio": "",
            "created_at": created,
            "updated_at": created,
            "erased_at": None,
        }

    # -- listings -------------------------------------------------------------------------------

    def batches(self, size: int = 5000) -> Iterator[Batch]:
        """Listings with their bookings and reviews, `size` listings at a time. Call users()
        first: listings need their owners' ids."""
        if not self.hosts:
            raise RuntimeError("generate users before listings")
        batch = Batch()
        for _ in range(self.n_listings):
            self._listing(batch)
            if len(batch.listings) >= size:
                yield batch
                batch = Batch()
        if batch.listings:
            yield batch

    def _listing(self, batch: Batch) -> None:
        rng = self.rng
        anchor = self._t0
        ci = bisect.bisect(self._city_cum, rng.random() * self._city_cum[-1])
        city = CITIES[ci]
        cat = CATEGORIES[bisect.bisect(self._cat_cum, rng.random() * self._cat_cum[-1])]
        owner = self.hosts[int(len(self.hosts) * rng.random() ** 2)]  # a few hosts own a lot

        created = anchor - timedelta(days=rng.randint(20, 900), seconds=rng.randint(0, 86399))
        r = rng.random()
        status = "published" if r < 0.88 else ("draft" if r < 0.97 else "closed")
        published_at = (
            None if status == "draft" else created + timedelta(seconds=rng.randint(600, 5 * 86400))
        )
        events = [created] + ([published_at] if published_at else [])
        version = 1 + (status != "draft") + (status == "closed")

        capacity = rng.randint(*cat.capacity)
        stock = rng.randint(*cat.stock) if cat.stock else None
        rules = self._rules(cat)
        lat, lon = self._jitter(ci, city)
        noun = rng.choice(cat.nouns)
        adjective = rng.choice(ADJECTIVES)
        neighbourhood = rng.choice(NEIGHBOURHOODS)
        title = (
            f"{adjective} {noun} in {city.name}"
            if rng.random() < 0.5
            else f"{adjective} {noun} near {neighbourhood}"
        )
        k = rng.randint(2, min(8, len(cat.amenities)))
        amenities = sorted(rng.sample(cat.amenities, k))
        description = (
            f"{adjective} {noun} close to {neighbourhood} in {city.name}. "
            f"Comes with {', '.join(amenities[:3])}."
        )
        price = self._price(cat, city)
        listing_id = self.oid(KIND_LISTING, created)

        availability: dict[str, Any] = {
            "holds": [],
            "blocks": [],
            "hour_seats": {},
            "stock_left": stock if cat.unit == Unit.item else None,
        }
        summary = {"count": 0, "sum": 0, "histogram": {str(i): 0 for i in range(1, 6)}}
        if status == "published" and published_at and rng.random() < 0.25:
            version += self._bookings(
                batch,
                listing_id=listing_id,
                owner=owner,
                cat=cat,
                price=price,
                capacity=capacity,
                rules=rules,
                not_before=max(published_at + HOUR, anchor - timedelta(days=rng.randint(60, 300))),
                availability=availability,
                summary=summary,
                events=events,
            )

        batch.listings.append(
            stored_listing(
                listing_id,
                owner_id=owner,
                title=title,
                description=description,
                category=cat.name,
                amenities=amenities,
                attributes=cat.attributes(rng),
                location={"type": "Point", "coordinates": [lon, lat]},
                address={
                    "line1": f"{rng.randint(1, 240)} {rng.choice(STREETS)}",
                    "city": city.name,
                    "country": city.country,
                },
                price=price,
                unit=cat.unit.value,
                capacity=capacity,
                stock=stock,
                rules=rules,
                availability=availability,
                review_summary=summary,
                status=status,
                version=version,
                created_at=created,
                updated_at=max(events),
                published_at=published_at,
            )
        )
        counts = self.counts
        counts.listings += 1
        counts.by_category[cat.name] = counts.by_category.get(cat.name, 0) + 1
        if status == "published":
            counts.published += 1
        elif status == "draft":
            counts.drafts += 1
        else:
            counts.closed += 1

    def _jitter(self, ci: int, city: City) -> tuple[float, float]:
        """A point uniformly spread over a disc of JITTER_KM around the city centre."""
        rng = self.rng
        r = JITTER_KM * math.sqrt(rng.random())
        theta = rng.random() * 2 * math.pi
        lat = city.lat + r * math.cos(theta) / KM_PER_DEG_LAT
        lon = city.lon + r * math.sin(theta) / (KM_PER_DEG_LAT * self._cos_lat[ci])
        return round(lat, 6), round(lon, 6)

    def _price(self, cat: Category, city: City) -> dict[str, Any]:
        euros = self.rng.uniform(*cat.price_eur) * PRICE_LEVEL.get(city.country, 1.0)
        minor = euros / EUR_PER_UNIT[city.currency] * 10 ** CURRENCY_EXPONENT[city.currency]
        # Three significant digits, like prices people actually set.
        step = 10 ** max(0, int(math.log10(max(minor, 1))) - 2)
        return {"amount": max(step, round(minor / step) * step), "currency": city.currency}

    def _rules(self, cat: Category) -> dict[str, Any]:
        rng = self.rng
        min_nights = rng.choice((1, 1, 1, 2, 2, 3, 7)) if cat.unit == Unit.night else 1
        max_nights = max(min_nights, rng.choice((14, 30, 90, 365)))
        return {
            "min_nights": min_nights,
            "max_nights": max_nights,
            "advance_notice_hours": rng.choice((0, 0, 12, 24, 48)),
            "instant_book": rng.random() < 0.4,
            "cancellation_policy": rng.choice(("flexible", "moderate", "strict")),
        }

    # -- bookings and reviews -------------------------------------------------------------------

    def _bookings(
        self,
        batch: Batch,
        *,
        listing_id: ObjectId,
        owner: str,
        cat: Category,
        price: dict[str, Any],
        capacity: int,
        rules: dict[str, Any],
        not_before: datetime,
        availability: dict[str, Any],
        summary: dict[str, Any],
        events: list[datetime],
    ) -> int:
        """Bookings laid out one after another from `not_before` (so nights never overlap);
        returns how many listing writes they made."""
        rng = self.rng
        anchor = self._t0
        writes = 0
        cursor = (
            datetime.combine(not_before.date(), time()) + 2 * DAY
        )  # a booking is made after not_before
        for _ in range(rng.randint(1, 5)):
            guests = seats = quantity = 0
            start: datetime | None
            end: datetime | None
            if cat.unit == Unit.night:
                start = cursor + DAY * rng.randint(0, 25)
                n = rng.randint(rules["min_nights"], max(rules["min_nights"], 7))
                end = start + DAY * n
                cursor = end
                guests, units = rng.randint(1, capacity), n
            elif cat.unit == Unit.hour:
                day = cursor + DAY * rng.randint(1, 20)
                first = rng.randint(8, 17)
                hours = rng.randint(1, min(4, 20 - first))
                start, end = day + HOUR * first, day + HOUR * (first + hours)
                cursor = day + DAY  # one booking per day: a slot's seats never exceed capacity
                seats = rng.randint(1, capacity)
                units = hours * seats
            else:
                if not availability["stock_left"]:
                    break
                start = end = None
                quantity = rng.randint(1, min(3, availability["stock_left"]))
                units = quantity
            if start is not None and start > anchor + DAY * 180:
                break

            # When it was made, and what became of it.
            if start is None:
                created = self._between(not_before, anchor - HOUR)
                past = created < anchor - DAY * 14
                ongoing = False
            else:
                created = self._between(
                    max(not_before, start - DAY * 60), min(start, anchor) - HOUR
                )
                past = end is not None and end <= anchor
                ongoing = start < anchor and not past
            r = rng.random()
            if past:
                status = "completed" if r < 0.85 else "cancelled"
            elif ongoing:
                status = "accepted"
            else:
                status = "accepted" if r < 0.7 else ("requested" if r < 0.85 else "cancelled")
            released = status == "cancelled"
            finished = (end or created + DAY * 3) if status == "completed" else None
            updated = created
            if released:
                cancelled_by = min(anchor, start or anchor) - timedelta(minutes=1)
                updated = self._between(created, cancelled_by)
            elif finished is not None:
                updated = min(finished + HOUR, anchor)

            booking_id = self.oid(KIND_BOOKING, created)
            guest = rng.choice(self.guests)
            batch.bookings.append(
                {
                    "_id": booking_id,
                    "listing_id": str(listing_id),
                    "guest_id": guest,
                    "host_id": owner,
                    "unit": cat.unit.value,
                    "start": start,
                    "end": end,
                    "guests": guests,
                    "seats": seats,
                    "quantity": quantity,
                    "status": status,
                    "price": self._breakdown(price, units),
                    "cancellation_policy": rules["cancellation_policy"],
                    "released": released,
                    "expires_at": anchor + DAY * 2 if status == "requested" else None,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            self.counts.bookings += 1
            writes += 1  # the claim
            events.append(created)
            if released:
                writes += 1  # the release
                events.append(updated)
                continue
            availability["holds"].append(
                {
                    "booking_id": str(booking_id),
                    "start": start,
                    "end": end,
                    "seats": seats,
                    "quantity": quantity,
                }
            )
            self.counts.holds += 1
            if cat.unit == Unit.hour:
                assert start is not None and end is not None
                slot = start
                while slot < end:
                    key = slot.strftime("%Y-%m-%dT%H")
                    availability["hour_seats"][key] = availability["hour_seats"].get(key, 0) + seats
                    slot += HOUR
            elif cat.unit == Unit.item:
                availability["stock_left"] -= quantity

            if finished is not None and rng.random() < 0.7:
                reviewed = finished + timedelta(seconds=rng.randint(3600, 10 * 86400))
                if reviewed < anchor:
                    rating = rng.choices((1, 2, 3, 4, 5), weights=(2, 3, 10, 35, 50))[0]
                    batch.reviews.append(
                        {
                            "_id": self.oid(KIND_REVIEW, reviewed),
                            "booking_id": str(booking_id),
                            "listing_id": str(listing_id),
                            "guest_id": guest,
                            "rating": rating,
                            "text": rng.choice(REVIEW_TEXTS[rating]),
                            "created_at": reviewed,
                        }
                    )
                    summary["count"] += 1
                    summary["sum"] += rating
                    summary["histogram"][str(rating)] += 1
                    self.counts.reviews += 1
                    writes += 1
                    events.append(reviewed)
        return writes

    def _breakdown(self, unit_price: dict[str, Any], units: int) -> dict[str, Any]:
        cur = unit_price["currency"]
        subtotal = unit_price["amount"] * units
        fee = (subtotal * self.guest_fee_bps + 5000) // 10000
        commission = (subtotal * self.commission_bps + 5000) // 10000

        def money(amount: int) -> dict[str, Any]:
            return {"amount": amount, "currency": cur}

        return {
            "unit_price": money(unit_price["amount"]),
            "units": units,
            "subtotal": money(subtotal),
            "discount": money(0),  # demo listings have no pricing rules
            "cleaning_fee": money(0),
            "guest_fee": money(fee),
            "commission": money(commission),
            "total": money(subtotal + fee),
            "host_payout": money(subtotal - commission),
        }


def _cumulative(weights: Any) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out
