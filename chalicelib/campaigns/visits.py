"""Consumer visits from batches: the closed visitor sessions of consented devices.

Only allowlisted devices carry a consumer pseudonym (consent mode), so only consumers who agreed to
audience measurement are recorded. The ingest function hands every valid batch to
:class:`VisitRecorder` after counting it (again on a redelivery: the writes are idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from wifivip_edge.batch import Batch

from chalicelib.campaigns.dynamo import Visit
from chalicelib.campaigns.ports import Places


def consumer_visits(batch: Batch, shop_of: Callable[[str], str | None]) -> list[Visit]:
    """A batch's finished visits of consumers; none when the sensor's shop is unknown."""
    shop = shop_of(batch.header.sensor_id)
    if shop is None:
        return []
    return [
        Visit(
            consumer=rec.consumer,
            sensor_id=batch.header.sensor_id,
            shop_id=shop,
            start=rec.session_start if rec.session_start is not None else rec.first_seen,
            end=rec.last_seen,
        )
        for rec in batch.sessions
        if rec.consumer is not None and rec.visitor and not rec.open and not rec.fixed
    ]


class VisitStore(Protocol):
    def record(self, visits: Iterable[Visit]) -> int: ...


@dataclass
class VisitRecorder:
    places: Places
    store: VisitStore

    def __call__(self, batch: Batch) -> int:
        if batch.header.privacy_mode != "consent":
            return 0
        visits = consumer_visits(batch, lambda s: p.shop_id if (p := self.places.sensor_place(s)) else None)
        return self.store.record(visits) if visits else 0
