from tests.bookings.support import clock, settings

__all__ = ["clock", "settings"]
