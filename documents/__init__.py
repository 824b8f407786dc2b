"""The data model: Beanie documents (source of truth) and embedded value objects."""

from documents.audit import AuditEvent
from documents.booking import Booking, BookingStatus, PriceBreakdown
from documents.discovery import Notification, NotificationKind, SavedSearch, WishlistEntry
from documents.fx import FxTable
from documents.idempotency import IdempotencyRecord
from documents.indexing import DeadLetter, IndexerCheckpoint, IndexerLease
from documents.ledger import EntryKind, LedgerEntry
from documents.listing import (
    Availability,
    BookingRules,
    CancellationPolicy,
    Hold,
    Listing,
    ListingStatus,
    Pricing,
    ReviewSummary,
    Unit,
)
from documents.messaging import Conversation, Message
from documents.migration import AppliedMigration
from documents.payment import Payment, PaymentStatus, Payout, PayoutStatus, ProviderEvent
from documents.review import Review
from documents.user import Role, User

ALL_DOCUMENTS: list[type] = [
    User,
    Listing,
    Booking,
    LedgerEntry,
    Payment,
    ProviderEvent,
    Payout,
    Review,
    Conversation,
    Message,
    IdempotencyRecord,
    AuditEvent,
    IndexerCheckpoint,
    IndexerLease,
    DeadLetter,
    AppliedMigration,
    WishlistEntry,
    SavedSearch,
    Notification,
    FxTable,
]

__all__ = [
    "ALL_DOCUMENTS",
    "AppliedMigration",
    "AuditEvent",
    "Availability",
    "Booking",
    "BookingRules",
    "BookingStatus",
    "CancellationPolicy",
    "Conversation",
    "DeadLetter",
    "EntryKind",
    "FxTable",
    "Hold",
    "IdempotencyRecord",
    "IndexerCheckpoint",
    "IndexerLease",
    "LedgerEntry",
    "Listing",
    "ListingStatus",
    "Message",
    "Notification",
    "NotificationKind",
    "Payment",
    "PaymentStatus",
    "Payout",
    "PayoutStatus",
    "PriceBreakdown",
    "Pricing",
    "ProviderEvent",
    "Review",
    "ReviewSummary",
    "Role",
    "SavedSearch",
    "Unit",
    "User",
    "WishlistEntry",
]
