"""Bookings and orders: creation (claim), the state machine, expiry and crash recovery."""
