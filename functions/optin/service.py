"""The opt-in logic, apart from AWS: the portal's choices, double opt-in, withdrawal, access and erasure.

The raw MAC exists only inside :meth:`OptinService.open_portal`: it is hashed under the consent key
at once and the hash travels in a sealed session between pages. Nothing here logs a contact, a
device hash or a consumer pseudonym.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.consent import tokens
from chalicelib.consent.keys import OptinKeys
from chalicelib.consent.records import (
    ACTIVE,
    AUDIENCE,
    CHANNEL_PURPOSE,
    CONFIRMED,
    ERASED,
    GRANTED,
    OFFERS_EMAIL,
    OFFERS_SMS,
    PENDING,
    PROOF_PREFIX,
    PURPOSE_CHANNEL,
    PURPOSES,
    VIA_EMAIL_LINK,
    VIA_ERASURE,
    VIA_LAPSED,
    VIA_PORTAL,
    VIA_SMS_CODE,
    VIA_SMS_LINK,
    VIA_SUPERSEDED,
    VIA_UNCONFIRMED,
    WITHDRAWN,
    AllowlistRecord,
    ConsumerRecord,
    LedgerEvent,
    fold_state,
    live_purposes,
    new_consumer_id,
    subject_of,
)
from chalicelib.consent.settings import OptinSettings
from chalicelib.consent.texts import consent_screen
from chalicelib.portal.errors import is_outage
from functions.observability import logger
from functions.optin import messages
from functions.optin.contacts import normalize_email, normalize_phone
from functions.optin.controller import ControllerRecord, GrantError, RedirectError, verify_redirect
from functions.optin.ports import (
    AllowlistTrigger,
    ConsentStore,
    ConsumerDataHolder,
    ControllerApi,
    Controllers,
    DeliveryError,
    Grants,
    Messenger,
    RateLimiter,
    TextArchive,
)

SESSION_TTL_S = 1800
CONFIRM_TTL_S = 7 * 86400
UNCONFIRMED_TTL = timedelta(days=7)
AUDIENCE_CONSENT_TTL = timedelta(days=395)  # 13 months, then the device must opt in again
PROOF_RETENTION = timedelta(days=5 * 365)  # limitation period (art. 2224 Code civil)
SMS_CODE_TTL_S = 900
SMS_MAX_ATTEMPTS = 5
MANAGE_TTL_S = 395 * 86400  # the personal link shown at the end of the portal
RIGHTS_LINK_TTL_S = 3600  # a link sent on request
FIRST_NAME_MAX = 40
ERASURE_MARK = "erasure"  # a key of ConsumerRecord.pending: an erasure asked for and not finished yet

# (limit, window seconds) per rate-limited action; subjects are keyed hashes, never stored in clear.
LIMITS: dict[str, tuple[int, int]] = {
    "submit-ip": (30, 600),
    "send-contact": (5, 86400),
    "rights-ip": (10, 3600),
    "rights-contact": (3, 3600),
    "confirm-ip": (30, 600),
    "manage-ip": (60, 600),
    "grant-ip": (20, 600),
}
GRANT_ATTEMPTS = 2  # in the request; then the page offers "try again"
GRANT_BACKOFF_S = 0.5


class OptinError(Exception):
    """A request the portal answers with a page of its own (bad link, bad form...), never a 500."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RateLimited(OptinError):
    """A limit reached: ``retry_after`` seconds until its window ends (the Retry-After header)."""

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__("rate_limited", 429)
        self.retry_after = max(1, retry_after)


class ErasureUnfinished(Exception):
    """An erasure stopped by an outage: what is left is marked and the daily job finishes it (or a retry)."""


@dataclass(frozen=True)
class PortalSession:
    """The state between portal pages: which device, via which controller, where to go next."""

    device: str
    controller_id: str
    venue: str
    next_url: str | None
    session_seconds: int
    lang: str = "fr"
    consumer_id: str | None = None
    #: the client MAC (hex), only for a controller that grants over its API (UniFi): sealed (encrypted)
    #: in the page for the session's 30 minutes, never stored or logged
    mac: str | None = None

    def seal(self, keys: OptinKeys, now: float) -> str:
        payload = {
            "d": self.device,
            "c": self.controller_id,
            "v": self.venue,
            "n": self.next_url,
            "t": self.session_seconds,
            "l": self.lang,
            "u": self.consumer_id,
            **({"m": self.mac} if self.mac else {}),
        }
        return tokens.seal(keys, payload, now)

    @classmethod
    def unseal(cls, keys: OptinKeys, token: str, now: float) -> PortalSession:
        p = tokens.unseal(keys, token, now, SESSION_TTL_S)
        return cls(p["d"], p["c"], p["v"], p.get("n"), int(p["t"]), p.get("l", "fr"), p.get("u"), p.get("m"))


@dataclass(frozen=True)
class Choices:
    purposes: frozenset[str]
    email: str = ""
    phone: str = ""
    first_name: str = ""


@dataclass(frozen=True)
class SubmitResult:
    session: PortalSession
    consented: tuple[str, ...]
    email_sent: bool = False
    sms_sent: bool = False
    manage_token: str | None = None
    errors: tuple[str, ...] = ()
    undelivered: tuple[str, ...] = ()  # channels whose confirmation message the provider refused
    granted: bool = True  # False: the controller could not be reached; the page offers to try again

    @property
    def needs_sms_code(self) -> bool:
        return self.sms_sent


@dataclass(frozen=True)
class ConfirmResult:
    status: str  # confirmed | already | invalid
    purpose: str | None = None
    granted: bool = True


@dataclass
class OptinDeps:
    store: ConsentStore
    controllers: Controllers
    grants: Grants
    limiter: RateLimiter
    messenger: Messenger
    archive: TextArchive
    allowlist: AllowlistTrigger
    holders: Sequence[ConsumerDataHolder] = ()
    controller_api: ControllerApi | None = None  # controllers that grant over an API (UniFi)


@dataclass
class OptinService:
    deps: OptinDeps
    keys: OptinKeys
    settings: OptinSettings
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _controllers: dict[str, ControllerRecord | None] = field(default_factory=dict)

    # ----- the captive portal -------------------------------------------------------------------

    def open_portal(self, params: Mapping[str, str], lang: str) -> PortalSession:
        """Trust the controller's redirect only if signed and fresh; keep the device hash, drop the MAC."""
        try:
            verified = verify_redirect(params, self._controller, self.clock())
        except RedirectError as exc:
            raise OptinError(f"redirect_{exc.reason}", 403) from None
        device = self.keys.device_hash(verified.mac)
        ctrl = verified.controller
        mac = verified.mac.hex() if ctrl.grants_by_api else None
        return PortalSession(
            device, ctrl.controller_id, ctrl.venue_name, verified.continuation.next_url, ctrl.session_seconds, lang,
            mac=mac,
        )  # fmt: skip

    def session(self, token: str) -> PortalSession:
        try:
            return PortalSession.unseal(self.keys, token, self.clock())
        except (tokens.TokenError, KeyError, ValueError):
            raise OptinError("session_expired", 403) from None

    def refuse(self, session: PortalSession) -> bool:
        """ "Continue without consenting": WiFi access, and nothing stored about the person."""
        return self._grant(session)

    def submit(self, session: PortalSession, choices: Choices, ip: str) -> SubmitResult:
        """Record the ticked purposes, send the confirmations, grant WiFi access (after an SMS code)."""
        now = self.clock()
        self._limit("submit-ip", ip, now)
        purposes = tuple(p for p in PURPOSES if p in choices.purposes)
        if not purposes:
            return SubmitResult(session, (), granted=self.refuse(session))
        email = normalize_email(choices.email) if OFFERS_EMAIL in purposes else None
        phone = normalize_phone(choices.phone) if OFFERS_SMS in purposes else None
        errors = _form_errors(purposes, choices, email, phone)
        if errors:
            return SubmitResult(session, purposes, errors=errors)
        for contact in (email, phone):
            if contact:
                self._limit("send-contact", contact, now)

        at = _dt(now)
        screen = consent_screen(session.lang, self.settings)
        self.deps.archive.keep(screen.version, screen.canonical_text())
        consumer = ConsumerRecord(new_consumer_id(), at, lang=session.lang)
        consumer.first_name = choices.first_name.strip()[:FIRST_NAME_MAX] or None
        proof = {"controller": session.controller_id, "redirect": "hmac-verified", "ip": self.keys.fingerprint(ip)}
        events = [
            LedgerEvent.new(consumer.consumer_id, p, GRANTED, screen.version, session.lang, VIA_PORTAL, proof, at)
            for p in purposes
        ]
        allow: list[AllowlistRecord] = []
        if AUDIENCE in purposes:
            allow.append(
                AllowlistRecord(
                    session.device, consumer.consumer_id, self.keys.consent_key_id, at, at + AUDIENCE_CONSENT_TTL
                )
            )
            self._supersede_device(session.device, at)
        sends = self._open_confirmations(consumer, email, phone, now)
        consumer.consents = fold_state(events)
        self.deps.store.commit(consumer, events, allow=allow)

        session = replace(session, consumer_id=consumer.consumer_id)
        undelivered: list[str] = []
        email_sent = sms_sent = False
        try:
            email_sent = self._send_email_confirmation(consumer, session, sends) if email else False
        except DeliveryError:
            undelivered.append("email")  # stays pending, unconfirmed: the daily job ends it after 7 days
        try:
            sms_sent = self._send_sms_confirmation(consumer, sends) if phone else False
        except DeliveryError:
            undelivered.append("sms")
        granted = True if sms_sent else self._grant(session)
        manage = tokens.sign(self.keys, "manage", {"c": [consumer.consumer_id]}, now, MANAGE_TTL_S)
        return SubmitResult(
            session, purposes, email_sent, sms_sent, manage, undelivered=tuple(undelivered), granted=granted
        )

    def confirm_sms_code(self, session: PortalSession, code: str, ip: str) -> ConfirmResult:
        """The code typed in the portal; five wrong tries end the pending confirmation."""
        now = self.clock()
        self._limit("confirm-ip", ip, now)
        consumer = self.deps.store.consumer(session.consumer_id or "")
        pending = _pending(consumer, "sms") if consumer else None
        if consumer is None or pending is None or now > pending["expires"] or pending["attempts"] >= SMS_MAX_ATTEMPTS:
            return ConfirmResult("invalid", OFFERS_SMS)
        code_ok = hmac.compare_digest(self.keys.fingerprint("sms-code|" + code.strip()), pending["code"])
        if not code_ok:
            pending["attempts"] += 1
            consumer.pending["sms"] = json.dumps(pending)
            self.deps.store.commit(consumer)
            return ConfirmResult("invalid", OFFERS_SMS)
        result = self._confirm(consumer, "sms", VIA_SMS_CODE, {"code": "matched", "ip": self.keys.fingerprint(ip)})
        return replace(result, granted=self._grant(session))

    def summary(self, session: PortalSession) -> SubmitResult:
        """What the end page shows after the SMS step: the choices in force, the email pending, the link."""
        consumer = self.deps.store.consumer(session.consumer_id or "")
        if consumer is None:
            return SubmitResult(session, ())
        consented = tuple(live_purposes(consumer.consents))
        manage = tokens.sign(self.keys, "manage", {"c": [consumer.consumer_id]}, self.clock(), MANAGE_TTL_S)
        return SubmitResult(session, consented, consumer.email_status == PENDING, False, manage)

    def skip_sms_code(self, session: PortalSession) -> bool:
        """Go online now; the link in the SMS can still confirm later."""
        return self._grant(session)

    def retry_grant(self, session: PortalSession, ip: str) -> bool:
        """ "Try again" after the controller could not be reached (the choices are already recorded)."""
        self._limit("grant-ip", ip, self.clock())
        return self._grant(session)

    def confirm_link(self, token: str, ip: str) -> ConfirmResult:
        """The link of a confirmation email or SMS (a page with a button, so mail scanners confirm nothing)."""
        now = self.clock()
        self._limit("confirm-ip", ip, now)
        try:
            body = tokens.verify(self.keys, "confirm", token, now)
        except tokens.TokenError:
            return ConfirmResult("invalid")
        channel = str(body.get("ch"))
        consumer = self.deps.store.consumer(str(body.get("c")))
        if consumer is None or channel not in CHANNEL_PURPOSE:
            return ConfirmResult("invalid")
        purpose = CHANNEL_PURPOSE[channel]
        if consumer.consents.get(purpose) == ACTIVE:
            return ConfirmResult("already", purpose)
        pending = _pending(consumer, channel)
        if pending is None or not hmac.compare_digest(_sha(str(body.get("n"))), pending["nonce"]):
            return ConfirmResult("invalid", purpose)
        method = VIA_EMAIL_LINK if channel == "email" else VIA_SMS_LINK
        return self._confirm(consumer, channel, method, {"link": _sha(token)[:32], "ip": self.keys.fingerprint(ip)})

    def withdraw_device(self, session: PortalSession) -> None:
        """From the portal, on the device itself: stop audience measurement of this device.

        The page is the same whether the device was listed or not, and it discloses nothing: a MAC is
        easy to spoof, so the device alone never opens anyone's data.
        """
        entry = self.deps.store.allowlist_entry(session.device)
        if entry is not None:
            self.withdraw([entry.consumer_id], [AUDIENCE], VIA_PORTAL)

    # ----- captive portal API (RFC 8908) and the probes -------------------------------------------

    def device_from(self, params: Mapping[str, str]) -> tuple[str, str] | None:
        """(controller, device hash) from a signed controller redirect or a portal session, else None."""
        if params.get("s"):
            try:
                s = self.session(params["s"])
                return s.controller_id, s.device
            except OptinError:
                return None
        try:
            verified = verify_redirect(params, self._controller, self.clock())
        except RedirectError:
            return None
        return verified.controller.controller_id, self.keys.device_hash(verified.mac)

    def seconds_remaining(self, controller_id: str, device: str) -> int | None:
        """Seconds of WiFi access left for this device, None when it is captive."""
        until = self.deps.grants.until(self.keys.grant_key(controller_id, device))
        left = None if until is None else int(until - self.clock())
        return left if left is not None and left > 0 else None

    def controller(self, controller_id: str) -> ControllerRecord | None:
        return self._controller(controller_id)

    # ----- withdrawal and rights ------------------------------------------------------------------

    def withdraw(self, consumer_ids: Sequence[str], purposes: Sequence[str], channel: str) -> list[str]:
        """Withdraw purposes (all if empty): effective at once for offers, republished for the sensors.

        Withdrawing audience measurement also deletes the visit data collected under it; withdrawing the
        last purpose erases the consumer altogether (only the proof of withdrawal is kept).
        """
        at = _dt(self.clock())
        withdrawn: list[str] = []
        republish = False
        for consumer in self.consumers(consumer_ids):
            live = live_purposes(consumer.consents)
            ending = [p for p in live if not purposes or p in purposes]
            if not ending:
                continue
            withdrawn += ending
            if len(ending) == len(live):
                republish = self._erase_one(consumer, channel, at) or republish
                continue
            events = self._withdrawal_events(consumer, ending, channel, at)
            disallow = (
                [d.device_hash for d in self.deps.store.devices_of(consumer.consumer_id)] if AUDIENCE in ending else []
            )
            _apply_withdrawal(consumer, ending)
            self.deps.store.commit(consumer, events, disallow=disallow)
            if AUDIENCE in ending:
                for holder in self.deps.holders:
                    holder.erase(consumer.consumer_id)
            republish = republish or bool(disallow)
        if republish:
            self.deps.allowlist.publish_now()
        return withdrawn

    def expire(self) -> dict[str, int]:
        """The daily job: end confirmations never made (7 days) and audience consents older than 13 months."""
        now = self.clock()
        ended = {"unconfirmed": 0, "lapsed": 0, "erasures_finished": 0}
        consumers = list(self.deps.store.all_consumers())
        unfinished = [c.consumer_id for c in consumers if ERASURE_MARK in c.pending]
        if unfinished:  # erasures an outage stopped midway (their person was told it would finish)
            self.erase(unfinished)
            ended["erasures_finished"] = len(unfinished)
        for consumer in consumers:
            if ERASURE_MARK in consumer.pending:
                continue
            stale = [
                CHANNEL_PURPOSE[ch]
                for ch in list(consumer.pending)
                if ch in CHANNEL_PURPOSE
                and (p := _pending(consumer, ch))
                and now > p.get("created", now) + UNCONFIRMED_TTL.total_seconds()
            ]
            if stale:
                ended["unconfirmed"] += len(self.withdraw([consumer.consumer_id], stale, VIA_UNCONFIRMED))
        lapsed = {d.consumer_id for d in self.deps.store.all_devices() if d.expires_at.timestamp() <= now}
        for consumer_id in sorted(lapsed):
            ended["lapsed"] += len(self.withdraw([consumer_id], [AUDIENCE], VIA_LAPSED))
        return ended

    def request_rights_link(self, contact_text: str, ip: str) -> None:
        """Send a "my data" link to a registered contact; answer the same way, in the same time, for anyone."""
        started = time.monotonic()
        try:
            contact = normalize_email(contact_text) or normalize_phone(contact_text)
            if contact is None:
                raise OptinError("contact_invalid")
            now = self.clock()
            self._limit("rights-ip", ip, now)
            self._limit("rights-contact", contact, now)
            contact_hash = self.keys.contact_hash(contact)
            if self.deps.store.consumer_ids_by_contact(contact_hash):
                url = self._url(
                    "/me/manage", tokens.sign(self.keys, "manage", {"h": contact_hash}, now, RIGHTS_LINK_TTL_S)
                )
                # A provider failure must not answer differently from "not registered" (that would tell).
                with contextlib.suppress(DeliveryError):
                    if "@" in contact:
                        mail = messages.rights_link(url)
                        self.deps.messenger.email(contact, mail.subject, mail.text)
                    else:
                        self.deps.messenger.sms(contact, messages.rights_link_sms(url))
        finally:
            self._pad(started)

    def manage_scope(self, token: str) -> list[str]:
        """The consumer pseudonyms a "my data" link opens (a contact's, or the one of the portal's end page)."""
        try:
            body = tokens.verify(self.keys, "manage", token, self.clock())
        except tokens.TokenError:
            raise OptinError("link_invalid", 403) from None
        if "h" in body:
            ids = self.deps.store.consumer_ids_by_contact(str(body["h"]))
        else:
            ids = [str(c) for c in body.get("c", [])]
        return [i for i in ids if self.deps.store.consumer(i) is not None]

    def withdraw_scope(self, token: str) -> tuple[list[str], list[str]]:
        """The consumer and purposes a message's withdrawal link ends (these links never expire)."""
        try:
            body = tokens.verify(self.keys, "withdraw", token, self.clock())
        except tokens.TokenError:
            raise OptinError("link_invalid", 403) from None
        purpose = str(body.get("p", "all"))
        return [str(body.get("c"))], ([] if purpose == "all" else [purpose])

    def consumers(self, consumer_ids: Sequence[str]) -> list[ConsumerRecord]:
        return [c for c in (self.deps.store.consumer(i) for i in consumer_ids) if c is not None]

    def export(self, consumer_ids: Sequence[str]) -> dict[str, Any]:
        """Everything held about these consumers, as their owner downloads it (GDPR art. 15 and 20)."""
        out: list[dict[str, Any]] = []
        versions: set[str] = set()
        for consumer in self.consumers(consumer_ids):
            events = self.deps.store.events(subject_of(consumer.consumer_id))
            versions |= {e.text_version for e in events if e.text_version}
            out.append(
                {
                    "profile": consumer.public_json(),
                    "consent_ledger": [e.to_json() for e in events],
                    "devices": [
                        {
                            "device_fingerprint": d.device_hash,
                            "consented_at": d.consented_at.isoformat(),
                            "expires_at": d.expires_at.isoformat(),
                        }
                        for d in self.deps.store.devices_of(consumer.consumer_id)
                    ],
                    **{h.name: h.export(consumer.consumer_id) for h in self.deps.holders},
                }
            )
        return {
            "exported_at": _dt(self.clock()).isoformat(),
            "controller": self.settings.controller_name,
            "consumers": out,
            "texts_shown": {v: self.deps.archive.get(v) for v in sorted(versions)},
        }

    def erase(self, consumer_ids: Sequence[str]) -> bool:
        """Erase everything (GDPR art. 17), keeping only the proof of withdrawal; confirm to the person.

        Returns whether every confirmation message left. An outage midway raises
        :class:`ErasureUnfinished`: the consumer is marked first, so a retry or the daily job finishes it.
        """
        at = _dt(self.clock())
        republish, receipts = False, True
        try:
            for consumer in self.consumers(consumer_ids):
                asked = self._mark_erasure(consumer, at)
                republish = self._erase_one(consumer, VIA_ERASURE, asked, keep_consumer=True) or republish
                receipts = self._tell_erased(consumer, asked) and receipts
                self.deps.store.erase(consumer.consumer_id, ())  # the consumer item (and the mark) last
        except Exception as exc:
            if is_outage(exc):
                raise ErasureUnfinished() from exc
            raise
        if republish:
            self.deps.allowlist.publish_now()
        return receipts

    def _mark_erasure(self, consumer: ConsumerRecord, at: datetime) -> datetime:
        """Note the request on the consumer before anything is deleted, so an erasure stopped midway is
        found; a resumed one keeps the first request's time (its proofs get the same ids: no duplicate)."""
        if ERASURE_MARK in consumer.pending:
            return _dt(float(json.loads(consumer.pending[ERASURE_MARK])["requested"]))
        consumer.pending[ERASURE_MARK] = json.dumps({"requested": at.timestamp()})
        self.deps.store.commit(consumer)
        return at

    def _tell_erased(self, consumer: ConsumerRecord, at: datetime) -> bool:
        """The last message, once: whether it left is noted on the consumer item before that item goes, so a
        resumed erasure does not send it again (twice only if the process dies between SES and the note)."""
        mark = json.loads(consumer.pending[ERASURE_MARK])
        if "told" not in mark:
            mark["told"] = self._confirm_erasure(consumer, at)
            consumer.pending[ERASURE_MARK] = json.dumps(mark)
            self.deps.store.commit(consumer)
        return bool(mark["told"])

    def _erase_one(self, consumer: ConsumerRecord, channel: str, at: datetime, keep_consumer: bool = False) -> bool:
        """Safe to run again after a crash: the proofs are written first, with ids derived from the
        events they keep, then only what is still there is deleted, the consumer item last (so a retry
        finds it). Returns whether devices were listed.
        """
        events = self.deps.store.events(subject_of(consumer.consumer_id))
        closing = [  # ids derived from the request, not drawn: a resumed erasure writes the same proofs
            replace(e, event_id=f"{e.event_id.split('#')[0]}#{_sha(e.subject + e.purpose + channel)[:8]}")
            for e in self._withdrawal_events(consumer, live_purposes(consumer.consents), channel, at)
        ]
        retained = _retained_proofs(self.keys, consumer, [*events, *closing], at)
        for holder in self.deps.holders:  # other stores keyed by the pseudonym, or by the keyed contact hash
            for person in (consumer.consumer_id, *consumer.contact_hashes()):
                holder.erase(person)
        listed = bool(self.deps.store.devices_of(consumer.consumer_id))
        self.deps.store.erase(consumer.consumer_id, retained, keep_consumer)
        return listed

    # ----- helpers --------------------------------------------------------------------------------

    def _controller(self, controller_id: str) -> ControllerRecord | None:
        if controller_id not in self._controllers:
            self._controllers[controller_id] = self.deps.controllers.get(controller_id)
        return self._controllers[controller_id]

    def limit_ip(self, scope: str, ip: str) -> None:
        """Count one request of ``ip`` against ``scope``'s limit (routes that take only a signed link)."""
        self._limit(scope, ip, self.clock())

    def _limit(self, scope: str, subject: str, now: float) -> None:
        limit, window = LIMITS[scope]
        if not self.deps.limiter.allow(self.keys.rate_key(scope, subject), limit, window, now):
            raise RateLimited(window - int(now % window))  # fixed windows: the counter resets then

    def _pad(self, started: float) -> None:
        left = self.settings.rights_min_response_s - (time.monotonic() - started)
        if left > 0:
            self.sleep(left)

    def _grant(self, session: PortalSession) -> bool:
        """Let the device through: tell the controller when it grants over an API (retried once), then
        record the grant (RFC 8908's seconds-remaining). False when the controller could not be told."""
        controller = self._controller(session.controller_id)
        if controller is not None and controller.grants_by_api and not self._grant_by_api(controller, session):
            return False
        until = self.clock() + session.session_seconds
        self.deps.grants.grant(self.keys.grant_key(session.controller_id, session.device), session.controller_id, until)
        return True

    def _grant_by_api(self, controller: ControllerRecord, session: PortalSession) -> bool:
        api = self.deps.controller_api
        if api is None or not session.mac:
            logger.warning("controller grant impossible", extra={"controller": controller.controller_id})
            return False
        for attempt in range(GRANT_ATTEMPTS):
            try:
                api.authorize(controller, bytes.fromhex(session.mac), session.session_seconds)
                return True
            except GrantError as exc:  # the reason and the controller only: never the MAC
                logger.warning(
                    "controller grant failed",
                    extra={"controller": controller.controller_id, "reason": exc.reason, "attempt": attempt + 1},
                )
                if attempt + 1 < GRANT_ATTEMPTS:
                    self.sleep(GRANT_BACKOFF_S)
        return False

    def _url(self, path: str, token: str) -> str:
        return f"{self.settings.base_url}{path}?t={token}"

    def _supersede_device(self, device: str, at: datetime) -> None:
        """A device registered again: its previous consumer's audience consent ends, recorded as such."""
        previous = self.deps.store.allowlist_entry(device)
        if previous is None:
            return
        old = self.deps.store.consumer(previous.consumer_id)
        others = [d for d in self.deps.store.devices_of(previous.consumer_id) if d.device_hash != device]
        if old is None or others or old.consents.get(AUDIENCE) != ACTIVE:
            self.deps.store.commit(None, disallow=[device])
            return
        events = self._withdrawal_events(old, [AUDIENCE], VIA_SUPERSEDED, at)
        _apply_withdrawal(old, [AUDIENCE])
        self.deps.store.commit(old, events, disallow=[device])

    def _withdrawal_events(
        self, consumer: ConsumerRecord, purposes: Sequence[str], channel: str, at: datetime
    ) -> list[LedgerEvent]:
        history = self.deps.store.events(subject_of(consumer.consumer_id))
        version = {e.purpose: e.text_version for e in history if e.action == GRANTED}
        return [
            LedgerEvent.new(consumer.consumer_id, p, WITHDRAWN, version.get(p, ""), consumer.lang, channel, {}, at)
            for p in purposes
        ]

    def _open_confirmations(
        self, consumer: ConsumerRecord, email: str | None, phone: str | None, now: float
    ) -> dict[str, tuple[str, str]]:
        """Set the pending confirmations on the record; return channel -> (link nonce, SMS code)."""
        sends: dict[str, tuple[str, str]] = {}
        for channel, contact in (("email", email), ("sms", phone)):
            if not contact:
                continue
            nonce, code = secrets.token_urlsafe(16), f"{secrets.randbelow(1_000_000):06d}"
            pending = {
                "nonce": _sha(nonce),
                "created": now,
                "expires": now + CONFIRM_TTL_S,
                "attempts": 0,
                "message_id": "",
            }
            if channel == "sms":
                pending |= {"code": self.keys.fingerprint("sms-code|" + code), "expires": now + SMS_CODE_TTL_S}
            consumer.pending[channel] = json.dumps(pending)
            contact_hash = self.keys.contact_hash(contact)
            if channel == "email":
                consumer.email, consumer.email_hash, consumer.email_status = contact, contact_hash, PENDING
            else:
                consumer.phone, consumer.phone_hash, consumer.phone_status = contact, contact_hash, PENDING
            sends[channel] = (nonce, code)
        return sends

    def _links(self, consumer: ConsumerRecord, channel: str, nonce: str) -> tuple[str, str]:
        now = self.clock()
        confirm = tokens.sign(
            self.keys, "confirm", {"c": consumer.consumer_id, "ch": channel, "n": nonce}, now, CONFIRM_TTL_S
        )
        withdraw = tokens.sign(self.keys, "withdraw", {"c": consumer.consumer_id, "p": "all"}, now, None)
        return self._url("/confirm", confirm), self._url("/w", withdraw)

    def _send_email_confirmation(
        self, consumer: ConsumerRecord, session: PortalSession, sends: dict[str, tuple[str, str]]
    ) -> bool:
        assert consumer.email is not None
        confirm_url, withdraw_url = self._links(consumer, "email", sends["email"][0])
        mail = messages.confirm_email(session.venue, confirm_url, withdraw_url)
        self._remember_message(consumer, "email", self.deps.messenger.email(consumer.email, mail.subject, mail.text))
        return True

    def _send_sms_confirmation(self, consumer: ConsumerRecord, sends: dict[str, tuple[str, str]]) -> bool:
        assert consumer.phone is not None
        nonce, code = sends["sms"]
        confirm_url, withdraw_url = self._links(consumer, "sms", nonce)
        text = messages.confirm_sms(code, confirm_url, withdraw_url)
        self._remember_message(consumer, "sms", self.deps.messenger.sms(consumer.phone, text))
        return True

    def _remember_message(self, consumer: ConsumerRecord, channel: str, message_id: str) -> None:
        pending = _pending(consumer, channel)
        if pending is not None:
            pending["message_id"] = message_id
            consumer.pending[channel] = json.dumps(pending)
            self.deps.store.commit(consumer)

    def _confirm(self, consumer: ConsumerRecord, channel: str, via: str, proof: dict[str, str]) -> ConfirmResult:
        at = _dt(self.clock())
        purpose = CHANNEL_PURPOSE[channel]
        pending = _pending(consumer, channel) or {}
        history = self.deps.store.events(subject_of(consumer.consumer_id))
        version = next((e.text_version for e in history if e.purpose == purpose and e.action == GRANTED), "")
        proof = {**proof, "message_id": str(pending.get("message_id", ""))}
        event = LedgerEvent.new(consumer.consumer_id, purpose, CONFIRMED, version, consumer.lang, via, proof, at)
        consumer.pending.pop(channel, None)
        consumer.consents[purpose] = ACTIVE
        if channel == "email":
            consumer.email_status = CONFIRMED
        else:
            consumer.phone_status = CONFIRMED
        self.deps.store.commit(consumer, [event])
        return ConfirmResult("confirmed", purpose)

    def _confirm_erasure(self, consumer: ConsumerRecord, at: datetime) -> bool:
        """The last message, sent once the data is gone (never before: it says so); False if it could not leave."""
        stamp = at.strftime("%Y-%m-%d %H:%M")
        try:
            if consumer.email:
                mail = messages.erasure_done(stamp)
                self.deps.messenger.email(consumer.email, mail.subject, mail.text)
            if consumer.phone:
                self.deps.messenger.sms(consumer.phone, messages.erasure_done_sms(stamp))
        except DeliveryError:
            return False
        return True


def _form_errors(purposes: Sequence[str], choices: Choices, email: str | None, phone: str | None) -> tuple[str, ...]:
    errors = []
    if OFFERS_EMAIL in purposes and email is None:
        errors.append("email_required" if not choices.email.strip() else "email_invalid")
    if OFFERS_SMS in purposes and phone is None:
        errors.append("phone_required" if not choices.phone.strip() else "phone_invalid")
    return tuple(errors)


def _apply_withdrawal(consumer: ConsumerRecord, purposes: Sequence[str]) -> None:
    """Update the projection; a contact no purpose needs any more is dropped (its keyed hash stays)."""
    for purpose in purposes:
        consumer.consents[purpose] = WITHDRAWN
        consumer.pending.pop(PURPOSE_CHANNEL.get(purpose, ""), None)
    if consumer.consents.get(OFFERS_EMAIL) != ACTIVE and consumer.consents.get(OFFERS_EMAIL) != PENDING:
        consumer.email, consumer.email_status = None, None
    if consumer.consents.get(OFFERS_SMS) != ACTIVE and consumer.consents.get(OFFERS_SMS) != PENDING:
        consumer.phone, consumer.phone_status = None, None
    if not live_purposes(consumer.consents):
        consumer.first_name = None


def _retained_proofs(
    keys: OptinKeys, consumer: ConsumerRecord, events: Sequence[LedgerEvent], at: datetime
) -> list[LedgerEvent]:
    """The proofs of withdrawal kept after an erasure: no pseudonym, no contact, only a keyed hash."""
    key = consumer.email_hash or consumer.phone_hash or keys.proof_hash(consumer.consumer_id)
    subject = PROOF_PREFIX + keys.proof_hash(key)
    granted = {e.purpose: e.recorded_at.isoformat() for e in events if e.action == GRANTED}
    expires = at + PROOF_RETENTION
    kept = [
        LedgerEvent(
            subject,
            f"{e.event_id.split('#')[0]}#{_sha(e.subject + e.event_id)[:8]}",
            e.purpose,
            WITHDRAWN,
            e.text_version,
            e.lang,
            e.channel,
            {"granted_at": granted.get(e.purpose, "")},
            e.recorded_at,
            expires,
        )
        for e in events
        if e.action == WITHDRAWN
    ]
    receipt_id = f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{_sha(subject + 'erased')[:8]}"
    kept.append(LedgerEvent(subject, receipt_id, "all", ERASED, "", consumer.lang, VIA_ERASURE, {}, at, expires))
    return kept


def _pending(consumer: ConsumerRecord | None, channel: str) -> dict[str, Any] | None:
    if consumer is None or channel not in consumer.pending:
        return None
    value: dict[str, Any] = json.loads(consumer.pending[channel])
    return value


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
