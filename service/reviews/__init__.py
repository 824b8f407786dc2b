"""Reviews of completed bookings and the listing review summary."""
