"""Wishlist API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from documents import Listing, WishlistEntry
from documents.values import Location, Money


class ListingCard(BaseModel):
    """What a list shows of a listing (the fields of a search hit)."""

    id: str
    title: str
    category: str
    price: Money
    location: Location
    city: str

    @classmethod
    def of(cls, listing: Listing) -> ListingCard:
        return cls(
            id=str(listing.id),
            title=listing.title,
            category=listing.category,
            price=listing.price,
            location=Location.from_geo(listing.location),
            city=listing.address.city,
        )


class WishlistItemOut(BaseModel):
    listing_id: str
    saved_at: datetime
    available: bool = Field(
        description="false once the listing is unpublished, closed or deleted (it stays listed)"
    )
    listing: ListingCard | None = Field(description="null while the listing is unavailable")

    @classmethod
    def of(cls, entry: WishlistEntry, listing: Listing | None) -> WishlistItemOut:
        available = listing is not None and listing.searchable
        return cls(
            listing_id=entry.listing_id,
            saved_at=entry.created_at,
            available=available,
            listing=ListingCard.of(listing) if available and listing is not None else None,
        )
