"""The words of the published contract: operationIds, summaries, descriptions, examples, tags.

Data only; `service/core/openapi.py` applies it. A new route needs an entry in `OPERATIONS`
(the schema build fails with a KeyError naming it) and, when its route name does not camelCase
into a good operationId, one in `OPERATION_IDS`. The full list of operationIds is pinned by
`tests/contract/test_openapi.py`: renaming one breaks every generated client.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Text(NamedTuple):
    summary: str
    description: str


DESCRIPTION = (
    "Listings, discovery, bookings and payments of the marketplace. The narrative contract is "
    "`docs/api.md` in the repository: the error model (RFC 9457 `Problem`), authentication "
    "(bearer token or session cookie), rate-limit and caching headers, idempotency and paging."
)
LICENSE = {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}
CONTACT = {
    "name": "Marketplace API maintainers",
    "url": "https://marketplace.dev/api",
    "email": "api@marketplace.dev",
}
SERVERS = [{"url": "http://127.0.0.1:8000", "description": "local (`scripts/dev run`)"}]

TAGS: list[dict[str, Any]] = [
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics."},
    {"name": "accounts", "description": "Sign-up, sign-in, sessions and the caller's account."},
    {"name": "listings", "description": "A host's listings: drafts, publishing, edits (If-Match)."},
    {"name": "availability", "description": "Free, booked and blocked nights, slots or stock."},
    {"name": "search", "description": "Faceted, geo and availability search; completions."},
    {"name": "bookings", "description": "Requests, acceptance, cancellation with refunds."},
    {"name": "payments", "description": "Payment intents, the provider webhook, host payouts."},
    {"name": "reviews", "description": "Reviews of completed stays."},
    {"name": "messages", "description": "Conversations between guests and hosts."},
    {"name": "privacy", "description": "GDPR export and erasure of the caller's data."},
    {"name": "admin", "description": "Operator reports (admin role)."},
    {"name": "wishlists", "description": "The caller's saved listings (hearts)."},
    {"name": "alerts", "description": "Saved searches and the notifications they raise."},
    {"name": "currency", "description": "The exchange-rate table search converts prices with."},
]

# Route name -> operationId, where camelCasing the route name is not the name clients want.
OPERATION_IDS: dict[str, str] = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "metrics": "getMetrics",
    "me": "getMe",
    "patch_listing": "updateListing",
    "suggest": "suggestSearch",
    "put_blocks": "replaceAvailabilityBlocks",
    "webhook": "receivePaymentWebhook",
    "post_message": "sendMessage",
    "revenue_report": "getRevenueReport",
    "wishlist": "getWishlist",
    "put_fx_table": "setFxTable",
    "get_fx_table": "getFxTable",
}

# (operationId, query parameter) -> the component name of its enum.
PARAMETER_ENUMS: dict[tuple[str, str], str] = {
    ("searchListings", "sort"): "SearchSort",
    ("searchMap", "sort"): "SearchSort",
    ("listBookings", "as"): "BookingRole",
    ("listOwnListings", "owner"): "OwnerFilter",
    ("getRevenueReport", "group_by"): "RevenueGroupBy",
}

OPERATIONS: dict[str, Text] = {
    "getHealth": Text(
        "Liveness", "Answers while the process serves requests; checks nothing else."
    ),
    "getReadiness": Text(
        "Readiness",
        "Pings MongoDB, Redis and Elasticsearch. 200 when all answer; otherwise a 503 problem "
        "whose `service` names the first one down and whose `checks` gives each one's state.",
    ),
    "getMetrics": Text("Prometheus metrics", "Request, latency and backing-service metrics."),
    "register": Text(
        "Create an account",
        "Signs up with email, password and display name. `roles` is `guest` and/or `host` "
        '(default `["guest"]`); `admin` is never self-assigned (422). An email already in '
        "use is 409.",
    ),
    "login": Text(
        "Sign in",
        "Returns a bearer `token` and sets the HttpOnly session cookie `mp_session`. A session "
        "presented with the login is revoked (no fixation). Repeated failures per account or per "
        "client are refused with 429 (`locked`) for a lockout period.",
    ),
    "logout": Text("Sign out", "Revokes the presented session and clears the cookie."),
    "logoutAll": Text("Sign out everywhere", "Revokes every session of the caller (all devices)."),
    "getMe": Text("The caller", "The signed-in user with their roles."),
    "eraseMe": Text(
        "Erase my account",
        "Erases or anonymises the caller's personal data (bookings and the ledger are kept) "
        "and revokes their sessions; answers with what was erased.",
    ),
    "exportMe": Text(
        "Export my data",
        "Everything held about the caller (GDPR export): profile, listings, bookings, reviews, "
        "conversations, payments, payouts, ledger entries and audit events; no secrets.",
    ),
    "createListing": Text(
        "Create a listing",
        "Creates a draft (`status: draft`, `version: 1`) owned by the calling host. `stock` is "
        "required for `unit: item` and refused otherwise. The 201 carries `Location` and `ETag`.",
    ),
    "listOwnListings": Text(
        "List my listings",
        "The calling host's listings (`owner=me`), optionally of one `status`, newest first.",
    ),
    "getListing": Text(
        "Read a listing",
        "A published listing (anyone) or any of the caller's own, with its availability and "
        "review summaries. `ETag` is the listing's version; with a current `If-None-Match` the "
        "answer is 304. Drafts of others are 404.",
    ),
    "updateListing": Text(
        "Edit a listing",
        'Partial update by the owner; `unit` cannot change. With `If-Match` (`"<version>"`, '
        '`W/"<version>"` or `*`) a stale version is 412 and carries `current_version`. '
        "Answers with the new `ETag`.",
    ),
    "deleteListing": Text(
        "Delete a listing", "Soft delete by the owner: gone from reads and search."
    ),
    "publishListing": Text(
        "Publish a listing",
        "Makes a draft or closed listing searchable; an impossible move is 409.",
    ),
    "closeListing": Text(
        "Close a listing", "Takes a published listing out of search; an impossible move is 409."
    ),
    "getAvailability": Text(
        "A listing's availability",
        "Per night, per hour slot or stock left between `from` and `to` (dates or RFC 3339 "
        "times), with the host's blocks.",
    ),
    "replaceAvailabilityBlocks": Text(
        "Replace blocked periods",
        "Replaces the whole set of host blocks (up to 200). A block over an existing booking "
        "is 409. Answers with the availability.",
    ),
    "searchListings": Text(
        "Search published listings",
        "Keyword, category, amenity, city, price, rating, geo (circle or bounding box) and "
        "availability filters, sorted and faceted (multi-select counts), paged by `cursor`. A "
        "cursor reused with other parameters is 422; Elasticsearch trouble is 503 (504 on a "
        "timeout). With `currency`, price bounds, price sorts and the price facet are in that "
        "currency (exact at the boundary) and hits add `display_price`, `display_quote` and "
        "`fx_version`; price bounds or sorts over several currencies without it, or a currency "
        "the rate table lacks, are 422 naming `currency`.",
    ),
    "suggestSearch": Text(
        "Search completions",
        "Up to 10 completions of listing titles, categories and cities for a prefix; a blank "
        "`q` is 422.",
    ),
    "createBooking": Text(
        "Request a booking",
        "Claims nights (`check_in, check_out, guests`), hour seats (`start, end, seats`) or "
        "stock (`quantity`) atomically; 409 when they are taken. Accepts `Idempotency-Key`.",
    ),
    "listBookings": Text(
        "List my bookings", "The caller's bookings as guest (default) or host, by `status`."
    ),
    "getBooking": Text(
        "Read a booking", "For its guest and the listing's owner; anyone else gets 404."
    ),
    "acceptBooking": Text(
        "Accept a request",
        "The listing's owner accepts a requested booking; a state that does not allow it is "
        "409 with `current_status`.",
    ),
    "declineBooking": Text(
        "Decline a request",
        "The listing's owner declines a requested booking; a state that does not allow it is "
        "409 with `current_status`.",
    ),
    "cancelBooking": Text(
        "Cancel a booking",
        "Either party; the guest is refunded per the listing's cancellation policy. Accepts "
        "`Idempotency-Key`.",
    ),
    "completeBooking": Text(
        "Complete a booking",
        "The listing's owner completes an accepted booking after it ended; earlier is 409.",
    ),
    "createPayment": Text(
        "Pay for a booking",
        "Creates (or returns the open) payment intent of the provider for the guest; a booking "
        "already paid or not payable is 409. Accepts `Idempotency-Key`.",
    ),
    "getPayment": Text(
        "Read a booking's payment",
        "Either party: the captured payment, else the latest attempt, with `amount` and "
        "`refunded` as Money; 404 while the booking's `payment_status` is `none`.",
    ),
    "confirmTestPayment": Text(
        "Confirm a payment (test mode)",
        "Built-in provider only (404 otherwise): plays the provider's client SDK with the "
        "`client_secret`, and the signed webhook is applied before the answer.",
    ),
    "searchMap": Text(
        "Map clusters of a search",
        "Every filter of `searchListings`, plus the viewport `bbox` and `zoom`: clusters from "
        "`geotile_grid` cells with their centroid, count and cell bbox; up to 3 top-ranked "
        "`listing_ids` in a cluster of at most 3. Counts sum to the list's `total`.",
    ),
    "similarListings": Text(
        "Listings similar to one",
        "Text similarity over title, description and amenities, boosted by category, distance "
        "and price; never the listing itself, only published ones, bookable for the dates and "
        "guests given. A listing that is not published is 404.",
    ),
    "saveListing": Text(
        "Save a listing", "Adds it to the caller's wishlist; idempotent (204 again)."
    ),
    "unsaveListing": Text(
        "Unsave a listing", "Removes it from the caller's wishlist; idempotent (204 again)."
    ),
    "getWishlist": Text(
        "My wishlist",
        "Newest saved first, cursor pages; a listing since closed or deleted shows as "
        "`available: false` with no listing, never a 404.",
    ),
    "createSavedSearch": Text(
        "Save a search",
        "`params` takes any search parameter and is validated as search validates it (422 "
        "naming `params.<field>`); at most 50 per user (409 beyond).",
    ),
    "listSavedSearches": Text("My saved searches", "Newest first."),
    "deleteSavedSearch": Text(
        "Delete a saved search", "Another user's saved search is 404, like a missing one."
    ),
    "listNotifications": Text(
        "My notifications",
        "New listings and price drops for the caller's saved searches, newest first, cursor "
        "pages, with `unread_count`.",
    ),
    "readNotifications": Text(
        "Mark notifications read",
        "`{ids: [...]}` or `{all: true}`; an id that is not the caller's is 404.",
    ),
    "receivePaymentWebhook": Text(
        "Payment provider webhook",
        "Signed by the provider in `Provider-Signature` over the raw body (checked before "
        "parsing, with a timestamp tolerance); a bad signature is 400. A redelivered event is "
        "acknowledged again and not applied twice.",
    ),
    "listPayouts": Text(
        "List my payouts",
        "The calling host's payouts after commission, newest first, with paid and pending "
        "totals per currency.",
    ),
    "createReview": Text(
        "Review a stay",
        "The guest of a completed booking rates it 1..5; anyone else is 403, a second review 409.",
    ),
    "listReviews": Text("A listing's reviews", "Newest first, paged by `cursor`."),
    "startConversation": Text(
        "Start a conversation",
        "Opens a conversation with the listing's owner, optionally about one booking.",
    ),
    "listConversations": Text(
        "List my conversations",
        "Newest activity first; `unread_total` counts the caller's unread messages on the page.",
    ),
    "sendMessage": Text("Send a message", "Participants only; anyone else gets 404."),
    "listMessages": Text(
        "Read messages",
        "Newest first; reading the first page marks the conversation read for the caller.",
    ),
    "getRevenueReport": Text(
        "Revenue report",
        "GMV, refunds, commission and guest fees per month or category and currency between "
        "`from` (inclusive) and `to` (exclusive); admin only.",
    ),
    "setFxTable": Text(
        "Set the exchange-rate table",
        "Admin only, audited. `rates` are decimal strings meaning 1 `base` = rate units of the "
        "code (the base itself is left out); the answer is the stored table with the next "
        "`version`. An unknown or ill-formed code, or a rate that is not a positive plain "
        "decimal, is a 422 naming it (`rates.KRW`). Search reflects a change within 5 s.",
    ),
    "getFxTable": Text(
        "The exchange-rate table",
        "The current version, as `PUT /v1/admin/fx` stored it; 404 before the first one.",
    ),
}

_LISTING = {
    "title": "Canal-side loft",
    "description": "Bright loft with a view of the canal.",
    "category": "apartment",
    "amenities": ["wifi", "kitchen"],
    "attributes": {"bedrooms": 1},
    "location": {"lat": 52.37, "lon": 4.89},
    "address": {"line1": "Prinsengracht 1", "city": "Amsterdam", "country": "NL"},
    "price": {"amount": 12000, "currency": "EUR"},
    "unit": "night",
    "capacity": 2,
    "rules": {"min_nights": 2, "instant_book": False, "cancellation_policy": "moderate"},
}

REQUEST_EXAMPLES: dict[str, Any] = {
    "register": {
        "email": "ada@example.com",
        "password": "correct horse battery",
        "display_name": "Ada",
        "roles": ["guest", "host"],
    },
    "login": {"email": "ada@example.com", "password": "correct horse battery"},
    "createListing": _LISTING,
    "updateListing": {"price": {"amount": 13500, "currency": "EUR"}, "capacity": 3},
    "replaceAvailabilityBlocks": [{"start": "2026-12-24", "end": "2026-12-27"}],
    "createBooking": {
        "listing_id": "665f1c2e9b1e8a3d4c5b6a7f",
        "check_in": "2026-12-10",
        "check_out": "2026-12-13",
        "guests": 2,
    },
    "createReview": {"rating": 5, "text": "Spotless, and a lovely host."},
    "startConversation": {
        "listing_id": "665f1c2e9b1e8a3d4c5b6a7f",
        "text": "Is the loft free in December?",
    },
    "sendMessage": {"text": "Yes, from the 10th."},
    "setFxTable": {"base": "EUR", "rates": {"USD": "1.0832", "KRW": "1456.2", "BHD": "0.4105"}},
    "receivePaymentWebhook": {
        "id": "evt_1Nq0xY",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_3Nq0xY"}},
    },
}
