"""LINE's webhook signature (`x-line-signature`): base64(HMAC-SHA256(channel secret, raw body)).

The one place it is computed: webhook verification, the simulator, tests and benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _digest(channel_secret: str, body: bytes) -> bytes:
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest())


def sign(channel_secret: str, body: bytes) -> str:
    """The `x-line-signature` LINE would send with `body`."""
    return _digest(channel_secret, body).decode()


def is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is LINE's for `body` (compared in constant time)."""
    return hmac.compare_digest(_digest(channel_secret, body), signature.encode())
