"""The AWS side of opt-in: DynamoDB (PynamoDB) for consumers, ledger, allowlist, grants and rate
limits; SES and SNS for messages; S3 for the archive of consent texts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.consent.records import AllowlistRecord, ConsumerRecord, LedgerEvent, subject_of
from chalicelib.models.allowlist_entry import AllowlistEntry
from chalicelib.models.base import region
from chalicelib.models.captive_controller import CaptiveController
from chalicelib.models.consent_event import ConsentEvent
from chalicelib.models.consumer import Consumer
from chalicelib.models.portal_grant import PortalGrant
from chalicelib.models.rate_counter import RateCounter
from functions.optin.controller import ControllerRecord
from functions.optin.ports import DeliveryError

TEXTS_PREFIX = "consent-texts/"


class ConflictError(RuntimeError):
    """Two requests changed the same consumer at once; the later one must start again."""


def _consumer_model(r: ConsumerRecord) -> Consumer:
    model = Consumer(
        r.consumer_id,
        created_at=r.created_at,
        lang=r.lang,
        first_name=r.first_name,
        email=r.email,
        email_hash=r.email_hash,
        email_status=r.email_status,
        phone=r.phone,
        phone_hash=r.phone_hash,
        phone_status=r.phone_status,
        consents=dict(r.consents),
        pending=dict(r.pending),
    )
    if r.version is not None:
        model.version = r.version
    return model


def _consumer_record(m: Consumer) -> ConsumerRecord:
    return ConsumerRecord(
        m.consumer_id,
        m.created_at,
        lang=m.lang,
        first_name=m.first_name,
        email=m.email,
        email_hash=m.email_hash,
        email_status=m.email_status,
        phone=m.phone,
        phone_hash=m.phone_hash,
        phone_status=m.phone_status,
        consents=dict(m.consents.as_dict() if hasattr(m.consents, "as_dict") else m.consents or {}),
        pending=dict(m.pending.as_dict() if hasattr(m.pending, "as_dict") else m.pending or {}),
        version=m.version,
    )


def _event_model(e: LedgerEvent) -> ConsentEvent:
    return ConsentEvent(
        e.subject,
        e.event_id,
        purpose=e.purpose,
        action=e.action,
        text_version=e.text_version or "-",
        lang=e.lang,
        channel=e.channel,
        proof=dict(e.proof),
        recorded_at=e.recorded_at,
        expires=e.expires_at,
    )


def _event_record(m: ConsentEvent) -> LedgerEvent:
    proof = m.proof.as_dict() if hasattr(m.proof, "as_dict") else dict(m.proof or {})
    return LedgerEvent(
        m.subject,
        m.event_id,
        m.purpose,
        m.action,
        "" if m.text_version == "-" else m.text_version,
        m.lang,
        m.channel,
        {str(k): str(v) for k, v in proof.items()},
        m.recorded_at,
        m.expires,
    )


def _device_record(m: AllowlistEntry) -> AllowlistRecord:
    return AllowlistRecord(m.device_hash, m.consumer_id, m.consent_key_id, m.consented_at, m.expires)


class DynamoConsentStore:
    """Consumers, ledger and allowlist entries; each change is one DynamoDB transaction."""

    def __init__(self) -> None:
        self._connection = Connection(region=region())

    def consumer(self, consumer_id: str) -> ConsumerRecord | None:
        if not consumer_id:
            return None
        try:
            return _consumer_record(Consumer.get(consumer_id, consistent_read=True))
        except DoesNotExist:
            return None

    def consumer_ids_by_contact(self, contact_hash: str) -> list[str]:
        ids = {m.consumer_id for m in Consumer.email_index.query(contact_hash)}
        ids |= {m.consumer_id for m in Consumer.phone_index.query(contact_hash)}
        return sorted(ids)

    def events(self, subject: str) -> list[LedgerEvent]:
        return [_event_record(m) for m in ConsentEvent.query(subject, consistent_read=True)]

    def allowlist_entry(self, device_hash: str) -> AllowlistRecord | None:
        try:
            return _device_record(AllowlistEntry.get(device_hash, consistent_read=True))
        except DoesNotExist:
            return None

    def devices_of(self, consumer_id: str) -> list[AllowlistRecord]:
        hashes = [m.device_hash for m in AllowlistEntry.by_consumer.query(consumer_id)]
        return [r for r in (self.allowlist_entry(h) for h in hashes) if r is not None]

    def all_consumers(self) -> Iterator[ConsumerRecord]:
        return (_consumer_record(m) for m in Consumer.scan())

    def all_devices(self) -> Iterator[AllowlistRecord]:
        return (_device_record(m) for m in AllowlistEntry.scan())

    def commit(
        self,
        consumer: ConsumerRecord | None,
        events: Sequence[LedgerEvent] = (),
        allow: Sequence[AllowlistRecord] = (),
        disallow: Sequence[str] = (),
    ) -> None:
        model = _consumer_model(consumer) if consumer is not None else None
        try:
            with TransactWrite(connection=self._connection) as tx:
                if model is not None:
                    tx.save(model)
                for event in events:
                    _event_model(event).append_in(tx)
                for a in allow:
                    tx.save(
                        AllowlistEntry(
                            a.device_hash,
                            consumer_id=a.consumer_id,
                            consent_key_id=a.consent_key_id,
                            consented_at=a.consented_at,
                            expires=a.expires_at,
                        )
                    )
                for device in disallow:
                    if device not in {a.device_hash for a in allow}:
                        tx.delete(AllowlistEntry(device))
        except TransactWriteError as exc:
            raise ConflictError("concurrent change, try again") from exc
        if consumer is not None and model is not None:
            consumer.version = model.version

    def erase(self, consumer_id: str, retained: Sequence[LedgerEvent], keep_consumer: bool = False) -> None:
        for event in retained:
            try:
                _event_model(event).append()
            except PutError as exc:
                if "ConditionalCheckFailed" not in str(exc.cause_response_code or exc):
                    raise
        ConsentEvent.erase_subject(subject_of(consumer_id))
        for entry in AllowlistEntry.by_consumer.query(consumer_id):
            AllowlistEntry(entry.device_hash).delete()
        if not keep_consumer:
            with contextlib.suppress(DoesNotExist):
                Consumer.get(consumer_id).delete()


class DynamoControllers:
    def get(self, controller_id: str) -> ControllerRecord | None:
        try:
            m = CaptiveController.get(controller_id)
        except DoesNotExist:
            return None
        return ControllerRecord(
            m.controller_id,
            bytes.fromhex(m.secret),
            m.venue_name,
            m.venue_info_url,
            int(m.session_seconds),
            m.shop_id,
            m.status == "active",
            m.vendor or "generic",
        )


class DynamoGrants:
    def grant(self, grant_key: str, controller_id: str, until: float) -> None:
        PortalGrant(
            grant_key, controller_id=controller_id, until=until, expires=datetime.fromtimestamp(until, UTC)
        ).save()

    def until(self, grant_key: str) -> float | None:
        try:
            return float(PortalGrant.get(grant_key, consistent_read=True).until)
        except DoesNotExist:
            return None


class DynamoRateLimiter:
    """Fixed windows: one atomic ADD per hit, the counter expiring (TTL) a window after its end."""

    def allow(self, key: str, limit: int, window_s: int, now: float) -> bool:
        window = int(now // window_s)
        counter = RateCounter(f"{key}#{window}")
        expires = datetime.fromtimestamp((window + 2) * window_s, UTC)
        attrs = counter.update(actions=[RateCounter.hits.add(1), RateCounter.expires.set(expires)])
        return int(attrs["hits"]) <= limit if "hits" in attrs else int(counter.hits) <= limit


@dataclass
class SesSnsMessenger:
    ses: Any
    sns: Any
    sender: str
    sms_sender_id: str = "WIFIVIP"

    def email(self, to: str, subject: str, text: str) -> str:
        with _delivery("ses"):
            return self._email(to, subject, text)

    def sms(self, to: str, text: str) -> str:
        with _delivery("sns"):
            return self._sms(to, text)

    def _email(self, to: str, subject: str, text: str) -> str:
        response = self.ses.send_email(
            Source=self.sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
        return str(response["MessageId"])

    def _sms(self, to: str, text: str) -> str:
        response = self.sns.publish(
            PhoneNumber=to,
            Message=text,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sms_sender_id},
            },
        )
        return str(response["MessageId"])


@contextlib.contextmanager
def _delivery(provider: str) -> Iterator[None]:
    """SES's or SNS's refusal or outage (after botocore's own retries) as the port's :class:`DeliveryError`."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        raise DeliveryError(f"{provider} refused the message: {code}") from exc


@dataclass
class S3TextArchive:
    client: Any
    bucket: str
    _known: set[str] = field(default_factory=set)

    def keep(self, version: str, text: str) -> None:
        if version in self._known:
            return
        key = f"{TEXTS_PREFIX}{version}.txt"
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="text/plain; charset=utf-8"
            )
        self._known.add(version)

    def get(self, version: str) -> str | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=f"{TEXTS_PREFIX}{version}.txt")["Body"].read()
        except ClientError:
            return None
        return body.decode()
