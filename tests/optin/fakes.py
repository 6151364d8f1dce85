"""In-memory stand-ins for the opt-in ports: the service's logic tested without AWS."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.consent.keys import OptinKeys
from chalicelib.consent.records import AllowlistRecord, ConsumerRecord, LedgerEvent
from chalicelib.consent.settings import OptinSettings
from functions.optin.controller import ControllerRecord
from functions.optin.service import OptinDeps, OptinService

KEYS = OptinKeys("ck-test", b"c" * 32, b"s" * 32)
CONTROLLER = ControllerRecord("shop-1", b"k" * 32, "Boulangerie Victor-Hugo", "https://example.org/venue", 3600)


class AppendOnlyViolation(AssertionError):
    pass


@dataclass
class MemoryStore:
    consumers_: dict[str, ConsumerRecord] = field(default_factory=dict)
    ledger: dict[tuple[str, str], LedgerEvent] = field(default_factory=dict)
    devices: dict[str, AllowlistRecord] = field(default_factory=dict)

    def consumer(self, consumer_id: str) -> ConsumerRecord | None:
        c = self.consumers_.get(consumer_id)
        return copy.deepcopy(c) if c else None

    def consumer_ids_by_contact(self, contact_hash: str) -> list[str]:
        return sorted(i for i, c in self.consumers_.items() if contact_hash in c.contact_hashes())

    def events(self, subject: str) -> list[LedgerEvent]:
        return sorted((e for (s, _), e in self.ledger.items() if s == subject), key=lambda e: e.event_id)

    def allowlist_entry(self, device_hash: str) -> AllowlistRecord | None:
        return self.devices.get(device_hash)

    def devices_of(self, consumer_id: str) -> list[AllowlistRecord]:
        return [d for d in self.devices.values() if d.consumer_id == consumer_id]

    def all_consumers(self) -> Iterator[ConsumerRecord]:
        return iter([copy.deepcopy(c) for c in self.consumers_.values()])

    def all_devices(self) -> Iterator[AllowlistRecord]:
        return iter(list(self.devices.values()))

    def _append(self, event: LedgerEvent) -> None:
        key = (event.subject, event.event_id)
        if key in self.ledger:
            raise AppendOnlyViolation(f"event {key} written twice")
        self.ledger[key] = event

    def commit(
        self,
        consumer: ConsumerRecord | None,
        events: Sequence[LedgerEvent] = (),
        allow: Sequence[AllowlistRecord] = (),
        disallow: Sequence[str] = (),
    ) -> None:
        for event in events:
            self._append(event)
        if consumer is not None:
            self.consumers_[consumer.consumer_id] = copy.deepcopy(consumer)
        for device in disallow:
            self.devices.pop(device, None)
        for a in allow:
            self.devices[a.device_hash] = a

    def erase(self, consumer_id: str, retained: Sequence[LedgerEvent], keep_consumer: bool = False) -> None:
        for event in retained:
            if (event.subject, event.event_id) not in self.ledger:
                self._append(event)
        for key in [k for k in self.ledger if k[0] == f"consumer#{consumer_id}"]:
            del self.ledger[key]
        for device in [d for d, r in self.devices.items() if r.consumer_id == consumer_id]:
            del self.devices[device]
        if not keep_consumer:
            self.consumers_.pop(consumer_id, None)


class MemoryControllers:
    def __init__(self, *controllers: ControllerRecord) -> None:
        self.by_id = {c.controller_id: c for c in controllers}

    def get(self, controller_id: str) -> ControllerRecord | None:
        return self.by_id.get(controller_id)


@dataclass
class MemoryGrants:
    grants: dict[str, float] = field(default_factory=dict)

    def grant(self, grant_key: str, controller_id: str, until: float) -> None:
        self.grants[grant_key] = until

    def until(self, grant_key: str) -> float | None:
        return self.grants.get(grant_key)


@dataclass
class MemoryLimiter:
    hits: dict[str, int] = field(default_factory=dict)

    def allow(self, key: str, limit: int, window_s: int, now: float) -> bool:
        k = f"{key}#{int(now // window_s)}"
        self.hits[k] = self.hits.get(k, 0) + 1
        return self.hits[k] <= limit


@dataclass
class MemoryMessenger:
    emails: list[dict[str, str]] = field(default_factory=list)
    sms_: list[dict[str, str]] = field(default_factory=list)

    def email(self, to: str, subject: str, text: str) -> str:
        self.emails.append({"to": to, "subject": subject, "text": text})
        return f"ses-{len(self.emails)}"

    def sms(self, to: str, text: str) -> str:
        self.sms_.append({"to": to, "text": text})
        return f"sns-{len(self.sms_)}"


@dataclass
class MemoryArchive:
    texts: dict[str, str] = field(default_factory=dict)

    def keep(self, version: str, text: str) -> None:
        self.texts.setdefault(version, text)

    def get(self, version: str) -> str | None:
        return self.texts.get(version)


@dataclass
class CountingTrigger:
    calls: int = 0

    def publish_now(self) -> None:
        self.calls += 1


@dataclass
class MemoryHolder:
    """Stands for the panel KPIs keyed to consumers."""

    name: str = "panel_kpis"
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def export(self, consumer_id: str) -> list[dict[str, Any]]:
        return list(self.rows.get(consumer_id, []))

    def erase(self, consumer_id: str) -> int:
        return len(self.rows.pop(consumer_id, []))


@dataclass
class Clock:
    now: float = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


def make_service(clock: Clock | None = None) -> tuple[OptinService, OptinDeps]:
    deps = OptinDeps(
        store=MemoryStore(),
        controllers=MemoryControllers(CONTROLLER),
        grants=MemoryGrants(),
        limiter=MemoryLimiter(),
        messenger=MemoryMessenger(),
        archive=MemoryArchive(),
        allowlist=CountingTrigger(),
        holders=[MemoryHolder()],
    )
    settings = OptinSettings(base_url="https://optin.test", rights_min_response_s=0.0)
    return OptinService(deps, KEYS, settings, clock=clock or Clock(), sleep=lambda _s: None), deps
