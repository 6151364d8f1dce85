"""Daily pseudonym keys derived from the master secret: HKDF-SHA256 (RFC 5869) over the date.

Every sensor of the deployment (the city) gets the same key for a day, so pseudonyms of one device
match across sensors that day and never across days. The master secret stays in Parameter Store;
only derived day keys leave this function, and each is destroyed once its day is over.
"""

from __future__ import annotations

import hashlib
import hmac

from wifivip_edge.daykeys import KEY_BYTES

SALT = b"wifivip/pseudonym-day-key/v1"


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 extract-then-expand with SHA-256."""
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 output is at most 8160 bytes")
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def day_key(master: bytes, epoch: str) -> bytes:
    """The pseudonym key of the UTC day ``epoch`` (YYYY-MM-DD)."""
    if len(master) < 32:
        raise ValueError("the master secret must hold at least 32 bytes")
    return hkdf_sha256(master, SALT, f"pseudonym-key:{epoch}".encode(), KEY_BYTES)
