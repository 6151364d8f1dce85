"""Email addresses and phone numbers as the portal accepts them, normalised before anything is hashed."""

from __future__ import annotations

import re

_EMAIL = re.compile(
    r"^[^@\s<>\"',;]{1,64}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def normalize_email(text: str) -> str | None:
    """Lower-cased address, or None when it is not one."""
    value = text.strip().lower()
    return value if len(value) <= 254 and _EMAIL.match(value) else None


def normalize_phone(text: str) -> str | None:
    """E.164 (``+33612345678``); French national numbers (``06 12 34 56 78``) are accepted."""
    value = re.sub(r"[\s.\-()/]", "", text.strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    elif re.fullmatch(r"0[1-9]\d{8}", value):
        value = "+33" + value[1:]
    return value if _E164.match(value) else None


def mask(contact: str) -> str:
    """What a page may show of a contact: enough to recognise it, not to read it."""
    if "@" in contact:
        local, domain = contact.split("@", 1)
        return f"{local[:1]}•••@{domain}"
    return f"{contact[:4]}•••{contact[-2:]}"
