"""What other functions call on the opt-in side, in-process: withdrawals that do not come from the person's
own click (an SES complaint, an SMS "STOP" reply to the offers' number).

Each goes through the same path as a click: a ledger event with its channel, the consumer item updated
in the same transaction (the next send is refused), the erasure when nothing is left. Reading who may be
contacted is :func:`chalicelib.consent.query.reachable`.
"""

from __future__ import annotations

from chalicelib.consent.records import CHANNEL_PURPOSE
from functions.optin.contacts import normalize_email, normalize_phone


def withdraw_offers(consumer_id: str, channel: str, via: str) -> bool:
    """Withdraw the offers of ``channel`` ("email" or "sms") for one consumer; True if something ended."""
    from functions.optin.handler import service

    return bool(service().withdraw([consumer_id], [CHANNEL_PURPOSE[channel]], via))


def withdraw_offers_by_contact(channel: str, address: str, via: str) -> bool:
    """Withdraw the offers of ``channel`` for everyone registered with this address or number."""
    from functions.optin.handler import service

    svc = service()
    contact = normalize_email(address) if channel == "email" else normalize_phone(address)
    if contact is None:
        return False
    ids = svc.deps.store.consumer_ids_by_contact(svc.keys.contact_hash(contact))
    return bool(svc.withdraw(ids, [CHANNEL_PURPOSE[channel]], via))
