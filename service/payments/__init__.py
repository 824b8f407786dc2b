"""Payments: provider port, signed webhooks, the double-entry ledger, refunds and payouts."""
