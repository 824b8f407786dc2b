"""Search parameters -> Elasticsearch request body, and raw response -> API result.

Field names come from `indexers.definition.F`, the same names the projection writes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar, cast

import orjson

from documents import Pricing
from documents.fx import LONG_MAX, Rates, convert, max_source, min_source
from documents.listing import BOOKING_HORIZON, MAX_HOURS_PER_BOOKING, Unit
from documents.values import Money, as_utc, midnight, utcnow
from indexers.definition import QUOTED_NIGHTS, F, stay_base_field, stay_charge_field
from service.core.errors import invalid
from service.pricing import breakdown, max_charged, min_charged

Sort = Literal["relevance", "price_asc", "price_desc", "distance", "rating", "newest"]
FACETS = ("category", "amenities", "price", "rating", "city")
PRICE_SORTS = ("price_asc", "price_desc")
# Price facet buckets in minor units [from, to); rating buckets are "at least".
PRICE_BUCKETS: list[tuple[int | None, int | None]] = [
    (None, 5_000),
    (5_000, 10_000),
    (10_000, 20_000),
    (20_000, 50_000),
    (50_000, None),
]
RATING_BUCKETS = [4.5, 4.0, 3.5, 3.0]
TERMS_FACET_SIZE = 50
TEXT_FIELDS = [f"{F.TITLE}^3", f"{F.CATEGORY}^2", F.DESCRIPTION, F.AMENITIES, F.CITY_TEXT]
# Parameters a cursor is not bound to (see SearchParams.fingerprint).
CURSOR_FREE = frozenset({"facets", "fx", "facet_currency"})
EARTH_RADIUS_KM = 6371.0087714  # the mean radius Elasticsearch uses for arc distances


@dataclass
class SearchParams:
    q: str | None = None
    category: list[str] = field(default_factory=list)
    amenities: list[str] = field(default_factory=list)
    city: list[str] = field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    rating_min: float | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    check_in: date | None = None
    check_out: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    guests: int | None = None
    quantity: int | None = None
    unit: list[str] = field(default_factory=list)
    # Flexible dates: a run of `nights` nights starting on some day in [from_, to].
    nights: int | None = None
    from_: date | None = None
    to: date | None = None
    sort: Sort = "relevance"
    facets: list[str] = field(default_factory=list)
    # Prices, bounds, sorts and the price facet in this currency, converted with `fx` (the
    # rate table the service loaded; not part of the cursor: a rate change re-sorts, it does
    # not make a different search).
    currency: str | None = None
    fx: Rates | None = None
    # Set by the service, never by a caller: without `currency`, over a catalogue priced in
    # several currencies, the price facet is bucketed in the rate table's base (this), so its
    # counts never add up amounts in different currencies. Hits are untouched by it.
    facet_currency: str | None = None

    @property
    def priced(self) -> bool:
        """Whether the search compares prices (bounds or a price sort)."""
        return self.price_min is not None or self.price_max is not None or self.sort in PRICE_SORTS

    @property
    def converted(self) -> Rates | None:
        """The rate table when prices are shown and compared in `currency`."""
        return self.fx if self.currency is not None else None

    @property
    def price_facet_currency(self) -> str | None:
        """The currency the price facet's bounds are converted into (None: not converted)."""
        if self.fx is None:
            return None
        return self.currency or self.facet_currency

    @property
    def origin(self) -> tuple[float, float] | None:
        if self.lat is None or self.lon is None:
            return None
        return self.lat, self.lon

    def busy_window(self) -> tuple[datetime, datetime] | None:
        """The requested period, half-open, that must not intersect any busy range."""
        if self.check_in is not None and self.check_out is not None:
            return midnight(self.check_in), midnight(self.check_out)
        if self.start is not None and self.end is not None:
            return as_utc(self.start), as_utc(self.end)
        return None

    def stay_nights(self) -> int | None:
        """Nights of a dated night search (fixed or flexible)."""
        if self.check_in is not None and self.check_out is not None:
            return (self.check_out - self.check_in).days
        return self.nights

    @property
    def flexible(self) -> bool:
        return self.nights is not None

    def units(self) -> int | None:
        """The `units` a booking of the searched stay is charged for (None without one)."""
        n = self.stay_nights()
        if n is not None:
            return n
        if self.start is not None and self.end is not None:
            hours = int((as_utc(self.end) - as_utc(self.start)) / timedelta(hours=1))
            return hours * (self.guests or 1)
        return self.quantity

    def values(self) -> dict[str, Any]:
        """Every parameter by name, the rate table as its version: what a key of this search
        is made of. Shallow on purpose: `dataclasses.asdict` deep-copies the whole rate table
        on every request, which cost more than building the Elasticsearch body."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["fx"] = self.fx.version if self.fx is not None else None
        return out

    def fingerprint(self) -> str:
        """Binds a cursor to the query it came from (a cursor from another query is a 422):
        every parameter that changes which hits come, or their order, or what a hit shows
        (`lat`/`lon` give `distance_km`). Not `facets` (counts beside the hits, the same hits
        either way) and not `limit` (pages of any size continue from the last hit)."""
        bound = {k: v for k, v in self.values().items() if k not in CURSOR_FREE}
        raw = orjson.dumps(bound, option=orjson.OPT_SORT_KEYS, default=str)
        return hashlib.sha256(raw).hexdigest()[:16]


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise invalid(["query", "bbox"], "must be min_lon,min_lat,max_lon,max_lat") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise invalid(["query", "bbox"], "must be min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise invalid(["query", "bbox"], "longitudes must be within [-180, 180]")
    if not (-90 <= min_lat <= max_lat <= 90):
        raise invalid(["query", "bbox"], "latitudes must be within [-90, 90], min <= max")
    return min_lon, min_lat, max_lon, max_lat


def parse_facets(raw: str | None) -> list[str]:
    if not raw:
        return []
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise invalid(["query", "facets"], f"unknown facet {unknown[0]!r}; one of {FACETS}")
    return list(dict.fromkeys(names))


def validate(p: SearchParams) -> None:
    """Cross-field rules FastAPI cannot express; each names the offending parameter."""
    if (p.lat is None) != (p.lon is None):
        raise invalid(["query", "lat" if p.lat is None else "lon"], "lat and lon go together")
    if p.radius_km is not None and p.origin is None:
        raise invalid(["query", "radius_km"], "needs lat and lon")
    if p.sort == "distance" and p.origin is None:
        raise invalid(["query", "sort"], "distance sort needs lat and lon")
    if p.price_min is not None and p.price_max is not None and p.price_min > p.price_max:
        raise invalid(["query", "price_max"], "must be >= price_min")
    if (p.check_in is None) != (p.check_out is None):
        raise invalid(["query", "check_out" if p.check_out is None else "check_in"], "give both")
    if p.check_in is not None and p.check_out is not None:
        if p.check_out <= p.check_in:
            raise invalid(["query", "check_out"], "must be after check_in")
        if (p.check_out - p.check_in).days > 366:
            raise invalid(["query", "check_out"], "at most 366 nights")
    if (p.start is None) != (p.end is None):
        raise invalid(["query", "end" if p.end is None else "start"], "give both")
    if p.start is not None and p.end is not None:
        if as_utc(p.end) <= as_utc(p.start):
            raise invalid(["query", "end"], "must be after start")
        for name in ("start", "end"):
            value = as_utc(getattr(p, name))
            if value.minute or value.second or value.microsecond:
                raise invalid(["query", name], "hour slots start and end on whole hours")
        if as_utc(p.end) - as_utc(p.start) > timedelta(hours=MAX_HOURS_PER_BOOKING):
            raise invalid(["query", "end"], f"at most {MAX_HOURS_PER_BOOKING} hours per booking")
    if p.check_in is not None and p.start is not None:
        raise invalid(["query", "start"], "use either check_in/check_out or start/end")
    if p.quantity is not None and p.busy_window() is not None:
        raise invalid(["query", "quantity"], "items are ordered without dates")
    _validate_flexible(p)
    n = p.stay_nights()
    priced = p.price_min is not None or p.price_max is not None or p.sort in PRICE_SORTS
    if n is not None and n > QUOTED_NIGHTS and (priced or "price" in p.facets):
        raise invalid(
            ["query", "nights" if p.flexible else "check_out"],
            f"price bounds, price sorts and the price facet cover stays of at most "
            f"{QUOTED_NIGHTS} nights",
        )


@dataclass(frozen=True)
class PriceBasis:
    """What the price parameters act on. Without a stay: the unit price. With one: the guest's
    total for that stay, expressed EXACTLY on an indexed field:

    - nights: total = guest_total(c) with c = stay_charge.n<nights> (materialised in the
      projection); guest_total is strictly increasing, so total <= P <=> c <= max_charged(P)
      and total >= P <=> c >= min_charged(P), and ordering by c is ordering by total;
    - hour slots / items: c = unit price x units (units fixed by the search), so
      total <= P <=> price <= max_charged(P) // units and
      total >= P <=> price >= ceil(min_charged(P) / units).
    All integer arithmetic: a bound equal to a hit's total keeps it, one minor unit less drops it.
    """

    field: str
    divisor: int  # units per unit price (1 for the materialised stay charge)
    fee_bps: int | None  # None: the bounds are on the unit price itself

    def lower(self, total: int) -> int:
        if self.fee_bps is None:
            return total
        return -(-min_charged(total, self.fee_bps) // self.divisor)

    def upper(self, total: int) -> int:
        if self.fee_bps is None:
            return total
        return max_charged(total, self.fee_bps) // self.divisor if total >= 0 else -1


def base_sort_field(p: SearchParams) -> str:
    """With `currency`: the price sort key comparable across currencies, the base-currency
    figure of what the basis field holds (see indexers.definition.F.PRICE_BASE). Ordering by
    the exact base value and then rounding with `convert` (monotone) never reorders distinct
    display totals of one currency; across currencies it is exact but for the guest fee, which
    the figure leaves out (a fee is rounded per listing, so stays whose totals are within a
    minor unit of each other may come in either order)."""
    n = p.stay_nights()
    if n is not None and n <= QUOTED_NIGHTS:
        return stay_base_field(n)
    return F.PRICE_BASE


# Price bounds are worked out per (table, currency, basis, bounds) once: the same bounds come
# back with every page and every popular search, and working them out per listing currency
# (exact inverses of the conversion) was ~9% of a served search's CPU (py-spy, bench.http).
# Entries hold the table they were made with, so a new table (or a recycled id) never reads an
# old one. What they hold is shared: read it, never change it.
_PER_TABLE: dict[tuple[Any, ...], tuple[Rates, Any]] = {}
_PER_TABLE_MAX = 4096
T = TypeVar("T")


def _per_table(
    make: Callable[[SearchParams, PriceBasis, int | None, int | None], T],
    p: SearchParams,
    basis: PriceBasis,
    lo: int | None,
    hi: int | None,
) -> T:
    """`make(p, basis, lo, hi)`, remembered for `p.fx` and `p.currency`."""
    rates = p.fx
    assert rates is not None
    key = (make.__name__, id(rates), p.currency, basis, lo, hi)
    hit = _PER_TABLE.get(key)
    if hit is not None and hit[0] is rates:
        return cast(T, hit[1])
    made = make(p, basis, lo, hi)
    if len(_PER_TABLE) >= _PER_TABLE_MAX:
        _PER_TABLE.clear()  # bounded; refilled by the searches that keep coming
    _PER_TABLE[key] = (rates, made)
    return made


def converted_range(
    p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None
) -> dict[str, Any]:
    """`_converted_range`, remembered (bodies only nest the query and serialise it)."""
    return _per_table(_converted_range, p, basis, lo, hi)


def _converted_range(
    p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None
) -> dict[str, Any]:
    """Display-currency bounds [lo, hi] as an exact query that is cheap over large results.

    The exact query (`_exact_range`, a disjunction of one clause per listing currency) costs
    every document it is tested on a pass through its clauses: counting the 586k hits of a
    dated search bounded in KRW took 59 ms at 1M listings (15 ms as below). So
    documents are split by their base-currency figure of the same stored amount (`price_base`,
    `stay_base.n<k>`, which the indexer writes with table `fx_version`):
    - a figure inside the *inner* range passes for every currency's exact bounds at once,
      and is one range query (a doc-id set built from the BKD tree);
    - a figure in the thin bands between inner and *wide* (outside which no currency's exact
      bounds can hold) is checked against the exact query, which then only meets the few
      documents of those bands;
    - figures from another table version (a re-projection under way, see indexers.fx) are
      checked against the exact query too: their base figures mean nothing to this table.
    Same answer as the exact query, document for document (tests/search/test_converted_bands.py)."""
    rates = p.fx
    assert rates is not None
    exact = _exact_range(p, basis, lo, hi)
    bands = _bands(p, basis, lo, hi)
    if exact is MATCH_NONE or bands is None:
        return exact
    base, inner, wide = bands
    version = {"term": {F.FX_VERSION: rates.version}}
    edges: list[dict[str, Any]] = []
    if inner is None:  # bounds so close that no figure is sure: the whole wide range is edge
        edges.append({"range": {base: wide}})
    else:
        if "gte" in wide:
            edges.append({"range": {base: {"gte": wide["gte"], "lt": inner["gte"]}}})
        if "lte" in wide:
            edges.append({"range": {base: {"gt": inner["lte"], "lte": wide["lte"]}}})
    edge: dict[str, Any] = (
        edges[0] if len(edges) == 1 else {"bool": {"should": edges, "minimum_should_match": 1}}
    )
    clauses: list[dict[str, Any]] = []
    if inner is not None:
        clauses.append({"bool": {"filter": [version, {"range": {base: inner}}]}})
    if edges:
        clauses.append({"bool": {"filter": [version, edge, exact]}})
    clauses.append({"bool": {"filter": [_other_version(rates), exact]}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


Bands = tuple[str, dict[str, int] | None, dict[str, int]]  # base field, inner, wide


def _bands(p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None) -> Bands | None:
    """`_base_bands` of the bounds [lo, hi] in `p.currency`, remembered: a price sort towards
    its bound needs the same bands as the bound's filter (~36 us a search otherwise)."""
    return _per_table(_make_bands, p, basis, lo, hi)


def _make_bands(p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None) -> Bands | None:
    assert p.fx is not None
    return _base_bands(p.fx, basis, _per_currency_bounds(p, basis, lo, hi))


def _base_field(basis: PriceBasis) -> str | None:
    """The base-currency figure the indexer writes for `basis.field` (None: it writes none)."""
    if basis.field == F.PRICE_AMOUNT:
        return F.PRICE_BASE
    prefix = f"{F.STAY_CHARGE}.n"
    if basis.field.startswith(prefix):
        return stay_base_field(int(basis.field.removeprefix(prefix)))
    return None


def _per_currency_bounds(
    p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None
) -> dict[str, tuple[int | None, int | None]] | None:
    """{currency: (lowest, highest) stored figure that passes}, the bounds `_exact_range`
    puts in its clauses (None for an open side); None when some currency of the table has no
    figure that passes (the bands below need every currency inside the inner range)."""
    rates, target = p.fx, p.currency
    assert rates is not None and target is not None
    out: dict[str, tuple[int | None, int | None]] = {}
    for source in sorted(rates.table):
        low = basis.lower(min_source(rates, lo, source, target)) if lo is not None else None
        high = None
        if hi is not None:
            high = basis.upper(max_source(rates, hi, source, target))
            if high < 0 or (low is not None and low > high):
                return None
        out[source] = (low, high)
    return out


def _base_bands(
    rates: Rates, basis: PriceBasis, bounds: dict[str, tuple[int | None, int | None]] | None
) -> Bands | None:
    """(base field, inner range, wide range) of base figures for per-currency bounds on the
    stored figure v: figure(v) = floor(v x base_ratio(L)) is non-decreasing in v, so for one
    currency L with bounds [a, b]
    - v >= a and v <= b imply a figure in [figure(a), figure(b)]: wide is their hull;
    - a figure >= figure(a - 1) + 1 implies v >= a, and one <= figure(b + 1) - 1 implies
      v <= b: inner is the intersection of these over every currency.
    Inner is None when empty; None altogether when nothing is bounded or figures may clamp."""
    base = _base_field(basis)
    if base is None or bounds is None:
        return None
    sure_lo: list[int] = []
    sure_hi: list[int] = []
    need_lo: list[int] = []
    need_hi: list[int] = []
    for source, (a, b) in bounds.items():
        num, den = rates.base_ratio(source)

        def figure(v: int, num: int = num, den: int = den) -> int:
            return v * num // den

        if a is not None:
            a = max(a, 0)  # figures are never negative: a bound at 0 bounds nothing
            need_lo.append(figure(a))
            sure_lo.append(figure(a - 1) + 1 if a > 0 else 0)
        if b is not None:
            need_hi.append(figure(b))
            sure_hi.append(figure(b + 1) - 1)
    if not need_lo and not need_hi:
        return None
    if max(need_lo + need_hi + sure_lo + sure_hi) >= LONG_MAX:
        return None  # the indexer clamps figures there, so they stop being exact
    wide: dict[str, int] = {}
    inner: dict[str, int] = {}
    if need_lo:
        wide["gte"], inner["gte"] = min(need_lo), max(sure_lo)
    if need_hi:
        wide["lte"], inner["lte"] = max(need_hi), min(sure_hi)
    if inner.get("gte", 0) > inner.get("lte", LONG_MAX):
        return base, None, wide
    return base, inner, wide


def _exact_range(
    p: SearchParams, basis: PriceBasis, lo: int | None, hi: int | None
) -> dict[str, Any]:
    """Display-currency bounds [lo, hi] as an exact query on the listings' own stored figures:
    one clause per listing currency L of the table, `currency == L AND lower_L <= field <=
    upper_L`. Exact because each step inverts a monotone function exactly:
    `documents.fx.max_source`/`min_source` give the edge amounts in L of the half-even
    conversion to the display currency, and `PriceBasis` maps totals in L onto the stored field
    (the guest fee and units, as without a currency). No scripting needed."""
    rates, target = p.fx, p.currency
    assert rates is not None and target is not None
    clauses: list[dict[str, Any]] = []
    for source in sorted(rates.table):
        rng: dict[str, int] = {}
        if lo is not None:
            rng["gte"] = basis.lower(min_source(rates, lo, source, target))
        if hi is not None:
            top = basis.upper(max_source(rates, hi, source, target))
            if top < 0:
                continue  # nothing in this currency converts to <= hi
            rng["lte"] = top
        clauses.append(
            {
                "bool": {
                    "filter": [
                        {"term": {F.PRICE_CURRENCY: source}},
                        {"range": {basis.field: rng}},
                    ]
                }
            }
        )
    if not clauses:
        return MATCH_NONE
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def price_basis(p: SearchParams, guest_fee_bps: int) -> PriceBasis:
    n = p.stay_nights()
    if n is not None:
        if n <= QUOTED_NIGHTS:
            return PriceBasis(stay_charge_field(n), 1, guest_fee_bps)
        return PriceBasis(F.PRICE_AMOUNT, 1, None)  # validate() refuses price use here
    units = p.units()
    if units is not None:
        return PriceBasis(F.PRICE_AMOUNT, units, guest_fee_bps)
    return PriceBasis(F.PRICE_AMOUNT, 1, None)


MAX_FLEX_DAYS = 366


def _validate_flexible(p: SearchParams) -> None:
    if p.nights is None:
        if p.from_ is not None or p.to is not None:
            raise invalid(["query", "nights"], "from/to search flexible dates: give nights")
        return
    if p.from_ is None or p.to is None:
        raise invalid(["query", "from" if p.from_ is None else "to"], "nights needs from and to")
    if p.from_ > p.to:
        raise invalid(["query", "from"], "must be on or before to")
    if (p.to - p.from_).days > MAX_FLEX_DAYS:
        raise invalid(["query", "to"], f"at most {MAX_FLEX_DAYS} days after from")
    if p.busy_window() is not None or p.quantity is not None:
        raise invalid(["query", "nights"], "use either nights/from/to or fixed dates")


def earliest_stay(src: dict[str, Any], p: SearchParams, now: datetime) -> tuple[date, date] | None:
    """The first run of `nights` nights starting in [from, to] that the listing takes, checked
    against its busy periods and advance notice (the ES query checked the rest: unit, nights
    rules, capacity, price for that length, which do not depend on the start)."""
    assert p.nights is not None and p.from_ is not None and p.to is not None
    notice = timedelta(hours=int(src.get(F.NOTICE_HOURS) or 0))
    busy = sorted((_parse(b["gte"]), _parse(b["lt"])) for b in src.get(F.BUSY) or [])
    length = timedelta(days=p.nights)
    day = p.from_
    while day <= p.to:
        start = midnight(day)
        if start - now > BOOKING_HORIZON:
            return None
        if start >= now + notice:
            end = start + length
            clash = next((e for s, e in busy if s < end and start < e), None)
            if clash is None:
                return day, day + length
            # No start before the end of this busy period can work.
            day = max(day + timedelta(days=1), clash.date())
            continue
        day += timedelta(days=1)
    return None


def _parse(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _facet_filters(p: SearchParams, basis: PriceBasis) -> dict[str, dict[str, Any]]:
    """Filters that belong to a facet: with multi-select, a facet ignores its own filter."""
    out: dict[str, dict[str, Any]] = {}
    if p.category:
        out["category"] = {"terms": {F.CATEGORY: [c.lower() for c in p.category]}}
    if p.amenities:
        out["amenities"] = {
            "bool": {"filter": [{"term": {F.AMENITIES: a.lower()}} for a in p.amenities]}
        }
    if p.city:
        out["city"] = {"terms": {F.CITY: p.city}}
    if p.converted is not None and (p.price_min is not None or p.price_max is not None):
        out["price"] = converted_range(p, basis, p.price_min, p.price_max)
    elif p.price_min is not None or p.price_max is not None:
        rng: dict[str, int] = {}
        if p.price_min is not None:
            rng["gte"] = basis.lower(p.price_min)
        if p.price_max is not None:
            rng["lte"] = basis.upper(p.price_max)
        out["price"] = {"range": {basis.field: rng}}
    if p.rating_min is not None:
        out["rating"] = {"range": {F.RATING_AVERAGE: {"gte": p.rating_min}}}
    return out


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


MATCH_NONE: dict[str, Any] = {"match_none": {}}


def notice_budget(start: datetime, now: datetime) -> int:
    """The most advance notice (whole hours) a listing may ask for and still take a booking
    starting at `start`: bookings refuse `start < now + notice`, i.e. accept exactly when
    `notice * 1 h <= start - now`, which for integer hours is `notice <= floor(...)`.
    Negative when `start` is already past (nothing accepts it)."""
    return math.floor((as_utc(start) - now) / timedelta(hours=1))


def _bookable_filters(p: SearchParams, now: datetime) -> tuple[list[Any], list[Any]]:
    """The filters under which every hit accepts the booking the search describes.

    They mirror `service.bookings.service.validate` and `service.availability.claims`:
    check_in/check_out -> night listings whose min/max nights, advance notice and capacity
    accept the stay and whose nights are all free; start/end -> hour listings with `guests`
    seats (default 1) free in every slot; quantity -> item listings with that much stock.
    Without any of these every listing with something left to book is a hit.
    """
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    window = p.busy_window()
    if p.quantity is not None:
        q = p.quantity
        filters += [
            {"term": {F.UNIT: Unit.item.value}},
            {"range": {F.STOCK_LEFT: {"gte": q}}},
        ]
        must_not.append({"range": {F.STOCK: {"lt": q}}})  # no stock cap passes
        return filters, must_not
    if p.flexible:
        return _flexible_filters(p, now)
    if window is None:
        return [{"term": {F.IN_STOCK: True}}], []
    start, end = window
    budget = notice_budget(start, now)
    if budget < 0 or start - now > BOOKING_HORIZON:
        return [MATCH_NONE], []
    filters.append({"range": {F.NOTICE_HOURS: {"lte": budget}}})
    must_not.append(
        {"range": {F.BUSY: {"gte": _iso(start), "lt": _iso(end), "relation": "intersects"}}}
    )
    if p.check_in is not None and p.check_out is not None:
        n = (p.check_out - p.check_in).days
        filters += [
            {"term": {F.UNIT: Unit.night.value}},
            {"range": {F.MIN_NIGHTS: {"lte": n}}},
            {"range": {F.MAX_NIGHTS: {"gte": n}}},
        ]
        return filters, must_not
    seats = p.guests or 1
    filters += [
        {"term": {F.UNIT: Unit.hour.value}},
        {"range": {F.CAPACITY: {"gte": seats}}},
    ]
    # A slot in the window with fewer seats left than asked for rules the listing out.
    must_not.append(
        {
            "nested": {
                "path": F.SLOTS,
                "query": {
                    "bool": {
                        "filter": [
                            {"range": {F.SLOT_AT: {"gte": _iso(start), "lt": _iso(end)}}},
                            {"range": {F.SLOT_LEFT: {"lt": seats}}},
                        ]
                    }
                },
            }
        }
    )
    return filters, must_not


def _flexible_filters(p: SearchParams, now: datetime) -> tuple[list[Any], list[Any]]:
    """Candidates of a flexible search: what holds whatever the start (unit, the nights rules,
    notice for the latest start, not busy all along); `earliest_stay` checks the rest."""
    assert p.nights is not None and p.from_ is not None and p.to is not None
    first, last = midnight(p.from_), midnight(p.to)
    budget = notice_budget(last, now)
    if budget < 0 or first - now > BOOKING_HORIZON:
        return [MATCH_NONE], []
    span_end = last + timedelta(days=p.nights)
    filters = [
        {"term": {F.UNIT: Unit.night.value}},
        {"range": {F.MIN_NIGHTS: {"lte": p.nights}}},
        {"range": {F.MAX_NIGHTS: {"gte": p.nights}}},
        {"range": {F.NOTICE_HOURS: {"lte": budget}}},
    ]
    must_not = [
        {"range": {F.BUSY: {"gte": _iso(first), "lt": _iso(span_end), "relation": "contains"}}}
    ]
    return filters, must_not


def _base_filters(
    p: SearchParams, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    filters, must_not = _bookable_filters(p, now)
    if p.unit:
        filters.append({"terms": {F.UNIT: p.unit}})
    if p.origin is not None and p.radius_km is not None:
        filters.append(
            {
                "geo_distance": {
                    "distance": f"{p.radius_km}km",
                    "distance_type": "arc",
                    F.LOCATION: {"lat": p.lat, "lon": p.lon},
                }
            }
        )
    if p.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = p.bbox
        filters.append(
            {
                "geo_bounding_box": {
                    F.LOCATION: {
                        "top_left": {"lat": max_lat, "lon": min_lon},
                        "bottom_right": {"lat": min_lat, "lon": max_lon},
                    }
                }
            }
        )
    if p.guests is not None:
        filters.append({"range": {F.CAPACITY: {"gte": p.guests}}})
    if p.converted is not None:
        filters.append(convertible(p.converted))
    return filters, must_not


def convertible(rates: Rates) -> dict[str, Any]:
    """Listings whose price `rates` can convert (only they have a price in `currency`): those
    the indexer projected with this table (it writes the version only when it knows the
    currency), or, while a re-projection is under way, those from another version whose
    currency the table has. Cheaper than the currency terms alone: those are a disjunction of
    one postings list per currency, evaluated on every candidate; one version is one value."""
    return {
        "bool": {
            "should": [
                {"term": {F.FX_VERSION: rates.version}},
                {
                    "bool": {
                        "filter": [
                            _other_version(rates),
                            {"terms": {F.PRICE_CURRENCY: sorted(rates.table)}},
                        ]
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def _other_version(rates: Rates) -> dict[str, Any]:
    """Figures from another table than `rates` (0: none, see indexers.projection): as two
    ranges, each as cheap as the documents it matches (none once a re-projection is done),
    where a must_not would be tested on every candidate."""
    return {
        "bool": {
            "should": [
                {"range": {F.FX_VERSION: {"lt": rates.version}}},
                {"range": {F.FX_VERSION: {"gt": rates.version}}},
            ],
            "minimum_should_match": 1,
        }
    }


def _sort(p: SearchParams, basis: PriceBasis) -> list[Any]:
    tiebreak = {F.ID: "asc"}
    price = base_sort_field(p) if p.converted is not None else basis.field
    if p.sort == "price_asc":
        return [{price: "asc"}, tiebreak]
    if p.sort == "price_desc":
        return [{price: "desc"}, tiebreak]
    if p.sort == "distance":
        assert p.origin is not None
        return [
            {
                "_geo_distance": {
                    F.LOCATION: {"lat": p.lat, "lon": p.lon},
                    "order": "asc",
                    "unit": "km",
                    "distance_type": "arc",
                }
            },
            tiebreak,
        ]
    if p.sort == "rating":
        return [{F.RATING_BAYESIAN: "desc"}, {F.RATING_COUNT: "desc"}, tiebreak]
    if p.sort == "newest":
        return [{F.CREATED_AT: "desc"}, tiebreak]
    if not p.q:
        # Without keywords every hit scores the same, so relevance is newest first; a numeric
        # first key lets Lucene skip documents that cannot reach the page (with _score first
        # it compared every hit: ~60 ms over 856k hits at 1M listings).
        return [{F.CREATED_AT: "desc"}, tiebreak]
    return ["_score", {F.CREATED_AT: "desc"}, tiebreak]


# Sort values Elasticsearch hands back (and takes in `search_after`): longs and doubles for
# numeric keys, the id keyword as a string.
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def valid_search_after(p: SearchParams, after: object) -> bool:
    """Whether `after` could be the sort values of a hit of this search: one per sort key,
    a string for the id tiebreak, a finite number (not a bool) in long range for the rest.
    Anything else would reach Elasticsearch and fail there."""
    keys = _sort(p, price_basis(p, 0))  # the fee moves bounds, never the sort keys
    if not isinstance(after, list) or len(after) != len(keys):
        return False
    return all(_fits(key, value) for key, value in zip(keys, after, strict=True))


def _fits(key: object, value: object) -> bool:
    if isinstance(key, dict) and F.ID in key:
        return isinstance(value, str) and 0 < len(value) <= 64
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and _LONG_MIN <= value <= _LONG_MAX


def _facet_aggs(name: str, basis: PriceBasis, p: SearchParams) -> dict[str, Any]:
    """The sub-aggregations of one facet (what `facets_of` reads back)."""
    if name == "price" and (target := p.price_facet_currency) is not None:
        return _converted_price_aggs(p, basis, target)
    return {"values": _facet_agg(name, basis, p)}


# Sub-aggregations of a converted price facet, one per listing currency of the rate table.
CONVERTED_PREFIX = "in_"


def _converted_price_aggs(p: SearchParams, basis: PriceBasis, target: str) -> dict[str, Any]:
    """The price buckets in `target` (`currency`, or the base, see facet_currency), exactly:
    per listing currency L, a `term` filter on L and a `range` aggregation on the stored
    figure whose edges are the display edges mapped into L (`documents.fx.min_source` then
    `PriceBasis.lower`, the steps of converted_range for a half-open top), so a listing
    falls in a bucket exactly when its converted figure does; `facets_of` adds the currencies'
    counts up per bucket. Measured at 100k listings, one `filters` bucket per display range
    (5 bool clauses of 18 currency ranges each, evaluated over the whole index) cost ~80 ms a
    search; term filters with doc-value ranges cost what an unconverted range facet does."""
    rates = p.fx
    assert rates is not None
    out: dict[str, Any] = {}
    for source in sorted(rates.table):
        ranges: list[dict[str, Any]] = []
        for i, (lo, hi) in enumerate(PRICE_BUCKETS):
            r: dict[str, Any] = {"key": str(i)}
            if lo is not None:
                r["from"] = basis.lower(min_source(rates, lo, source, target))
            if hi is not None:
                r["to"] = basis.lower(min_source(rates, hi, source, target))
            ranges.append(r)
        out[f"{CONVERTED_PREFIX}{source}"] = {
            "filter": {"term": {F.PRICE_CURRENCY: source}},
            "aggs": {"values": {"range": {"field": basis.field, "ranges": ranges}}},
        }
    return out


def _facet_agg(name: str, basis: PriceBasis, p: SearchParams) -> dict[str, Any]:
    if name in ("category", "amenities", "city"):
        fld = {"category": F.CATEGORY, "amenities": F.AMENITIES, "city": F.CITY}[name]
        return {
            "terms": {
                "field": fld,
                "size": TERMS_FACET_SIZE,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
    if name == "price":
        # Buckets of the same figure price_min/price_max bound (the stay's total when dated),
        # each [from, to) mapped exactly onto the indexed field; keys give the bounds back.
        ranges: list[dict[str, Any]] = []
        for i, (lo, hi) in enumerate(PRICE_BUCKETS):
            r: dict[str, Any] = {"key": str(i)}
            if lo is not None:
                r["from"] = basis.lower(lo)
            if hi is not None:
                r["to"] = basis.lower(hi)
            ranges.append(r)
        return {"range": {"field": basis.field, "ranges": ranges}}
    return {"range": {"field": F.RATING_AVERAGE, "ranges": [{"from": lo} for lo in RATING_BUCKETS]}}


def build_query(
    p: SearchParams, *, guest_fee_bps: int, now: datetime | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The query every search of listings runs (the list, the map, similar listings,
    saved-search alerts), and the active filters of requested facets, which the caller puts in
    post_filter instead. With no facets requested the second part is empty: the query alone
    selects the hits. `guest_fee_bps` turns total-price bounds into exact stored bounds."""
    basis = price_basis(p, guest_fee_bps)
    filters, must_not = _base_filters(p, now or utcnow())
    facet_filters = _facet_filters(p, basis)
    # Active filters of requested facets go to post_filter (they must not narrow their own
    # facet's counts); the others narrow everything, so they join the main query.
    post = {k: v for k, v in facet_filters.items() if k in p.facets}
    filters += [v for k, v in facet_filters.items() if k not in p.facets]
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if must_not:
        query["bool"]["must_not"] = must_not
    if p.q:
        query["bool"]["must"] = [
            {
                "multi_match": {
                    "query": p.q,
                    "fields": TEXT_FIELDS,
                    "type": "best_fields",
                    "fuzziness": "AUTO",
                    "prefix_length": 1,
                }
            }
        ]
    return query, post


# What `hit_of` reads from a search document: every query whose hits it shapes asks for these.
HIT_SOURCE = (
    *(F.ID, F.TITLE, F.CATEGORY, F.PRICE, F.LOCATION, F.CITY, F.RATING),
    *(F.UNIT, F.CAPACITY, F.INSTANT_BOOK, F.MIN_NIGHTS, F.PRICING),
)


def build_body(
    p: SearchParams,
    *,
    size: int,
    now: datetime,
    guest_fee_bps: int,
    search_after: list[Any] | None = None,
    inline_facets: bool = True,
) -> dict[str, Any]:
    """The hits request. `inline_facets`: exact facet aggregations in the same request (what
    the flexible-dates pass uses on its bounded candidate set); False: only the page, with the
    facet selections in its query; its count comes from `count_body` and the facets from
    `facets_bodies` (see there)."""
    basis = price_basis(p, guest_fee_bps)
    query, post = build_query(p, guest_fee_bps=guest_fee_bps, now=now)
    body: dict[str, Any] = {
        "query": query,
        "size": size,
        "sort": _sort(p, basis),
        # Split facets: `count_body` counts the hits in a request of its own (but for keyword
        # searches), so this one counts nothing and Lucene may skip documents that cannot
        # reach the page (a numeric first sort key); counting every hit here made it cost as
        # much as the result set.
        "track_total_hits": inline_facets or counts_itself(p),
        "_source": [*HIT_SOURCE, *([F.BUSY, F.NOTICE_HOURS] if p.flexible else [])],
    }
    if p.facets and inline_facets:
        body["post_filter"] = {"bool": {"filter": list(post.values())}}
        body["aggs"] = {
            name: {
                "filter": _facet_domain(name, post),
                "aggs": _facet_aggs(name, basis, p),
            }
            for name in p.facets
        }
    elif post:
        # Split facets: nothing here aggregates, so the facet selections narrow the query
        # itself. Lucene then leads the conjunction with its sparsest clause, where a
        # post_filter is tested on every document the query matches (at 1M listings a
        # selective search over a broad query cost ~400 ms that way; docs/performance.md).
        body["query"] = _narrowed(query, post)
    start = search_after
    if start is None and not inline_facets:  # (the flexible pass pages with its own cursor)
        start = _sort_start(p, basis)
    if start is not None:
        body["search_after"] = start
    return body


def _sort_start(p: SearchParams, basis: PriceBasis) -> list[Any] | None:
    """Where a first page sorted by price towards its bound starts: just past the bound.

    A numeric sort lets Lucene skip documents that cannot beat the page's last hit, but only
    on the far side of it: sorted by price descending under a `price_max`, every listing above
    the bound (most of a catalogue, for a cheap bound) stays a candidate and is tested against
    the query, which rejects it. A `search_after` just past the bound gives the skipping its
    other side (at 1M listings, a capped descending sort in EUR took 48 ms without, 10 with;
    docs/performance.md). It changes no result: whatever it leaves out fails the bound.
    Converted sorts go by base figures, so the start is the edge of the bound's wide band
    (`_base_bands`); a listing still to be re-projected after a rate change sorts by its old
    figure, and may be left off such pages until it is (the count and bounds stay exact)."""
    if p.sort == "price_desc" and p.price_max is not None:
        side, bound = "lte", p.price_max
    elif p.sort == "price_asc" and p.price_min is not None:
        side, bound = "gte", p.price_min
    else:
        return None
    if p.converted is None:
        edge = basis.upper(bound) if side == "lte" else basis.lower(bound)
    else:
        lo, hi = (None, bound) if side == "lte" else (bound, None)
        bands = _bands(p, basis, lo, hi)
        if bands is None or side not in bands[2]:
            return None
        edge = bands[2][side]
    first = edge + 1 if side == "lte" else edge - 1
    # The id tiebreak sorts ascending: "" is before every id, so listings at exactly `first`
    # (outside the bound) are all after the start, and none inside it is lost.
    return [first, ""] if first >= 0 else None


def counts_itself(p: SearchParams) -> bool:
    """Whether the hits request of a split-facet search counts its own hits. A keyword
    search does: expanding its fuzzy terms is most of its cost (measured: `took` 12-14 ms of
    a keyword search at 2,000 listings, 2 ms without fuzziness), so a second request running
    the same query doubled that cost (bench.http: CPU per search 12.7 -> 21.5 ms), and with
    `_score` first its hits are all compared anyway."""
    return bool(p.q)


def count_body(p: SearchParams, *, now: datetime, guest_fee_bps: int) -> dict[str, Any] | None:
    """The exact count of the hits of `build_body(..., inline_facets=False)`: the same
    documents, counted without sorting or fetching, in a size-0 request the request cache can
    answer for the search's next pages. Sent beside the hits request, not after it. None when
    the hits request counts itself (`counts_itself`)."""
    if counts_itself(p):
        return None
    query, post = build_query(p, guest_fee_bps=guest_fee_bps, now=now)
    return {"query": _narrowed(query, post), "size": 0, "track_total_hits": True}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def quote(
    p: SearchParams, src: dict[str, Any], *, commission_bps: int, guest_fee_bps: int
) -> dict[str, Any] | None:
    """What POST /v1/bookings charges for the searched stay: `service.pricing.breakdown`, the
    function bookings call, on the listing's unit price and pricing."""
    units = p.units()
    if units is None:
        return None
    nightly = src.get(F.UNIT) == Unit.night
    raw = src.get(F.PRICING) if nightly else None
    price = breakdown(
        Money.model_validate(src[F.PRICE]),
        units,
        commission_bps=commission_bps,
        guest_fee_bps=guest_fee_bps,
        pricing=Pricing.model_validate(raw) if raw else None,
    )
    fields = ("subtotal", "discount", "cleaning_fee", "guest_fee", "total")
    return {"units": units, **{f: getattr(price, f).model_dump() for f in fields}}


QUOTE_MONEY = ("subtotal", "discount", "cleaning_fee", "guest_fee", "total")


def displayed(
    rates: Rates, currency: str, price: dict[str, Any], q: dict[str, Any] | None
) -> dict[str, Any]:
    """`display_price` and `display_quote` in `currency`, and the table `fx_version` used:
    every figure converted on its own by `documents.fx.convert` (the one rounding rule), so
    `display_quote.total` is the converted total (its parts may not add up to it by a minor
    unit or so) and is the figure the price bounds and the price facet act on."""

    def money(m: dict[str, Any]) -> dict[str, Any]:
        return {
            "amount": convert(rates, m["amount"], m["currency"], currency),
            "currency": currency,
        }

    out: dict[str, Any] = {"display_price": money(price), "fx_version": rates.version}
    if q is not None:
        out["display_quote"] = {"units": q["units"], **{f: money(q[f]) for f in QUOTE_MONEY}}
    return out


def hit_of(
    p: SearchParams, hit: dict[str, Any], *, commission_bps: int = 0, guest_fee_bps: int = 0
) -> dict[str, Any]:
    src = hit["_source"]
    rs = src.get(F.RATING) or {}
    out: dict[str, Any] = {
        "id": src[F.ID],
        "title": src[F.TITLE],
        "category": src[F.CATEGORY],
        "price": src[F.PRICE],
        "location": src[F.LOCATION],
        "city": src[F.CITY],
        "review_summary": {
            "count": rs.get("count", 0),
            "average": rs.get("average"),
            "bayesian_average": rs.get("bayesian_average", 0.0),
        },
        "unit": src[F.UNIT],
        "capacity": src[F.CAPACITY],
        # Documents indexed before these fields existed: the listing defaults, until rebuilt.
        "instant_book": src.get(F.INSTANT_BOOK, False),
        "min_nights": src.get(F.MIN_NIGHTS, 1),
    }
    q = quote(p, src, commission_bps=commission_bps, guest_fee_bps=guest_fee_bps)
    if q is not None:
        out["quote"] = q
    if p.converted is not None:
        out.update(displayed(p.converted, p.currency, src[F.PRICE], q))  # type: ignore[arg-type]
    if p.origin is not None:
        if p.sort == "distance":
            km = float(hit["sort"][0])
        else:
            loc = src[F.LOCATION]
            km = haversine_km(p.lat, p.lon, loc["lat"], loc["lon"])  # type: ignore[arg-type]
        out["distance_km"] = round(km, 3)
    return out


def _int_or_none(v: float | None) -> int | None:
    return None if v is None else int(v)


def _same(v: float | None) -> float | None:
    return v


def _facet_domain(name: str, post: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The documents a facet counts: the query's, narrowed by every other facet's selection."""
    return {"bool": {"filter": [v for k, v in post.items() if k != name]}}


# A fixed seed: the same search samples the same documents, so its estimates do not jitter
# between identical requests and the size-0 facet request stays cacheable.
SAMPLE_SEED = 16
# random_sampler accepts a probability in (0, 0.5] or exactly 1.
MAX_SAMPLE_PROBABILITY = 0.5


def sample_probability(docs: int, *, exact_up_to: int, sample_docs: int) -> float:
    """1.0 (count every document, exact) for a facet over at most `exact_up_to` documents;
    above, the probability that samples about `sample_docs` of them. Aggregating a million
    documents per facet is what made p99 grow with the catalogue; a sample of fixed size costs
    about the same at 100k and at 1M. A probability random_sampler refuses (above 0.5) means
    so few documents that counting them all is cheap: exact again."""
    if docs <= exact_up_to:
        return 1.0
    prob = sample_docs / docs
    return prob if prob <= MAX_SAMPLE_PROBABILITY else 1.0


def _narrowed(
    query: dict[str, Any], post: dict[str, dict[str, Any]], *, lift: str | None = None
) -> dict[str, Any]:
    """`query` narrowed by every facet selection in `post` but `lift`'s own."""
    extra = [v for k, v in post.items() if k != lift]
    if not extra:
        return query
    return {"bool": {**query["bool"], "filter": [*query["bool"]["filter"], *extra]}}


def domain_count_bodies(
    p: SearchParams, *, now: datetime, guest_fee_bps: int, up_to: int
) -> dict[str, dict[str, Any]]:
    """Size-0 requests counting, per requested facet with a selection of its own, the
    documents it counts (the query narrowed by every other facet's selection), counted up to
    `up_to` and no further: enough to tell exact from sampled (`sample_probability`) at a
    cost bounded by `up_to`, not by the catalogue. A facet without a selection counts the
    hits, which `count_body` counts exactly anyway."""
    query, post = build_query(p, guest_fee_bps=guest_fee_bps, now=now)
    return {
        name: {"query": _narrowed(query, post, lift=name), "size": 0, "track_total_hits": up_to}
        for name in p.facets
        if name in post
    }


def facet_domains(p: SearchParams, total: int, counts: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Per requested facet, how many documents it counts (at most the count requests' bound):
    from its `domain_count_bodies` response, else the exact `total` of the hits."""
    return {
        name: int(counts[name]["hits"]["total"]["value"]) if name in counts else total
        for name in p.facets
    }


# The aggregation a facet group's samples sit under (no facet has this name).
SAMPLE_AGG = "sample"


def facets_bodies(
    p: SearchParams,
    *,
    now: datetime,
    guest_fee_bps: int,
    domains: dict[str, int],
    exact_up_to: int,
    sample_docs: int,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The facet requests (size 0, so Elasticsearch's request cache can serve repeats) and
    the facets whose counts they estimate. Facets counting the same documents share one
    request whose query is exactly those documents: the facets without a selection of their
    own (they count the hits), then one request per facet with a selection. A group over at
    most `exact_up_to` documents is counted exactly, so its cost is bounded by that; a larger
    one is aggregated over a random sample of about `sample_docs` of them, whose counts
    Elasticsearch scales back by 1/probability (random_sampler), and is named in the list."""
    basis = price_basis(p, guest_fee_bps)
    query, post = build_query(p, guest_fee_bps=guest_fee_bps, now=now)
    groups: dict[str | None, list[str]] = {}
    for name in p.facets:
        groups.setdefault(name if name in post else None, []).append(name)
    bodies: list[dict[str, Any]] = []
    estimated: list[str] = []
    for lift, names in groups.items():
        # A facet's aggregations hang under a filter that keeps every document of the query.
        aggs: dict[str, Any] = {
            name: {"filter": {"match_all": {}}, "aggs": _facet_aggs(name, basis, p)}
            for name in names
        }
        docs = domains[names[0]]  # one domain per group
        prob = sample_probability(docs, exact_up_to=exact_up_to, sample_docs=sample_docs)
        if prob < 1.0:
            sampler = {"probability": prob, "seed": SAMPLE_SEED}
            aggs = {SAMPLE_AGG: {"random_sampler": sampler, "aggs": aggs}}
            estimated += names
        bodies.append(
            {
                # A domain counted empty aggregates nothing: Elasticsearch answers match_none
                # with the same empty buckets without running the query again (a keyword
                # search's fuzzy expansion is most of its cost, ~25 ms for 0 hits).
                "query": MATCH_NONE if docs == 0 else _narrowed(query, post, lift=lift),
                "size": 0,
                "track_total_hits": False,
                "aggs": aggs,
            }
        )
    return bodies, [name for name in p.facets if name in estimated]


def facet_nodes(resps: list[dict[str, Any]]) -> dict[str, Any]:
    """The facets' aggregation results of `facets_bodies` responses, by facet name, in the
    shape `facets_of` reads (samples unwrapped)."""
    out: dict[str, Any] = {}
    for resp in resps:
        aggs = dict(resp.get("aggregations") or {})
        sampled = aggs.pop(SAMPLE_AGG, {})  # also carries seed, probability, doc_count
        out.update({k: v for k, v in sampled.items() if isinstance(v, dict)})
        out.update(aggs)
    return out


def facets_of(p: SearchParams, aggs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name in p.facets:
        node = aggs[name]
        if name == "price":
            # The bounds asked for (the query may have mapped them onto a stay's charge).
            counts = [0] * len(PRICE_BUCKETS)
            if "values" in node:
                per_figure = [node["values"]["buckets"]]
            else:  # converted: one range aggregation per listing currency, added up
                per_figure = [
                    sub["values"]["buckets"]
                    for key, sub in node.items()
                    if key.startswith(CONVERTED_PREFIX)
                ]
            for buckets in per_figure:
                for b in buckets:
                    counts[int(b["key"])] += b["doc_count"]
            out[name] = [
                {"from": lo, "to": hi, "count": n}
                for (lo, hi), n in zip(PRICE_BUCKETS, counts, strict=True)
            ]
            continue
        values = node["values"]["buckets"]
        if name == "rating":
            out[name] = [
                {"from": _same(b.get("from")), "to": _same(b.get("to")), "count": b["doc_count"]}
                for b in values
            ]
        else:
            out[name] = [{"value": b["key"], "count": b["doc_count"]} for b in values]
    return out
