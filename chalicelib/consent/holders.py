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
- raw batches in S3 (``raw/``) carry ``consumer`` on the sessions of listed devices; they are not
  rewritten: the bucket's lifecycle deletes them after 1 day in the consent mode (and their old
  versions a day later), and no mapping from the pseudonym to anyone survives the erasure.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.models.device_state import DeviceState

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


def consumer_data_holders() -> list[Any]:
    """The holders to export from and erase in, in order."""
    return [PanelHolder()]
