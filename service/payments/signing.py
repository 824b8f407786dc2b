"""Webhook signatures: `Provider-Signature: t=<unix>,v1=<hex hmac_sha256(secret, "t.body")>`.

Signing the timestamp together with the raw body lets the receiver reject replays of an old,
correctly signed delivery (older than the tolerance) as well as any tampered body.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Provider-Signature"


class SignatureError(ValueError):
    """The delivery is not authentic (or too old); the message says why."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body` signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute(secret, t, body)}"


def verify(
    secret: str, header: str | None, body: bytes, *, tolerance_s: int, now: float | None = None
) -> int:
    """Check a signature header against the raw body; returns its timestamp."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError("signature timestamp outside the tolerance (possible replay)")
    return timestamp
