"""Every other store of data keyed to a consumer pseudonym, for access (export) and erasure.

The consent tables (profile, ledger, allowlist) are handled by the opt-in function itself. Any other
part of the system that keeps data keyed to ``SessionRecord.consumer`` adds a holder to
:func:`consumer_data_holders`, with ``name``, ``export(consumer_id) -> list[dict]`` and
``erase(consumer_id) -> int``: the erasure tests scan every table afterwards, so a store missing
here makes them fail.

Held today:

- the consent panel (KPI engine): ``DeviceState`` items ``panel#{sensor}`` / ``{local date}``
  whose ``members`` are the consumer pseudonyms seen that day (kept 31 days). Erasure deletes the
  pseudonym from every set (``DELETE members``); the day's aggregate counters hold no pseudonym.
- the campaigns (issue 7): offers sent (``offer-sends``, by consumer), shop visits (``consumer-visits``)
  and cap / "never twice" counters (``offer-counters``, keyed ``consumer#{person}#...`` and
  ``offer#{campaign}#{person}``, ``person`` being the pseudonym or the keyed contact hash).
- raw batches in S3 (``raw/``) carry ``consumer`` on the sessions of listed devices only until they
  are counted: the ingest keeps it only for pseudonyms still allowlisted and rewrites the counted
  object without any (``functions/ingest/redact.py``), so there is nothing to erase there.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.models.device_state import DeviceState
from chalicelib.models.offer_counter import OfferCounter

PANEL_PREFIX = "panel#"


class PanelHolder:
    """The consent panel's daily visitor sets (per sensor) that hold a consumer pseudonym."""

    name = "consent_panel_visits"

    def _items(self, consumer_id: str) -> list[DeviceState]:
        condition = DeviceState.pk.startswith(PANEL_PREFIX) & DeviceState.members.contains(consumer_id)
        return list(DeviceState.scan(condition))

    def export(self, consumer_id: str) -> list[dict[str, Any]]:
        return [{"sensor": item.pk[len(PANEL_PREFIX) :], "day": item.sk} for item in self._items(consumer_id)]

    def erase(self, consumer_id: str) -> int:
        items = self._items(consumer_id)
        for item in items:
            try:
                DeviceState(item.pk, item.sk).update(
                    actions=[DeviceState.members.delete({consumer_id})], condition=DeviceState.pk.exists()
                )
            except UpdateError as exc:  # the item expired meanwhile: nothing left to erase
                if "ConditionalCheckFailed" not in str(exc.cause_response_code or exc):
                    raise
        return len(items)


class OfferSendsHolder:
    """Offers decided for (or sent to) the consumer, per campaign."""

    name = "offers"

    def export(self, consumer_id: str) -> list[dict[str, Any]]:
        from chalicelib.campaigns.dynamo import DynamoSendLedger

        return [asdict(r) for r in DynamoSendLedger().consumer_records(consumer_id)]

    def erase(self, consumer_id: str) -> int:
        from chalicelib.campaigns.dynamo import DynamoSendLedger

        return DynamoSendLedger().erase_consumer(consumer_id)


class ShopVisitsHolder:
    """Visits of the consumer to shops, kept by the campaigns for targeting and results."""

    name = "shop_visits"

    def export(self, consumer_id: str) -> list[dict[str, Any]]:
        from chalicelib.campaigns.dynamo import DynamoVisits

        return DynamoVisits().consumer_visits(consumer_id)

    def erase(self, consumer_id: str) -> int:
        from chalicelib.campaigns.dynamo import DynamoVisits

        return DynamoVisits().erase_consumer(consumer_id)


class OfferCountersHolder:
    """The campaigns' counters whose key names the person (caps per consumer, "never twice")."""

    name = "offer_counters"

    def _items(self, person: str) -> list[OfferCounter]:
        return list(OfferCounter.scan(OfferCounter.key.contains(f"#{person}")))

    def export(self, consumer_id: str) -> list[dict[str, Any]]:
        return [{"counter": item.key, "count": int(item.n or 0)} for item in self._items(consumer_id)]

    def erase(self, consumer_id: str) -> int:
        items = self._items(consumer_id)
        for item in items:
            OfferCounter(item.key).delete()
        return len(items)


def consumer_data_holders() -> list[Any]:
    """The holders to export from and erase in, in order."""
    return [PanelHolder(), OfferSendsHolder(), ShopVisitsHolder(), OfferCountersHolder()]
