"""Agent configuration: one TOML file, every value overridable from the environment.

An override is ``WIFIVIP_EDGE_<SECTION>_<KEY>`` (upper case), e.g. ``WIFIVIP_EDGE_UPLOAD_BUCKET``;
top-level keys drop the section: ``WIFIVIP_EDGE_SENSOR_ID``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wifivip_edge.batch import PRIVACY_MODES, SENSOR_ID_RE


class ConfigError(ValueError):
    """The configuration is missing something or holds a bad value (the message says which)."""


@dataclass(frozen=True)
class UploadConfig:
    bucket: str = ""
    region: str = "eu-west-3"
    endpoint_url: str | None = None
    prefix: str = "raw"


@dataclass(frozen=True)
class PrivacyConfig:
    mode: str = "pseudonymous-24h"
    pseudonym_bits: int = 32
    # Offline replays and the demo only: a fixed key. A deployed sensor fetches the day's key instead.
    key_hex: str = ""


@dataclass(frozen=True)
class BatchingConfig:
    batch_seconds: int = 300
    session_gap_seconds: int = 300


@dataclass(frozen=True)
class AgentConfig:
    sensor_id: str
    upload: UploadConfig = field(default_factory=UploadConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)


_SECTIONS: dict[str, type[Any]] = {"upload": UploadConfig, "privacy": PrivacyConfig, "batching": BatchingConfig}


def load_config(path: Path | None, environ: dict[str, str] | None = None) -> AgentConfig:
    """Read the TOML file (if any), apply environment overrides, validate."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    sensor_id = env.get("WIFIVIP_EDGE_SENSOR_ID", raw.get("sensor_id", ""))
    sections = {name: _section(cls, name, raw.get(name, {}), env) for name, cls in _SECTIONS.items()}
    config = AgentConfig(sensor_id=sensor_id, **sections)
    _validate(config)
    return config


def _section(cls: type[Any], name: str, values: dict[str, Any], env: dict[str, str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"[{name}] has unknown keys: {', '.join(sorted(unknown))}")
    merged = dict(values)
    for fname, f in known.items():
        override = env.get(f"WIFIVIP_EDGE_{name}_{fname}".upper())
        if override is not None:
            merged[fname] = int(override) if f.type == "int" else override
    return cls(**merged)


def _validate(config: AgentConfig) -> None:
    if not SENSOR_ID_RE.match(config.sensor_id or ""):
        raise ConfigError(f"sensor_id {config.sensor_id!r} must be 2-63 lower-case letters, digits or '-'")
    if config.privacy.mode not in PRIVACY_MODES:
        raise ConfigError(f"[privacy] mode must be one of {', '.join(sorted(PRIVACY_MODES))}")
    if config.batching.batch_seconds < 10 or 3600 % config.batching.batch_seconds:
        raise ConfigError("[batching] batch_seconds must divide 3600 and be at least 10")
