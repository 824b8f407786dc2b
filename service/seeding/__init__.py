"""Deterministic demo data: `seed_database` (embedded default, benchmarks), `marketplace seed`."""

from service.seeding.generate import Generator, default_anchor, demo_email
from service.seeding.load import DEMO_PASSWORD, SeedError, SeedReport, seed_database

__all__ = [
    "DEMO_PASSWORD",
    "Generator",
    "SeedError",
    "SeedReport",
    "default_anchor",
    "demo_email",
    "seed_database",
]
