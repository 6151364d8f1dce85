"""Coupon codes and link tokens: random, unguessable, easy to read out at a till.

A unique code is 10 characters of Crockford's base32 (50 bits, shown ``ABCDE-FGHJK``): no I, L, O or
U, so what a cashier types is what was sent, and a misread 0/O or 1/I/L still matches once
normalized. Link tokens are 128 random bits, URL-safe: knowing one offer's link reveals nothing of
another's.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
_TRANSLATE = str.maketrans({"O": "0", "I": "1", "L": "1"})
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(typed: str) -> str:
    """What a cashier typed, in the stored form: upper case, no spaces or dashes, 0/O and 1/I/L merged."""
    compact = re.sub(r"[\s-]", "", typed.upper()).translate(_TRANSLATE)
    if len(compact) == CODE_LENGTH and all(ch in ALPHABET for ch in compact):
        return f"{compact[:5]}-{compact[5:]}"
    return re.sub(r"\s", "", typed.upper())


def new_token() -> str:
    return secrets.token_urlsafe(16)


def new_salt() -> str:
    return secrets.token_hex(16)
