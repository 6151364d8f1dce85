"""What the opt-in logic needs from the outside world, as interfaces; unit tests pass in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from chalicelib.consent.records import AllowlistRecord, ConsumerRecord, LedgerEvent
from functions.optin.controller import ControllerRecord


class ConsentStore(Protocol):
    """Consumers, the ledger and the allowlist entries (DynamoDB in AWS)."""

    def consumer(self, consumer_id: str) -> ConsumerRecord | None: ...

    def consumer_ids_by_contact(self, contact_hash: str) -> list[str]: ...

    def events(self, subject: str) -> list[LedgerEvent]: ...

    def allowlist_entry(self, device_hash: str) -> AllowlistRecord | None: ...

    def devices_of(self, consumer_id: str) -> list[AllowlistRecord]: ...

    def all_consumers(self) -> Iterator[ConsumerRecord]:
        """Every consumer (the daily expiry job's scan)."""
        ...

    def all_devices(self) -> Iterator[AllowlistRecord]:
        """Every allowlist entry (the publisher's and the expiry job's scan)."""
        ...

    def commit(
        self,
        consumer: ConsumerRecord | None,
        events: Sequence[LedgerEvent] = (),
        allow: Sequence[AllowlistRecord] = (),
        disallow: Sequence[str] = (),
    ) -> None:
        """Atomically: save the consumer projection, append events (never overwriting), put/delete entries."""
        ...

    def erase(self, consumer_id: str, retained: Sequence[LedgerEvent], keep_consumer: bool = False) -> None:
        """Append the retained proofs; delete the consumer's ledger events, allowlist entries and (last,
        unless ``keep_consumer``: an erasure still has to tell the person) the consumer item."""
        ...


class Controllers(Protocol):
    def get(self, controller_id: str) -> ControllerRecord | None: ...


class ControllerApi(Protocol):
    """Tells a WiFi controller to let a device through (UniFi); raises ``GrantError`` when it cannot."""

    def authorize(self, controller: ControllerRecord, mac: bytes, seconds: int) -> None: ...


class Grants(Protocol):
    """WiFi access granted per (controller, device) key, until an epoch time."""

    def grant(self, grant_key: str, controller_id: str, until: float) -> None: ...

    def until(self, grant_key: str) -> float | None: ...


class RateLimiter(Protocol):
    def allow(self, key: str, limit: int, window_s: int, now: float) -> bool:
        """Count one hit in the current window of ``key``; False once ``limit`` is passed."""
        ...


class DeliveryError(RuntimeError):
    """The provider (SES, SNS) refused or could not take a message: the caller decides what the person is told."""


class Messenger(Protocol):
    """SES and SNS: return the provider's message id, the proof a message left; raise :class:`DeliveryError`."""

    def email(self, to: str, subject: str, text: str) -> str: ...

    def sms(self, to: str, text: str) -> str: ...


class TextArchive(Protocol):
    """Keeps each consent text once under its SHA-256, for audits."""

    def keep(self, version: str, text: str) -> None: ...

    def get(self, version: str) -> str | None: ...


class AllowlistTrigger(Protocol):
    """Asks for the sensors' allowlist to be republished now (after a withdrawal or an erasure)."""

    def publish_now(self) -> None: ...


class ConsumerDataHolder(Protocol):
    """Another part of the system holding data keyed to a consumer pseudonym (e.g. panel KPIs)."""

    name: str

    def export(self, consumer_id: str) -> list[dict[str, Any]]: ...

    def erase(self, consumer_id: str) -> int: ...
