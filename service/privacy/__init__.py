"""GDPR: export everything held about the caller; erase (anonymise) the caller's account."""
