"""The listings index: one versioned mapping + settings, and the names everything else uses.

Only features of the integ-test distribution are used (standard analyzer, lowercase
normalizer, keyword, geo_point, date/date_range, numerics, completion), so the same mapping
works on the test node and on the production image.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Bump when the mapping changes incompatibly; `marketplace index rebuild` moves the alias.
MAPPING_VERSION = 3


class F:
    """Search document field names: the mapping, the projection and the queries share these."""

    ID = "id"
    TITLE = "title"
    DESCRIPTION = "description"
    CATEGORY = "category"
    AMENITIES = "amenities"
    ATTRIBUTES = "attributes"  # source only, rendered as-is
    ATTRIBUTE_TERMS = "attribute_terms"  # "key=value" keywords for exact filters
    CITY = "city"
    CITY_TEXT = "city.text"
    COUNTRY = "country"
    LOCATION = "location"
    PRICE = "price"
    PRICE_AMOUNT = "price.amount"
    PRICE_CURRENCY = "price.currency"
    CAPACITY = "capacity"
    PRICING = "pricing"  # source only: the quote of a hit is computed from it
    # Night unit: what a stay of n nights costs before the guest fee (subtotal - discount +
    # cleaning fee), for n = 1..QUOTED_NIGHTS, under "n1".."n30". See `stay_charge_field`.
    STAY_CHARGE = "stay_charge"
    # The same figures in the fx table's base currency, for sorts across currencies: base minor
    # units x documents.fx.BASE_FIGURE_SCALE (floored), for the unit price and each stay_charge
    # n<k>, computed with table version FX_VERSION (0: no table, or a currency it lacks).
    PRICE_BASE = "price_base"
    STAY_BASE = "stay_base"
    FX_VERSION = "fx_version"
    UNIT = "unit"
    # Booking terms a hit must show so an app can book from a result list, and the rules a
    # dated search must honour (a hit is bookable for the dates asked).
    INSTANT_BOOK = "instant_book"
    MIN_NIGHTS = "min_nights"
    MAX_NIGHTS = "max_nights"
    NOTICE_HOURS = "advance_notice_hours"
    STOCK = "stock"  # items: the most one order may take (None: no limit)
    RATING = "review_summary"
    RATING_AVERAGE = "review_summary.average"
    RATING_COUNT = "review_summary.count"
    RATING_BAYESIAN = "review_summary.bayesian_average"
    # Booked and blocked periods (and full hour slots) as half-open date ranges.
    BUSY = "busy"
    # Hour unit: each partly or fully taken hour slot with the seats it has left (nested, so
    # "some slot in the window has fewer than k seats left" is one exact query).
    SLOTS = "slots"
    SLOT_AT = "slots.at"
    SLOT_LEFT = "slots.left"
    STOCK_LEFT = "stock_left"
    IN_STOCK = "in_stock"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    VERSION = "version"
    SUGGEST = "suggest"


# Stays up to this many nights have their price materialised in the index, so search can bound
# and sort dated night searches by the exact total; longer stays are quoted but not filtered.
QUOTED_NIGHTS = 30


def stay_charge_field(nights: int) -> str:
    return f"{F.STAY_CHARGE}.n{nights}"


def stay_base_field(nights: int) -> str:
    return f"{F.STAY_BASE}.n{nights}"


# Search fields the projection copies from the stored listing as they are (lists and dicts
# copied, a missing one takes the document's default): a new searchable field of this kind is
# the document field, its mapping below and its name here. The others are derived in
# indexers.projection.project_stored.
COPIED: tuple[str, ...] = (
    F.TITLE,
    F.DESCRIPTION,
    F.CATEGORY,
    F.AMENITIES,
    F.ATTRIBUTES,
    F.CAPACITY,
    F.STOCK,
    F.PRICING,
)


def alias_name(prefix: str) -> str:
    return f"{prefix}listings"


def index_pattern(prefix: str) -> str:
    """Every concrete listings index of any mapping version under this prefix."""
    return f"{prefix}listings-*"


def new_index_name(prefix: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{prefix}listings-{MAPPING_VERSION}-{stamp}"


_KEYWORD_LC = {"type": "keyword", "normalizer": "lc"}

MAPPINGS: dict[str, Any] = {
    # Unknown fields are a projection bug: reject them (they land in the dead-letter collection).
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        F.ID: {"type": "keyword"},
        F.TITLE: {"type": "text", "analyzer": "standard"},
        F.DESCRIPTION: {"type": "text", "analyzer": "standard"},
        F.CATEGORY: _KEYWORD_LC,
        F.AMENITIES: _KEYWORD_LC,
        F.ATTRIBUTES: {"type": "object", "enabled": False},
        F.ATTRIBUTE_TERMS: {"type": "keyword"},
        F.CITY: {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "standard"}}},
        F.COUNTRY: {"type": "keyword"},
        F.LOCATION: {"type": "geo_point"},
        F.PRICE: {
            "properties": {"amount": {"type": "long"}, "currency": {"type": "keyword"}},
        },
        F.CAPACITY: {"type": "integer"},
        F.PRICING: {"type": "object", "enabled": False},
        F.STAY_CHARGE: {
            "properties": {f"n{n}": {"type": "long"} for n in range(1, QUOTED_NIGHTS + 1)}
        },
        F.PRICE_BASE: {"type": "long"},
        F.STAY_BASE: {
            "properties": {f"n{n}": {"type": "long"} for n in range(1, QUOTED_NIGHTS + 1)}
        },
        F.FX_VERSION: {"type": "long"},
        F.UNIT: {"type": "keyword"},
        F.INSTANT_BOOK: {"type": "boolean"},
        F.MIN_NIGHTS: {"type": "integer"},
        F.MAX_NIGHTS: {"type": "integer"},
        F.NOTICE_HOURS: {"type": "integer"},
        F.STOCK: {"type": "integer"},
        F.RATING: {
            "properties": {
                "count": {"type": "integer"},
                "average": {"type": "double"},
                "bayesian_average": {"type": "double"},
                "histogram": {"type": "object", "enabled": False},
            }
        },
        F.BUSY: {"type": "date_range", "format": "strict_date_optional_time||epoch_millis"},
        F.SLOTS: {
            "type": "nested",
            "properties": {"at": {"type": "date"}, "left": {"type": "integer"}},
        },
        F.STOCK_LEFT: {"type": "integer"},
        F.IN_STOCK: {"type": "boolean"},
        F.CREATED_AT: {"type": "date"},
        F.UPDATED_AT: {"type": "date"},
        F.VERSION: {"type": "long"},
        F.SUGGEST: {
            "type": "completion",
            "analyzer": "standard",
            "search_analyzer": "standard",
            "preserve_separators": True,
            "max_input_length": 100,
        },
    },
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    # Write -> searchable lag is dominated by refresh; keep it well under a second.
    "refresh_interval": "250ms",
    # Delete tombstones must outlive any in-flight stale write (external versioning).
    "gc_deletes": "1h",
    "max_result_window": 10_000,
    "analysis": {"normalizer": {"lc": {"type": "custom", "filter": ["lowercase"]}}},
}

# While a rebuild bulk-loads a fresh index nobody reads yet: no refreshes, and no replicas
# (each replica would index every document again); they are built by copying segments after.
BULK_LOAD_SETTINGS: dict[str, Any] = {"refresh_interval": "-1", "number_of_replicas": 0}
LIVE_SETTINGS: dict[str, Any] = {"refresh_interval": SETTINGS["refresh_interval"]}


def index_settings(
    *, shards: int | None = None, replicas: int | None = None, bulk_load: bool = False
) -> dict[str, Any]:
    """SETTINGS with the configured layout (None: the defaults above), for a new index."""
    out = dict(SETTINGS)
    if shards is not None:
        out["number_of_shards"] = shards
    if replicas is not None:
        out["number_of_replicas"] = replicas
    return {**out, **(BULK_LOAD_SETTINGS if bulk_load else {})}
