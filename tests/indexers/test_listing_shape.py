"""One listing shape: the document, the search index and the API schemas must not drift.

Each table below says where a field goes. A new document field has to be placed (indexed,
shown by the API, or named as neither), and a new index or API field has to come from the
document, so adding a field without deciding where it goes fails here.
"""

from __future__ import annotations

from typing import Any

from documents.listing import STORED_FIELDS
from indexers.definition import COPIED, MAPPINGS, F
from indexers.projection import project_stored
from service.listings.schemas import ListingIn, ListingOut, ListingPatch
from service.seeding import Generator

# Index fields the projection derives, and the document fields each is derived from.
DERIVED: dict[str, set[str]] = {
    F.ID: set(),  # the _id
    F.ATTRIBUTE_TERMS: {"attributes"},
    F.CITY: {"address"},
    F.COUNTRY: {"address"},
    F.LOCATION: {"location"},
    F.PRICE: {"price"},
    F.STAY_CHARGE: {"price", "pricing", "unit"},
    # With the exchange-rate table (documents.fx.FxTable) in use by the indexer.
    F.PRICE_BASE: {"price"},
    F.STAY_BASE: {"price", "pricing", "unit"},
    F.FX_VERSION: {"price"},
    F.UNIT: {"unit"},
    F.INSTANT_BOOK: {"rules"},
    F.MIN_NIGHTS: {"rules"},
    F.MAX_NIGHTS: {"rules"},
    F.NOTICE_HOURS: {"rules"},
    F.SLOTS: {"availability", "unit", "capacity"},
    F.RATING: {"review_summary"},
    F.BUSY: {"availability", "unit", "capacity"},
    F.STOCK_LEFT: {"availability"},
    F.IN_STOCK: {"availability", "unit"},
    F.CREATED_AT: {"created_at"},
    F.UPDATED_AT: {"updated_at"},
    F.VERSION: {"version"},
    F.SUGGEST: {"title", "category", "address"},
}
# Document fields deliberately not searchable (filters and ranking never use them).
NOT_INDEXED = {"owner_id", "status", "published_at", "deleted_at"}
# Document fields the API never shows, and API fields that are not document fields.
NOT_IN_API = {"deleted_at"}
API_ONLY = {"id"}
# Document fields no client may set (the service owns them).
NOT_WRITABLE = {
    "owner_id",
    "availability",
    "review_summary",
    "status",
    "version",
    "created_at",
    "updated_at",
    "published_at",
    "deleted_at",
}


def _stored_sample() -> dict[str, Any]:
    gen = Generator(listings=40, users=4, seed=1)
    gen.users("hash")
    return next(raw for batch in gen.batches() for raw in batch.listings)


def test_the_projection_writes_exactly_the_mapped_fields() -> None:
    doc = project_stored(_stored_sample())
    assert set(doc) == set(MAPPINGS["properties"])
    top_level = {v for k, v in vars(F).items() if k.isupper() and "." not in v}
    assert top_level == set(MAPPINGS["properties"])


def test_every_index_field_comes_from_the_document() -> None:
    stored = set(STORED_FIELDS)
    assert set(COPIED) <= stored, set(COPIED) - stored
    assert not set(COPIED) & set(DERIVED), "a field is either copied or derived"
    assert set(COPIED) | set(DERIVED) == set(MAPPINGS["properties"])
    for field, sources in DERIVED.items():
        assert sources <= stored, (field, sources - stored)


def test_every_document_field_is_placed() -> None:
    indexed = set(COPIED).union(*DERIVED.values())
    unplaced = set(STORED_FIELDS) - indexed - NOT_INDEXED
    assert not unplaced, f"index these or add them to NOT_INDEXED: {sorted(unplaced)}"
    assert not NOT_INDEXED & indexed, sorted(NOT_INDEXED & indexed)


def test_the_api_schemas_match_the_document() -> None:
    stored = set(STORED_FIELDS)
    assert set(ListingOut.model_fields) - API_ONLY == stored - NOT_IN_API
    writable = stored - NOT_WRITABLE
    assert set(ListingIn.model_fields) == writable
    assert set(ListingPatch.model_fields) == writable - {"unit"}  # fixed once created


def test_the_seed_generator_writes_the_stored_shape() -> None:
    assert list(_stored_sample()) == ["_id", *STORED_FIELDS]
