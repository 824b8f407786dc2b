"""Saved searches and notifications: API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from documents import Notification, NotificationKind, SavedSearch
from documents.values import Money
from service.core.pagination import Page
from service.search.schemas import SearchFilters


class SavedSearchParams(SearchFilters):
    """The search parameters of `GET /v1/search/listings` (same names, same rules); an unknown
    name is a 422 rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")

    # A JSON body, unlike the query string these names come from: integers are integers
    # ("4" or 4.0 is a 422, as everywhere else in a body).
    price_min: int | None = Field(default=None, ge=0, le=10**12, strict=True)
    price_max: int | None = Field(default=None, ge=0, le=10**12, strict=True)
    guests: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    nights: int | None = Field(default=None, ge=1, le=365, strict=True)


class SavedSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    params: SavedSearchParams = Field(default_factory=SavedSearchParams)


class SavedSearchOut(BaseModel):
    id: str
    name: str
    params: dict[str, Any] = Field(description="the parameters given (defaults left out)")
    created_at: datetime
    last_run_at: datetime | None = Field(description="when the alert job last checked it")

    @classmethod
    def of(cls, doc: SavedSearch) -> SavedSearchOut:
        return cls(
            id=str(doc.id),
            name=doc.name,
            params=doc.params,
            created_at=doc.created_at,
            last_run_at=doc.last_run_at,
        )


class NotificationOut(BaseModel):
    id: str
    kind: NotificationKind
    saved_search_id: str
    listing_id: str
    title: str
    price: Money
    previous_price: Money | None = Field(description="the price before the drop (price_drop)")
    read: bool
    created_at: datetime

    @classmethod
    def of(cls, doc: Notification) -> NotificationOut:
        return cls(
            id=str(doc.id),
            kind=doc.kind,
            saved_search_id=doc.saved_search_id,
            listing_id=doc.listing_id,
            title=doc.title,
            price=doc.price,
            previous_price=doc.previous_price,
            read=doc.read_at is not None,
            created_at=doc.created_at,
        )


class NotificationPage(Page[NotificationOut]):
    unread_count: int = Field(description="the caller's unread notifications (all pages)")


Id = Annotated[str, StringConstraints(max_length=64)]


class ReadIn(BaseModel):
    """Either `ids` (the caller's notifications) or `all: true`."""

    model_config = ConfigDict(extra="forbid")

    ids: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=100)
    ] = []
    all: bool = False


class ReadOut(BaseModel):
    updated: int
    unread_count: int
