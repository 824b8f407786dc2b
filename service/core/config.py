"""One Settings object, read from the environment (and `.env` if present)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# HMAC keys shorter than this are guessable; the placeholders below are public (they were the
# defaults once), so a deployment that still carries one signs with a key anyone knows.
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset(
    {"", "dev-webhook-secret-change-me", "dev-cursor-secret-change-me", "changethis"}
)
SECRET_FIELDS = ("webhook_secret", "cursor_secret")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Backing services. Unset Mongo/Redis URLs select the embedded in-process stand-ins.
    mongodb_url: str | None = None
    mongodb_database: str = "marketplace"
    redis_url: str | None = None
    # Connections per process; a burst beyond it waits (up to the timeout) instead of failing.
    redis_max_connections: int = Field(default=256, ge=1)
    redis_pool_timeout_s: float = Field(default=2.0, gt=0)
    elasticsearch_url: str | None = None
    # Prefix for every Elasticsearch index and alias we own (lets tests isolate themselves).
    elasticsearch_index_prefix: str = ""
    elasticsearch_timeout_s: float = Field(default=5.0, gt=0)

    # Embedded default: seed demo data and run the polling indexer inside the API.
    seed_demo_listings: int = Field(default=500, ge=0)
    run_embedded_indexer: bool | None = None  # None: on when Mongo is embedded

    # Indexer (Mongo -> Elasticsearch). "auto": change streams on a replica set, else polling.
    indexer_source: Literal["auto", "changestream", "polling"] = "auto"
    indexer_batch_size: int = Field(default=500, ge=1, le=10_000)
    # How long a batch may wait for more changes: bounds write->searchable lag under a trickle.
    indexer_flush_interval_s: float = Field(default=0.25, gt=0)
    indexer_poll_interval_s: float = Field(default=0.1, gt=0)
    # Concurrent writers may commit with an updated_at earlier than one already seen: re-read.
    indexer_poll_overlap_s: float = Field(default=3.0, ge=0)
    indexer_max_retries: int = Field(default=5, ge=0)
    # Bulk requests the indexer keeps in flight while it reads and projects the next chunk
    # (rebuild, catch-up, writer): overlaps Python CPU with Elasticsearch's. 1: one at a time.
    indexer_bulk_concurrency: int = Field(default=2, ge=1, le=16)
    # `marketplace indexer run` writes only while it holds a lease in Mongo (one writer per
    # alias); it is renewed every third of this, and a standby takes over once it expires.
    indexer_lease_ttl_s: float = Field(default=15.0, gt=0)
    # A catch-up (the indexer far behind, e.g. after a stop): the live index refreshes every
    # indexer_catchup_refresh_s instead of every 250 ms while the newest change written is
    # older than indexer_catchup_lag_s, and is restored once caught up. Each refresh of an
    # index under writes costs Elasticsearch CPU the catch-up needs (docs/performance.md),
    # and changes already seconds behind gain little from four refreshes a second. 0: off.
    indexer_catchup_lag_s: float = Field(default=5.0, ge=0)
    indexer_catchup_refresh_s: float = Field(default=2.0, ge=0, le=60)
    # Primary shards and replicas of the listings index; `marketplace index rebuild` creates
    # the new index with them (docs/scaling.md says when to raise which).
    search_index_shards: int = Field(default=1, ge=1, le=1024)
    search_index_replicas: int = Field(default=0, ge=0, le=16)

    # Accounts and sessions.
    session_ttl_s: int = Field(default=14 * 24 * 3600, gt=0)
    session_cookie_name: str = "mp_session"
    session_cookie_secure: bool = True
    # argon2id cost (RFC 9106 "low memory" profile by default); login rehashes when these change.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Secrets: required (>= 32 characters, no placeholder) once Mongo or Redis is a real server;
    # the embedded default draws random ones per process (its data lives no longer either).
    webhook_secret: SecretStr = SecretStr("")
    cursor_secret: SecretStr = SecretStr("")

    # Rate limits: requests per window per client, by route class.
    rate_limit_window_s: int = Field(default=60, gt=0)
    rate_limit_auth: int = Field(default=20, gt=0)
    rate_limit_search: int = Field(default=600, gt=0)
    rate_limit_write: int = Field(default=300, gt=0)
    rate_limit_read: int = Field(default=1200, gt=0)
    rate_limit_webhook: int = Field(default=1200, gt=0)
    rate_limit_enabled: bool = True
    # Behaviour when Redis is unreachable: reads fail open, auth fails closed by default.
    rate_limit_fail_open_reads: bool = True
    rate_limit_fail_open_auth: bool = False
    login_max_failures_per_account: int = Field(default=10, gt=0)
    login_max_failures_per_ip: int = Field(default=50, gt=0)
    login_lockout_s: int = Field(default=900, gt=0)

    # Money.
    platform_commission_bps: int = Field(default=1500, ge=0, le=10000)  # 15 % of the subtotal
    guest_service_fee_bps: int = Field(default=500, ge=0, le=10000)  # 5 % on top for the guest

    # Bookings: how long a request-to-book waits for the host, and how long a booking may sit in
    # `pending` (inserted, claim unconfirmed) before the sweeper treats it as a crashed request.
    booking_request_ttl_s: int = Field(default=24 * 3600, gt=0)
    booking_pending_grace_s: int = Field(default=120, gt=0)
    booking_sweep_interval_s: float = Field(default=30.0, gt=0)
    run_booking_sweeper: bool = True
    # Payments: the built-in provider, and how old a signed webhook may be (replay window).
    payment_provider: Literal["builtin"] = "builtin"
    webhook_tolerance_s: int = Field(default=300, gt=0)

    # GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; unset, it is not served (404):
    # it names every route, backend and timing, no business of the public.
    metrics_token: SecretStr | None = None

    # Reverse proxies whose X-Forwarded-For/-Proto we believe (comma list of addresses or
    # networks, "*" for any). Empty: none, the TCP peer is the client (a client-set header
    # would otherwise pick its own rate-limit and lockout identity on every request).
    forwarded_allow_ips: str = ""

    # Overload: Elasticsearch-bound requests in flight per process, how long one may wait for
    # a slot before a fast 503 with Retry-After, and concurrent requests per client (also a
    # 503 with Retry-After: load shedding, not a quota; the rate limits answer 429).
    search_max_in_flight: int = Field(default=32, ge=1)
    search_queue_budget_s: float = Field(default=0.5, gt=0)
    client_max_in_flight: int = Field(default=16, ge=1)
    # Search facets: exact counts over at most this many documents per facet; above, counts
    # estimated from a random sample of about `search_facets_sample_docs` documents and named
    # in `facets_estimated` (keeps p99 flat as the catalogue grows; docs/performance.md).
    search_facets_exact_hits: int = Field(default=10_000, ge=0)
    search_facets_sample_docs: int = Field(default=5_000, ge=1)
    # A facet with a selection of its own counts other documents than the hits: a size-0
    # request counts them, stopping at this many (its cost bounded by it, not the catalogue).
    # Above it the sample probability is chosen as if there were exactly this many.
    search_facets_count_up_to: int = Field(default=100_000, ge=1)
    # Search and suggest pages cached in Redis for this long (0: off). A change the indexer
    # makes searchable bumps the index generation, which drops every page cached before it;
    # the TTL bounds what a lost bump could leave (and dated searches key on the hour).
    search_cache_ttl_s: float = Field(default=30.0, ge=0)
    # /readyz: how long each backing service may take to answer its ping, and how long an
    # all-ok result is reused (failures are re-checked on the next probe).
    readyz_timeout_s: float = Field(default=1.0, gt=0)
    readyz_cache_s: float = Field(default=1.0, ge=0)

    # Saved-search alerts: how often the job looks for new listings and price drops (one
    # worker per tick, through a Redis lock), and how many matches per search it compares.
    alerts_interval_s: float = Field(default=60.0, gt=0)
    run_alerts: bool = True
    alerts_watch_size: int = Field(default=500, ge=1, le=10_000)

    # The web client at /app/: map tiles from this URL template ({z}/{x}/{y}); empty draws
    # country outlines only (no tile server is reachable offline, and none is ours to pick).
    web_tile_url: str = ""
    web_tile_attribution: str = ""

    # Request hygiene.
    max_body_bytes: int = Field(default=256 * 1024, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _enforce_secrets(self) -> Settings:
        """Refuse placeholder or short secrets outside the embedded default (where they are
        random per process): a known webhook key forges payments, a known cursor key forges
        search positions."""
        embedded = self.embedded_mongo and self.embedded_redis
        for name in SECRET_FIELDS:
            value = getattr(self, name).get_secret_value()
            weak = value.strip() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH
            if not weak:
                continue
            if embedded:
                setattr(self, name, SecretStr(secrets.token_urlsafe(32)))
                continue
            why = (
                "is not set" if not value.strip()
                else "is a public placeholder" if value.strip() in PLACEHOLDER_SECRETS
                else f"has only {len(value)} characters"
            )  # fmt: skip
            raise ValueError(
                f"{name.upper()} {why}: with MONGODB_URL or REDIS_URL set it must be a random "
                f"value of at least {MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"
            )
        return self

    @property
    def embedded_mongo(self) -> bool:
        return not self.mongodb_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def indexer_in_process(self) -> bool:
        if self.run_embedded_indexer is not None:
            return self.run_embedded_indexer
        return self.embedded_mongo


@lru_cache
def get_settings() -> Settings:
    return Settings()
