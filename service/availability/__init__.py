"""Availability: the atomic claim/release of nights, hour seats and stock; host blocks."""
