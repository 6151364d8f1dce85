"""The one MAC-scanning helper of the privacy leak scans (docs/reliability.md, "Privacy leak scan").

The scans gather what the system stored as ``{where: bytes}`` (:func:`s3_bodies`, :func:`dynamodb_items`,
:func:`files_under`, log text) and search it with :func:`leaks` (MAC-shaped values, and each known MAC
in every encoding we can think of) and :func:`pseudonyms_in` (the known MACs hashed with known keys).
Used by ``tests/edge/test_privacy_modes.py`` (the sensor, every mode), ``tests/e2e/test_privacy_scan.py``
(a day through the pipeline) and ``tests/e2e/test_privacy_consent.py`` (the consent mode, every epoch's key).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

MAC_SHAPED = [
    re.compile(rb"(?i)(?<![0-9a-f])[0-9a-f]{2}([:\- ])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![0-9a-f])"),
    re.compile(rb"(?i)(?<![0-9a-f])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}(?![0-9a-f])"),
]
TOKEN = re.compile(rb"[0-9A-Za-z+/=_-]+")
BINARY = re.compile(rb"[^\t\n\r\x20-\x7e]")
HEX = re.compile(rb"[0-9a-f]{8,}")


def text_forms(mac: bytes) -> list[bytes]:
    """The forms of a MAC without separators (forms with separators are MAC-shaped: the regexes catch them)."""
    h = mac.hex()
    forms = [h, h.upper(), mac[::-1].hex(), mac[::-1].hex().upper(), str(int.from_bytes(mac, "big"))]
    return [f.encode() for f in forms] + [base64.b64encode(mac), base64.urlsafe_b64encode(mac)]


def leaks(blobs: Mapping[str, bytes], macs: Iterable[bytes]) -> list[str]:
    """Every MAC-shaped value and every known MAC (any encoding) in the blobs, with where it was.

    Fast enough for thousands of MACs and megabytes: separated forms by regex; the other text forms
    searched in the set of distinct tokens (runs of hex, base64 and decimal characters); raw bytes
    where they could be (a raw MAC with a non-printable byte cannot hide in a text blob).
    """
    found = [f"{where}: MAC-shaped {m.group(0)!r}" for where, blob in blobs.items() for rx in MAC_SHAPED
             for m in rx.finditer(blob)]  # fmt: skip
    tokens = b"\n".join({t for blob in blobs.values() for t in TOKEN.findall(blob)})
    binary = b"\n".join(blob for blob in blobs.values() if BINARY.search(blob))
    text = b"\n".join(blobs.values())
    for mac in macs:
        hits = [f for f in text_forms(mac) if f in tokens]
        if mac in (text if not BINARY.search(mac) else binary):
            hits.append(mac)
        for form in hits:
            where = [w for w, blob in blobs.items() if form in blob]
            found.append(f"{mac.hex(':')} as {form!r} in {where}")
    return found


def keyed_hashes(macs: Iterable[bytes], keys: Iterable[bytes]) -> dict[str, bytes]:
    """Each MAC's HMAC-SHA256 (64 hex) under each key (a day key or the consent key) -> the MAC.

    Every pseudonym the system makes is a prefix of one of these (the widths only truncate), so
    :func:`pseudonyms_in` finds them at any width."""
    return {hmac.new(k, m, hashlib.sha256).hexdigest(): m for k in keys for m in macs}


def pseudonyms_in(blobs: Mapping[str, bytes], pseudonyms: Iterable[str], width: int) -> dict[str, set[str]]:
    """Where each of ``pseudonyms`` (cut to ``width`` hex characters) appears: as a whole hex token, or as
    the prefix of a longer one (a wider truncation of the same keyed hash: 16, 32 or 64 characters)."""
    wanted = {p[:width].encode() for p in pseudonyms}
    found: dict[str, set[str]] = {}
    for where, blob in blobs.items():
        hits = {t.decode() for t in HEX.findall(blob) if t[:width] in wanted and len(t) in (width, 16, 32, 64)}
        if hits:
            found[where] = hits
    return found


def unzip_if_gzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def s3_bodies(bucket: str, versions: bool = False, skip_prefixes: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every object's body (decompressed), by ``s3://key`` (every version's with ``versions``)."""
    s3 = boto3.client("s3")
    out: dict[str, bytes] = {}
    if versions:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                if skip_prefixes and v["Key"].startswith(skip_prefixes):
                    continue
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                out[f"s3://{v['Key']}?versionId={v['VersionId']}"] = unzip_if_gzip(body)
        return out
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in listing.get("Contents", []):
            if not (skip_prefixes and obj["Key"].startswith(skip_prefixes)):
                out[f"s3://{obj['Key']}"] = unzip_if_gzip(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    return out


def dynamodb_items(tables: Mapping[str, str]) -> dict[str, bytes]:
    """Every item of every table (``{model: table name}``), as its JSON, by ``dynamodb {model} #n {key}``."""
    ddb = boto3.client("dynamodb")
    out: dict[str, bytes] = {}
    for model, table in tables.items():
        n = 0
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                out[f"dynamodb {model} #{n} {_key_of(item)}"] = json.dumps(item, default=_blob).encode()
                n += 1
    return out


def files_under(*roots: Path) -> dict[str, bytes]:
    """Every file under the roots (spool, state, status, loss counters), decompressed, by path."""
    return {
        f"file {p}": unzip_if_gzip(p.read_bytes()) for root in roots for p in sorted(root.rglob("*")) if p.is_file()
    }


@dataclass(frozen=True)
class ScanFigures:
    """What a scan covered, for docs/reliability.md."""

    objects: int
    items: int
    log_lines: int
    files: int
    megabytes: float

    @classmethod
    def of(cls, blobs: Mapping[str, bytes]) -> ScanFigures:
        logs = [b for w, b in blobs.items() if w.startswith("log")]
        return cls(
            objects=sum(1 for w in blobs if w.startswith("s3://")),
            items=sum(1 for w in blobs if w.startswith("dynamodb ")),
            log_lines=sum(b.count(b"\n") + 1 for b in logs),
            files=sum(1 for w in blobs if w.startswith("file ")),
            megabytes=round(sum(len(b) for b in blobs.values()) / 1e6, 2),
        )


def agent_log(config: Path, config_text: str, drain_timeout_s: float, timeout_s: float) -> str:
    """The real agent (``wifivip-edge run``) with ``config_text`` written to ``config``, to the end of its
    replay; its whole log (stdout and stderr), which the scans search too."""
    config.write_text(config_text)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    command = ["run", "--config", str(config), "--drain-timeout", str(drain_timeout_s)]
    done = subprocess.run(
        [sys.executable, "-m", "wifivip_edge.cli", "-v", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


def _key_of(item: dict[str, Any]) -> str:
    return "/".join(str(next(iter(v.values()))) for k, v in sorted(item.items()) if k in ("pk", "sk", "batch"))[:80]


def _blob(value: Any) -> str:
    return bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)
