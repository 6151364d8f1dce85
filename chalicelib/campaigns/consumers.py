"""The consent side as campaigns see it: the opt-in's own query and withdrawal path, no second ledger.

- :meth:`OptinConsumers.reach`: :func:`chalicelib.consent.query.reachable` per channel (a strongly
  consistent read of the consumer item, which the ledger's transaction keeps in step), so a
  withdrawal stops the very next decision.
- :meth:`OptinConsumers.unsubscribe_url`: the opt-in's one-click withdrawal link for the channel.
- :meth:`OptinConsumers.withdraw` / :meth:`withdraw_contact`: SES complaints, SNS opt-outs and SMS
  "STOP" replies go through the opt-in's own withdrawal (:mod:`functions.optin.api`): a ledger event,
  the consumer item updated in the same transaction, erasure when nothing is left. That path runs in
  the offers function only (the portal never withdraws), so it is imported there lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.campaigns.model import Channel
from chalicelib.campaigns.ports import Reach
from chalicelib.consent.query import reachable, withdraw_url

#: The ledger's "channel" (where a withdrawal came from) for each reason the offers side reports.
WITHDRAWAL_SOURCES = {
    "complaint": "ses-complaint",
    "provider_opt_out": "sms-provider-opt-out",
    "sms_stop": "sms-stop-reply",
}


@dataclass
class OptinConsumers:
    public_url: str = ""

    def reach(self, consumer: str, now: float) -> Reach | None:
        email = reachable(consumer, "email")
        sms = reachable(consumer, "sms")
        if email is None and sms is None:
            return None
        either = email or sms
        return Reach(
            first_name=(either.first_name if either else None) or "",
            email=email.contact if email else None,
            phone=sms.contact if sms else None,
            email_key=email.contact_hash if email else "",
            phone_key=sms.contact_hash if sms else "",
        )

    def unsubscribe_url(self, consumer: str, channel: Channel) -> str:
        return withdraw_url(consumer, channel)

    def withdraw(self, consumer: str, channel: Channel, reason: str, now: float) -> None:
        from functions.optin.api import withdraw_offers

        withdraw_offers(consumer, channel, WITHDRAWAL_SOURCES.get(reason, reason))

    def withdraw_contact(self, channel: Channel, address: str, reason: str, now: float) -> bool:
        from functions.optin.api import withdraw_offers_by_contact

        return withdraw_offers_by_contact(channel, address, WITHDRAWAL_SOURCES.get(reason, reason))
