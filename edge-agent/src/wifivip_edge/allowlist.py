"""The consent allowlist: the devices whose owners opted in to audience measurement, as a sensor sees them.

Both ends import this module, like :mod:`wifivip_edge.batch`: the cloud builds and signs the list, the
sensor fetches, verifies and applies it. One definition of the keyed device hash serves both: the
captive portal hashes the MAC the WiFi controller reports, the sensor hashes the MAC it hears, and the
two meet only if they are the same device.

Design (the threat model is in ``docs/privacy-optin.md``):

- ``device_hash = HMAC-SHA256(consent key, "wifivip-consent-v1" || MAC)`` truncated to 128 bits. The
  consent key is shared by the cloud and the sensors and never stored next to a raw MAC; the raw MAC
  exists only in the portal request's memory and in the sensor's capture loop.
- The list maps device hashes to the stable *consumer pseudonym* (a random 128-bit id drawn at
  registration, not derived from the MAC), which is what the sensor puts in
  ``SessionRecord.consumer``. An unlisted device never gets one.
- The document is signed with Ed25519: sensors hold only the public key (from their enrolment
  config, never from the bucket the list comes from), so whoever can write the bucket cannot add a
  device. It carries a version that only grows (a replayed older list is refused) and an expiry: a
  sensor that cannot refresh stops emitting consumer pseudonyms when its list expires (fail closed),
  which bounds how long a withdrawal takes to reach the sensors.

Stored in S3 as JSON: ``{"payload": "<canonical JSON>", "signature": "<base64>", "signing_key": "<id>"}``;
the signature covers the payload's exact UTF-8 bytes, so no canonicalisation is needed to verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from wifivip_edge.config import AgentConfig

FORMAT = "wifivip-allowlist"
FORMAT_VERSION = 1
HASH_DOMAIN = b"wifivip-consent-v1"
DEVICE_HASH_HEX = 32
DEVICE_HASH_RE = re.compile(r"^[0-9a-f]{32}$")
CONSUMER_RE = re.compile(r"^[0-9a-f]{32}$")
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_ENTRIES = 1_000_000
MAX_DOCUMENT_BYTES = 128 * 1024 * 1024

LIST_OBJECT = "allowlist/latest.json"
CONSENT_KEY_OBJECT = "allowlist/consent-key.json"

log = logging.getLogger("wifivip_edge.allowlist")

AllowlistErrorReason = Literal[
    "bad_document", "bad_signature", "unknown_format", "invalid_field", "rollback", "expired", "wrong_consent_key"
]


class AllowlistError(ValueError):
    """A list the sensor must not apply; ``reason`` is a stable code, ``detail`` says what was wrong."""

    def __init__(self, reason: AllowlistErrorReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def device_hash(consent_key: bytes, mac: bytes) -> str:
    """The keyed hash under which a device appears in the allowlist (128 bits, hex)."""
    return hmac.digest(consent_key, HASH_DOMAIN + mac, "sha256")[: DEVICE_HASH_HEX // 2].hex()


def key_fingerprint(consent_key: bytes) -> str:
    """What the signed list says about the consent key, so a sensor knows it hashes with the right one."""
    return hashlib.sha256(b"wifivip-consent-key-fingerprint" + consent_key).hexdigest()


def signing_key_id(public_key: bytes) -> str:
    """A short id for an Ed25519 public key (raw 32 bytes)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class Allowlist:
    """A verified list: device hash -> consumer pseudonym, valid until ``expires_at`` (epoch seconds)."""

    version: int
    issued_at: float
    expires_at: float
    consent_key_id: str
    consent_key_sha256: str
    entries: Mapping[str, str]


def build_payload(
    version: int,
    issued_at: float,
    expires_at: float,
    consent_key_id: str,
    consent_key: bytes,
    entries: Iterable[tuple[str, str]],
) -> bytes:
    """The canonical payload the cloud signs (sorted entries, compact JSON)."""
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version,
        "issued_at": round(issued_at, 3),
        "expires_at": round(expires_at, 3),
        "consent_key_id": consent_key_id,
        "consent_key_sha256": key_fingerprint(consent_key),
        "entries": sorted([d, c] for d, c in entries),
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def assemble_document(payload: bytes, signature: bytes, public_key: bytes) -> bytes:
    """The object stored for sensors: the payload, its Ed25519 signature and the signer's key id."""
    doc = {
        "payload": payload.decode(),
        "signature": base64.b64encode(signature).decode(),
        "signing_key": signing_key_id(public_key),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def verify_document(blob: bytes, public_key: bytes) -> Allowlist:
    """Check the signature, then parse and validate the payload; raise AllowlistError on any defect."""
    if len(blob) > MAX_DOCUMENT_BYTES:
        raise AllowlistError("bad_document", f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        doc = json.loads(blob)
        payload = doc["payload"].encode()
        signature = base64.b64decode(doc["signature"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AllowlistError("bad_document", f"not a signed allowlist document: {exc}") from None
    _verify_signature(public_key, payload, signature)
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise AllowlistError("bad_document", f"payload is not JSON: {exc}") from None
    return _parse_payload(body)


def _verify_signature(public_key: bytes, payload: bytes, signature: bytes) -> None:
    # Imported here: only consent-mode sensors pay for loading the crypto library.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        raise AllowlistError("bad_signature", "Ed25519 signature does not verify with the configured key") from None


def _parse_payload(body: Any) -> Allowlist:
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("format_version") != FORMAT_VERSION:
        raise AllowlistError("unknown_format", "not a wifivip allowlist of a supported format version")
    version, issued, expires = body.get("version"), body.get("issued_at"), body.get("expires_at")
    if not (isinstance(version, int) and not isinstance(version, bool) and version > 0):
        raise AllowlistError("invalid_field", "version")
    if not (isinstance(issued, (int, float)) and isinstance(expires, (int, float)) and 0 < issued < expires):
        raise AllowlistError("invalid_field", "issued_at/expires_at")
    key_id, key_sha = body.get("consent_key_id"), body.get("consent_key_sha256")
    if not (isinstance(key_id, str) and KEY_ID_RE.match(key_id) and isinstance(key_sha, str) and len(key_sha) == 64):
        raise AllowlistError("invalid_field", "consent key id")
    raw_entries = body.get("entries")
    if not isinstance(raw_entries, list) or len(raw_entries) > MAX_ENTRIES:
        raise AllowlistError("invalid_field", "entries")
    entries: dict[str, str] = {}
    for entry in raw_entries:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and DEVICE_HASH_RE.match(entry[0])
            and isinstance(entry[1], str)
            and CONSUMER_RE.match(entry[1])
        ):
            raise AllowlistError("invalid_field", "entry")
        entries[entry[0]] = entry[1]
    return Allowlist(version, float(issued), float(expires), key_id, key_sha, entries)


@dataclass
class ConsentMatcher:
    """The sensor's answer to "which consumer is this MAC?", from the newest verified list.

    The batcher calls :meth:`consumer_of` with a raw MAC while the frame is in memory; nothing about the
    MAC is kept. Returns None for every device when no valid list is installed or the list expired.
    """

    public_key: bytes
    clock: Callable[[], float] = time.time
    # (list, consent key) replaced as one value: the capture thread reads it while the network thread
    # installs a new one, and must never pair a list with another list's key.
    _state: tuple[Allowlist, bytes] | None = None
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def current(self) -> Allowlist | None:
        state = self._state
        return state[0] if state else None

    def install(self, blob: bytes, consent_key: bytes) -> Allowlist:
        """Verify and apply a fetched list; keep the current one and raise on any defect."""
        try:
            listed = verify_document(blob, self.public_key)
            if self.current is not None and listed.version < self.current.version:
                raise AllowlistError("rollback", f"version {listed.version} is older than {self.current.version}")
            if listed.expires_at <= self.clock():
                raise AllowlistError("expired", f"list {listed.version} expired at {listed.expires_at:.0f}")
            if key_fingerprint(consent_key) != listed.consent_key_sha256:
                raise AllowlistError("wrong_consent_key", f"consent key is not {listed.consent_key_id}")
        except AllowlistError as exc:
            self.rejected[exc.reason] = self.rejected.get(exc.reason, 0) + 1
            raise
        self._state = (listed, consent_key)
        return listed

    def active(self) -> bool:
        return self.current is not None and self.current.expires_at > self.clock()

    def consumer_of(self, mac: bytes) -> str | None:
        """The consumer pseudonym of a listed device; None for everyone else (and when the list expired)."""
        state = self._state
        if state is None or not state[0].entries or state[0].expires_at <= self.clock():
            return None
        return state[0].entries.get(device_hash(state[1], mac))

    def status(self) -> dict[str, Any]:
        """For the heartbeat: which list is applied, until when, and how many fetched lists were refused."""
        listed = self.current
        return {
            "allowlist_version": listed.version if listed else None,
            "allowlist_entries": len(listed.entries) if listed else 0,
            "allowlist_expires_at": listed.expires_at if listed else None,
            "allowlist_active": self.active(),
            "allowlist_rejected": dict(self.rejected),
        }


def parse_consent_key(blob: bytes) -> tuple[str, bytes]:
    """The consent key object (``{"key_id": ..., "key": base64}``) as (key id, key bytes)."""
    try:
        doc = json.loads(blob)
        key_id, key = doc["key_id"], base64.b64decode(doc["key"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise AllowlistError("bad_document", f"not a consent key object: {exc}") from None
    if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id) or len(key) < 16:
        raise AllowlistError("invalid_field", "consent key")
    return key_id, key


@dataclass
class AllowlistFetcher:
    """Fetches the list (and the consent key when its id changes) every ``refresh_seconds``.

    ``client`` is the sensor's S3 client for the list's bucket (:class:`wifivip_edge.s3lite.S3Client`:
    ``get_object(key) -> bytes | None`` and ``get_object_if_changed(key, etag) -> Fetched``). The list
    is polled with its last ETag: an unchanged list (the publisher rewrites it only on a change or
    every 20 minutes) costs a 304 without body and is not verified again; same bytes under a new ETag
    are not verified again either. Failures are counted and logged without detail about devices; the
    matcher keeps the last good list until it expires (which a 304 never extends).
    """

    matcher: ConsentMatcher
    client: Any
    list_key: str = LIST_OBJECT
    consent_key_key: str = CONSENT_KEY_OBJECT
    refresh_seconds: float = 300.0
    _digest: str | None = None
    _etag: str | None = None
    _next_fetch: float = 0.0
    _consent_key: tuple[str, bytes] | None = None
    failures: int = 0
    not_modified: int = 0  # polls answered 304

    def maybe_refresh(self, now: float | None = None) -> bool:
        """Fetch if the refresh period has passed; return True when a new list was installed."""
        now = self.matcher.clock() if now is None else now
        if now < self._next_fetch:
            return False
        self._next_fetch = now + self.refresh_seconds
        return self.refresh()

    def refresh(self) -> bool:
        try:
            return self._fetch()
        except AllowlistError as exc:
            self.failures += 1
            log.warning("allowlist refused: %s", exc.reason)
        except Exception as exc:  # network, credentials, S3 errors: keep the current list
            self.failures += 1
            log.warning("allowlist fetch failed: %s", type(exc).__name__)
        return False

    def _fetch(self) -> bool:
        active = self.matcher.active()
        fetched = self.client.get_object_if_changed(self.list_key, self._etag if active else None)
        if fetched.status == "unchanged":
            self.not_modified += 1
            return False
        if fetched.status == "missing":
            raise AllowlistError("bad_document", "no list published yet")
        blob: bytes = fetched.body
        digest = hashlib.sha256(blob).hexdigest()
        if digest == self._digest and active:
            self._etag = fetched.etag
            return False
        key = self._key_for(_peek_key_id(blob))
        self.matcher.install(blob, key)
        self._digest, self._etag = digest, fetched.etag
        return True

    def _key_for(self, key_id: str | None) -> bytes:
        if self._consent_key is None or self._consent_key[0] != key_id:
            blob = self.client.get_object(self.consent_key_key)
            if blob is None:
                raise AllowlistError("bad_document", "no consent key object")
            self._consent_key = parse_consent_key(blob)
        return self._consent_key[1]


def _peek_key_id(blob: bytes) -> str | None:
    """The consent key id the (not yet verified) list names, to know which key to fetch."""
    try:
        key_id = json.loads(json.loads(blob)["payload"]).get("consent_key_id")
        return key_id if isinstance(key_id, str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def consent_fetcher(config: AgentConfig, client: Any) -> AllowlistFetcher | None:
    """Consent mode with a configured trust anchor: the allowlist fetcher (else None: nobody is listed).

    ``client`` is the sensor's S3 client of the upload bucket; a separate ``[allowlist] bucket`` gets its own.
    """
    from wifivip_edge.config import allowlist_public_key

    if config.privacy.mode != "consent":
        return None
    key = allowlist_public_key(config)
    if key is None:
        log.warning("mode consent sans [allowlist] public_key / consent mode without a public key: no consumer ids")
        return None
    if config.allowlist.bucket and config.allowlist.bucket != config.upload.bucket:
        from wifivip_edge.s3lite import S3Client

        client = S3Client(config.allowlist.bucket, config.upload.region, config.upload.endpoint_url)
    return AllowlistFetcher(ConsentMatcher(key), client, refresh_seconds=config.allowlist.refresh_seconds)
