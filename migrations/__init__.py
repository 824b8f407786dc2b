"""Ordered, reversible migrations with their applied state in Mongo (`marketplace migrate`)."""

from migrations.base import Migration, MigrationContext, MigrationError
from migrations.registry import MIGRATIONS
from migrations.runner import MigrationState, down, status, up

__all__ = [
    "MIGRATIONS",
    "Migration",
    "MigrationContext",
    "MigrationError",
    "MigrationState",
    "down",
    "status",
    "up",
]
