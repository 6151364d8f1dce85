"""Agent configuration: one TOML file, every value overridable from the environment.

An override is ``WIFIVIP_EDGE_<SECTION>_<KEY>`` (upper case), e.g. ``WIFIVIP_EDGE_UPLOAD_BUCKET``;
top-level keys drop the section: ``WIFIVIP_EDGE_SENSOR_ID``. Lists are comma-separated
(``WIFIVIP_EDGE_CAPTURE_CHANNELS=1,6,11``). The environment is read once, here.

Example (``edge-agent/deploy/wifivip-edge.toml`` is the commented template)::

    sensor_id = "vh-mode-s1"
    state_dir = "/var/lib/wifivip-edge"

    [capture]
    interface = "wlan1"
    channels = [1, 6, 11]
    dwell_s = 0.5

    [upload]
    bucket = "wifivip-prod-data-..."
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from wifivip_edge.batch import PRIVACY_MODES, SENSOR_ID_RE, Thresholds

#: Default pseudonym width per privacy mode (bits). 16 bits: ~65,000 values, so that among a city's
#: tens of thousands of daily devices many share one (the anonymous mode's promise).
DEFAULT_BITS = {"anonymous": 16, "pseudonymous-24h": 32, "consent": 32}
MAX_ANONYMOUS_BITS = 16
#: CNIL: a raw MAC may wait in memory at most 5 minutes (for the day's key) before it is dropped.
MAX_RAW_HOLD_S = 300


class ConfigError(ValueError):
    """The configuration is missing something or holds a bad value (the message says which)."""


@dataclass(frozen=True)
class UploadConfig:
    bucket: str = ""
    region: str = "eu-west-3"
    endpoint_url: str | None = None
    prefix: str = "raw"
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0


@dataclass(frozen=True)
class PrivacyConfig:
    mode: str = "pseudonymous-24h"
    pseudonym_bits: int = 0  # 0: the mode's default (DEFAULT_BITS)
    # Offline replays, tests and the demo only: a fixed key. A deployed sensor fetches the day's key.
    key_hex: str = ""


@dataclass(frozen=True)
class BatchingConfig:
    batch_seconds: int = 300
    session_gap_seconds: int = 300
    # "Visitors now": a live figure leaves at most this often while the sensor hears anyone (a batch
    # carries it, else a heartbeat object): with the cloud's latency (measured ~4 s, S3 -> Lambda assumed
    # 2 s of it) under 5 minutes. 270 rather than 250: about one object per nine batches instead of five
    # (issue 9, the bill; docs/kpis.md, data age), 26 s of margin left under the 5 minutes.
    live_every_s: int = 270
    # A settled batch waits up to this long to carry the next live figure due (one object fewer each
    # time); its counts arrive that much later (they are final only a session gap after their window).
    live_hold_s: int = 270


@dataclass(frozen=True)
class ThresholdsConfig:
    """The sensor's visit thresholds, calibrated per site (``wifivip-edge calibrate`` prints them).

    Defaults are the commercial anchors'; the session gap is ``[batching] session_gap_seconds``.
    """

    visitor_dbm: int = -65
    min_visit_s: int = 300
    passerby_floor_dbm: int = -90


@dataclass(frozen=True)
class CaptureConfig:
    interface: str = "wlan1"
    channels: list[int] = field(default_factory=lambda: [1, 6, 11])
    dwell_s: float = 0.5
    hop: bool = True
    no_frames_alarm_s: int = 600
    # A capture file played through the live loop instead of the interface (tests, demos, bench).
    replay: str = ""
    replay_speed: float = 0.0  # 0: as fast as possible; 1: real time


@dataclass(frozen=True)
class SpoolConfig:
    dir: str = ""  # default: <state_dir>/spool
    max_mb: int = 256
    max_batches: int = 20_000


@dataclass(frozen=True)
class KeysConfig:
    source: str = "s3"  # s3: the day's key from the cloud; static: privacy.key_hex (offline only)
    prefix: str = "keys"
    refresh_s: int = 900
    retry_s: int = 30
    hold_s: int = MAX_RAW_HOLD_S


@dataclass(frozen=True)
class HeartbeatConfig:
    # A heartbeat object only after this long without a batch (batches carry the heartbeat): more than
    # the 5-minute batch window, so a sensor that uploads every window sends none; less than half the
    # cloud's 15-minute silent-sensor alarm, so one lost object raises no alarm.
    interval_s: int = 420
    prefix: str = "heartbeat"


@dataclass(frozen=True)
class AllowlistConfig:
    """Consent mode: where the signed opt-in allowlist comes from and the key that must have signed it."""

    # Base64 Ed25519 public key, written by the sensor's enrolment: the trust anchor, never fetched.
    public_key: str = ""
    bucket: str = ""  # default: the upload bucket
    refresh_seconds: int = 300


@dataclass(frozen=True)
class PresenceConfig:
    """Consent mode: announce an allowlisted consumer at once for offers (0 turns it off)."""

    repeat_seconds: int = 600


@dataclass(frozen=True)
class AgentConfig:
    sensor_id: str
    state_dir: str = "/var/lib/wifivip-edge"
    upload: UploadConfig = field(default_factory=UploadConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    thresholds: ThresholdsConfig = field(default_factory=ThresholdsConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    allowlist: AllowlistConfig = field(default_factory=AllowlistConfig)
    presence: PresenceConfig = field(default_factory=PresenceConfig)

    @property
    def pseudonym_bits(self) -> int:
        return self.privacy.pseudonym_bits or DEFAULT_BITS[self.privacy.mode]

    @property
    def session_thresholds(self) -> Thresholds:
        """The thresholds sessions are qualified with (and that travel in every batch header)."""
        t = self.thresholds
        return Thresholds(t.visitor_dbm, t.min_visit_s, t.passerby_floor_dbm, self.batching.session_gap_seconds)

    @property
    def spool_dir(self) -> Path:
        return Path(self.spool.dir) if self.spool.dir else Path(self.state_dir) / "spool"

    @property
    def status_file(self) -> Path:
        return Path(self.state_dir) / "status.json"


_SECTIONS: dict[str, type[Any]] = {
    "upload": UploadConfig,
    "privacy": PrivacyConfig,
    "batching": BatchingConfig,
    "thresholds": ThresholdsConfig,
    "capture": CaptureConfig,
    "spool": SpoolConfig,
    "keys": KeysConfig,
    "heartbeat": HeartbeatConfig,
    "allowlist": AllowlistConfig,
    "presence": PresenceConfig,
}
_TOP_LEVEL = {"sensor_id", "state_dir"}


def allowlist_public_key(config: AgentConfig) -> bytes | None:
    """The configured allowlist verification key (32 raw bytes), or None when consent mode has none."""
    if not config.allowlist.public_key:
        return None
    return base64.b64decode(config.allowlist.public_key, validate=True)


def load_config(path: Path | None, environ: dict[str, str] | None = None) -> AgentConfig:
    """Read the TOML file (if any), apply environment overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist / fichier de configuration absent") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    unknown = set(raw) - _TOP_LEVEL - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"unknown keys / clés inconnues: {', '.join(sorted(unknown))}")
    top = {k: env.get(f"WIFIVIP_EDGE_{k}".upper(), raw.get(k)) for k in _TOP_LEVEL}
    sections = {name: _section(cls, name, raw.get(name, {}), env) for name, cls in _SECTIONS.items()}
    config = AgentConfig(sensor_id=top["sensor_id"] or "", **sections)
    if top["state_dir"]:
        config = replace(config, state_dir=str(top["state_dir"]))
    _validate(config)
    return config


def _section(cls: type[Any], name: str, values: Any, env: dict[str, str]) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"[{name}] has unknown keys / clés inconnues: {', '.join(sorted(unknown))}")
    merged = dict(values)
    for fname, f in known.items():
        override = env.get(f"WIFIVIP_EDGE_{name}_{fname}".upper())
        if override is not None:
            merged[fname] = _convert(override, str(f.type), f"WIFIVIP_EDGE_{name}_{fname}".upper())
    for fname, value in merged.items():
        _check_type(value, str(known[fname].type), f"[{name}] {fname}")
    return cls(**merged)


def _convert(text: str, type_name: str, where: str) -> Any:
    try:
        if type_name == "int":
            return int(text)
        if type_name == "float":
            return float(text)
        if type_name == "bool":
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        if type_name == "list[int]":
            return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{where}={text!r} is not a valid {type_name} / valeur invalide") from None
    return text


def _check_type(value: Any, type_name: str, where: str) -> None:
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "str | None": lambda v: v is None or isinstance(v, str),
        "list[int]": lambda v: isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v),
    }.get(type_name, lambda v: True)(value)
    if not ok:
        raise ConfigError(f"{where} must be {type_name}, not {value!r} / type invalide")


def _validate(config: AgentConfig) -> None:
    if not SENSOR_ID_RE.match(config.sensor_id or ""):
        raise ConfigError(f"sensor_id {config.sensor_id!r} must be 2-63 lower-case letters, digits or '-'")
    privacy = config.privacy
    if privacy.mode not in PRIVACY_MODES:
        raise ConfigError(f"[privacy] mode must be one of {', '.join(sorted(PRIVACY_MODES))}")
    bits = config.pseudonym_bits
    if not 8 <= bits <= 256 or bits % 4:
        raise ConfigError("[privacy] pseudonym_bits must be a multiple of 4 between 8 and 256")
    if privacy.mode == "anonymous" and bits > MAX_ANONYMOUS_BITS:
        raise ConfigError(f"[privacy] the anonymous mode allows at most {MAX_ANONYMOUS_BITS}-bit pseudonyms")
    if config.batching.batch_seconds < 10 or 3600 % config.batching.batch_seconds:
        raise ConfigError("[batching] batch_seconds must divide 3600 and be at least 10")
    t = config.thresholds
    if not -127 <= t.passerby_floor_dbm <= t.visitor_dbm <= 0 or not 0 <= t.min_visit_s <= 86400:
        raise ConfigError("[thresholds] need -127 <= passerby_floor_dbm <= visitor_dbm <= 0, 0 <= min_visit_s <= 86400")
    if not 0 < config.batching.session_gap_seconds <= 86400:
        raise ConfigError("[batching] session_gap_seconds must be between 1 and 86400")
    capture = config.capture
    if not capture.channels or not all(1 <= c <= 196 for c in capture.channels):
        raise ConfigError("[capture] channels must list WiFi channel numbers (1-196)")
    if capture.dwell_s <= 0 or capture.no_frames_alarm_s <= 0 or capture.replay_speed < 0:
        raise ConfigError("[capture] dwell_s and no_frames_alarm_s must be positive, replay_speed >= 0")
    if config.keys.source not in ("s3", "static"):
        raise ConfigError("[keys] source must be s3 or static")
    if config.keys.source == "static" and not privacy.key_hex:
        raise ConfigError("[keys] source = static needs [privacy] key_hex")
    if not 0 <= config.keys.hold_s <= MAX_RAW_HOLD_S:
        raise ConfigError(f"[keys] hold_s must be between 0 and {MAX_RAW_HOLD_S} (CNIL: 5 minutes at most)")
    if config.spool.max_mb <= 0 or config.spool.max_batches <= 0:
        raise ConfigError("[spool] max_mb and max_batches must be positive")
    if not 10 <= config.batching.live_every_s <= 3600 or not 0 <= config.batching.live_hold_s <= 3600:
        raise ConfigError("[batching] live_every_s must be 10-3600 and live_hold_s 0-3600")
    if config.heartbeat.interval_s < 10:
        raise ConfigError("[heartbeat] interval_s must be at least 10")
    try:
        key = allowlist_public_key(config)
    except (binascii.Error, ValueError):
        key = b""
    if key is not None and len(key) != 32:
        raise ConfigError("[allowlist] public_key must be a base64 Ed25519 public key (32 bytes)")
    if config.allowlist.refresh_seconds < 30:
        raise ConfigError("[allowlist] refresh_seconds must be at least 30")
