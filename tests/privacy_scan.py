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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick
import boto3

MAC_SHAPED = [
    re.compile(rb"(?i)(?<![0-9a-f])[0-9a-f]{2}([:\- ])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![0-9a-f])"),
    re.compile(rb"(?i)(?<![0-9a-f])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}(?![0-9a-f])"),
]
HEX = re.compile(rb"[0-9a-f]{8,}")
WIDER = (16, 32, 64)  # the widths the system truncates a keyed hash to, above the narrowest searched
#: A random identifier (Lambda request ids, Powertools correlation ids): its first group is an 8-hex token
#: made by no MAC, which would match one of the whole centre's 120,000 day pseudonyms (32 bits) by chance.
UUID = re.compile(rb"(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])")


def text_forms(mac: bytes) -> list[bytes]:
    """The forms of a MAC without separators (forms with separators are MAC-shaped: the regexes catch them)."""
    h = mac.hex()
    forms = [h, h.upper(), mac[::-1].hex(), mac[::-1].hex().upper(), str(int.from_bytes(mac, "big"))]
    return [f.encode() for f in forms] + [base64.b64encode(mac), base64.urlsafe_b64encode(mac)]


class MacFinder:
    """Finds, in one pass over each blob, every MAC-shaped value and every known MAC in any encoding.

    Built once for the known MACs (tens of thousands for the whole centre): their text forms and raw
    bytes go into one Aho-Corasick automaton, so a blob costs its length, whatever the number of MACs
    (searching each form in turn cost MACs x bytes: days at the whole centre's scale). A form is found
    anywhere, inside a longer token too (``x12abcdef0042y``); raw bytes anywhere, in text or binary.
    """

    def __init__(self, macs: Iterable[bytes]) -> None:
        self.automaton = ahocorasick.Automaton()
        for mac in macs:
            for form in [*text_forms(mac), mac]:
                key = form.decode("latin-1")
                self.automaton.add_word(key, [*self.automaton.get(key, []), (mac, form)])
        self.searchable = len(self.automaton) > 0
        if self.searchable:
            self.automaton.make_automaton()

    def find(self, where: str, blob: bytes) -> list[str]:
        """What leaks in ``blob``, each hit with ``where``."""
        found = [f"{where}: MAC-shaped {m.group(0)!r}" for rx in MAC_SHAPED for m in rx.finditer(blob)]
        if self.searchable:
            hits = {hit for _, entries in self.automaton.iter(blob.decode("latin-1")) for hit in entries}
            found += [f"{mac.hex(':')} as {form!r} in {where}" for mac, form in sorted(hits)]
        return found


def leaks(blobs: Mapping[str, bytes], macs: Iterable[bytes]) -> list[str]:
    """Every MAC-shaped value and every known MAC (any encoding) in the blobs, with where it was."""
    finder = MacFinder(macs)
    return [hit for where, blob in blobs.items() for hit in finder.find(where, blob)]


def keyed_hashes(macs: Iterable[bytes], keys: Iterable[bytes]) -> dict[str, bytes]:
    """Each MAC's HMAC-SHA256 (64 hex) under each key (a day key or the consent key) -> the MAC.

    Every pseudonym the system makes is a prefix of one of these (the widths only truncate), so
    :func:`pseudonyms_in` finds them at any width."""
    return {hmac.new(k, m, hashlib.sha256).hexdigest(): m for k in keys for m in macs}


class PseudonymFinder:
    """Finds ``pseudonyms`` (cut to ``width`` hex characters) in a blob: as a whole hex token, or as a wider
    truncation of the same keyed hash (16, 32 or 64 characters).

    A wider token is a hit when it equals the pseudonym cut to its own width: with the whole keyed hashes
    known (:func:`keyed_hashes`), a random 32-hex value (an event id) whose first 8 characters equal one of
    the whole centre's 120,000 day pseudonyms by chance (one in 36,000) is not one. A token wider than a
    known pseudonym (a batch's 64-hex sha256 against a 32-hex consent hash) is a hit when it starts with it.
    """

    def __init__(self, pseudonyms: Iterable[str], width: int) -> None:
        known = list(pseudonyms)
        self.width = width
        self.wanted = {p[:width].encode() for p in known}
        self.whole = {n: {p[:n].encode() for p in known if len(p) >= n} for n in WIDER if n > width}
        self.known = {n: {p.encode() for p in known if len(p) == n} for n in {len(p) for p in known} if n >= width}

    def find(self, blob: bytes) -> set[str]:
        """The hits (hex tokens); UUIDs are not searched (see :data:`UUID`)."""
        width, hits = self.width, set()
        for token in HEX.findall(UUID.sub(b"-", blob) if b"-" in blob else blob):
            head, n = token[:width], len(token)
            if head not in self.wanted:
                continue
            wider = n in self.whole and (
                token in self.whole[n] or any(token[:k] in cut for k, cut in self.known.items() if k < n)
            )
            if n == width or wider:
                hits.add(token.decode())
        return hits


def pseudonyms_in(blobs: Mapping[str, bytes], pseudonyms: Iterable[str], width: int) -> dict[str, set[str]]:
    """Where each of ``pseudonyms`` appears (see :class:`PseudonymFinder`)."""
    finder = PseudonymFinder(pseudonyms, width)
    return {where: hits for where, blob in blobs.items() if (hits := finder.find(blob))}


def unzip_if_gzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


Place = tuple[str, bytes]  # (where, what is stored there, decompressed)


def s3_objects(bucket: str, versions: bool = False, skip_prefixes: tuple[str, ...] = ()) -> Iterator[Place]:
    """Every object's body (decompressed), by ``s3://key`` (every version's with ``versions``), one at a
    time: the whole centre's bucket does not fit in memory twice."""
    s3 = boto3.client("s3")
    if versions:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                if skip_prefixes and v["Key"].startswith(skip_prefixes):
                    continue
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                yield f"s3://{v['Key']}?versionId={v['VersionId']}", unzip_if_gzip(body)
        return
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in listing.get("Contents", []):
            if not (skip_prefixes and obj["Key"].startswith(skip_prefixes)):
                yield f"s3://{obj['Key']}", unzip_if_gzip(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())


def s3_bodies(bucket: str, versions: bool = False, skip_prefixes: tuple[str, ...] = ()) -> dict[str, bytes]:
    """:func:`s3_objects` gathered."""
    return dict(s3_objects(bucket, versions, skip_prefixes))


def dynamodb_places(tables: Mapping[str, str]) -> Iterator[Place]:
    """Every item of every table (``{model: table name}``), as its JSON, by ``dynamodb {model} #n {key}``."""
    ddb = boto3.client("dynamodb")
    for model, table in tables.items():
        n = 0
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                yield f"dynamodb {model} #{n} {_key_of(item)}", json.dumps(item, default=_blob).encode()
                n += 1


def dynamodb_items(tables: Mapping[str, str]) -> dict[str, bytes]:
    """:func:`dynamodb_places` gathered."""
    return dict(dynamodb_places(tables))


def file_places(*roots: Path) -> Iterator[Place]:
    """Every file under the roots (spool, state, status, loss counters), decompressed, by path."""
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                yield f"file {p}", unzip_if_gzip(p.read_bytes())


def files_under(*roots: Path) -> dict[str, bytes]:
    """:func:`file_places` gathered."""
    return dict(file_places(*roots))


@dataclass(frozen=True)
class ScanFigures:
    """What a scan covered, for docs/reliability.md (``objects`` counts every version scanned)."""

    objects: int
    items: int
    log_lines: int
    files: int
    megabytes: float

    @classmethod
    def of(cls, blobs: Mapping[str, bytes]) -> ScanFigures:
        tally = _Tally()
        for where, blob in blobs.items():
            tally.add(where, blob)
        return tally.figures()


@dataclass
class _Tally:
    objects: int = 0
    items: int = 0
    log_lines: int = 0
    files: int = 0
    size: int = 0

    def add(self, where: str, blob: bytes) -> None:
        self.objects += where.startswith("s3://")
        self.items += where.startswith("dynamodb ")
        self.log_lines += blob.count(b"\n") + 1 if where.startswith("log") else 0
        self.files += where.startswith("file ")
        self.size += len(blob)

    def figures(self) -> ScanFigures:
        return ScanFigures(self.objects, self.items, self.log_lines, self.files, round(self.size / 1e6, 2))


@dataclass
class ScanReport:
    """What one streaming scan found: the places' names, never their contents."""

    places: list[str]
    leaks: list[str]
    pseudonyms: dict[str, dict[str, set[str]]]  # {finder's name: {where: hits}}
    needles: dict[str, dict[str, int]]  # {needle's name: {where: occurrences}}
    figures: ScanFigures


def scan(
    places: Iterable[Place],
    macs: MacFinder,
    pseudonyms: Mapping[str, PseudonymFinder] | None = None,
    needles: Mapping[str, bytes] | None = None,
) -> ScanReport:
    """Search each place as it comes (S3 versions, items, log text, files) and keep only what was found:
    the same checks as :func:`leaks` and :func:`pseudonyms_in`, in the memory of one place at a time."""
    report = ScanReport([], [], {name: {} for name in pseudonyms or {}}, {name: {} for name in needles or {}},
                        ScanFigures(0, 0, 0, 0, 0.0))  # fmt: skip
    tally = _Tally()
    for where, blob in places:
        report.places.append(where)
        tally.add(where, blob)
        report.leaks += macs.find(where, blob)
        for name, finder in (pseudonyms or {}).items():
            if hits := finder.find(blob):
                report.pseudonyms[name][where] = hits
        for name, needle in (needles or {}).items():
            if count := blob.count(needle):
                report.needles[name][where] = count
    report.figures = tally.figures()
    return report


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
