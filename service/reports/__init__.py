"""Reports for operators (served under /v1/admin/): revenue from the ledger."""
