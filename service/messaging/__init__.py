"""Conversations between guests and hosts."""
