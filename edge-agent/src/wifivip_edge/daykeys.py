"""The day-key object: how the cloud publishes a day's pseudonym key and how sensors read it.

Standard library only, like :mod:`wifivip_edge.batch`: the key job in the cloud (``functions/privacy``)
and the sensor import this one definition. The object is ``keys/{epoch}`` in the data bucket
(SSE-S3), JSON ``{"version": 1, "epoch": "YYYY-MM-DD", "key": "<64 hex>"}``.
"""

from __future__ import annotations

import json

KEY_BYTES = 32
KEY_OBJECT_VERSION = 1


class KeyObjectError(ValueError):
    """A published key object that cannot be used (the message says why)."""


def key_object_key(epoch: str, prefix: str = "keys") -> str:
    """S3 key of a day's pseudonym key: ``keys/{epoch}``."""
    return f"{prefix}/{epoch}"


def encode_key_object(epoch: str, key: bytes) -> bytes:
    return json.dumps({"version": KEY_OBJECT_VERSION, "epoch": epoch, "key": key.hex()}, sort_keys=True).encode()


def decode_key_object(data: bytes, epoch: str) -> bytes:
    """The key in a published key object, checked to be the one of ``epoch``."""
    try:
        obj = json.loads(data)
        key = bytes.fromhex(obj["key"])
        ok = obj.get("version") == KEY_OBJECT_VERSION and obj.get("epoch") == epoch and len(key) == KEY_BYTES
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyObjectError("not a key object") from None
    if not ok:
        raise KeyObjectError(f"key object is not version {KEY_OBJECT_VERSION} for {epoch}")
    return key
