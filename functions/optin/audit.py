"""Export the consent ledger for an audit: every event, in time order, with the texts they point to.

``python -m functions.optin.audit --out ledger.jsonl [--since 2026-01-01]`` (the stage's environment
set as for the functions). Output: JSON Lines, one event per line, then one line per consent text
(``{"kind": "text", "version": sha256, "text": ...}``) so the auditor can check each hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from functions.optin.ports import TextArchive


def ledger_events(since: datetime | None = None) -> Iterator[dict[str, Any]]:
    from chalicelib.models.consent_event import ConsentEvent
    from functions.optin.aws import _event_record

    events = [_event_record(m) for m in ConsentEvent.scan()]
    for event in sorted(events, key=lambda e: (e.recorded_at, e.subject, e.event_id)):
        if since is None or event.recorded_at >= since:
            yield {"kind": "event", **event.to_json()}


def export(out: TextIO, archive: TextArchive, since: datetime | None = None) -> dict[str, int]:
    """Write the audit file; check each archived text against its hash on the way."""
    versions: set[str] = set()
    count = 0
    for row in ledger_events(since):
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        if row["text_version"]:
            versions.add(row["text_version"])
        count += 1
    texts = 0
    for version in sorted(versions):
        text = archive.get(version)
        verified = text is not None and hashlib.sha256(text.encode()).hexdigest() == version
        out.write(json.dumps({"kind": "text", "version": version, "text": text, "verified": verified}) + "\n")
        texts += 1
    return {"events": count, "texts": texts}


def main(argv: list[str] | None = None) -> int:
    import os

    import boto3

    from functions.optin.aws import S3TextArchive

    parser = argparse.ArgumentParser(prog="python -m functions.optin.audit")
    parser.add_argument("--out", required=True)
    parser.add_argument("--since", type=datetime.fromisoformat, default=None)
    args = parser.parse_args(argv)
    archive = S3TextArchive(boto3.client("s3"), os.environ["WIFIVIP_BUCKET"])
    with open(args.out, "w", encoding="utf-8") as out:
        counts = export(out, archive, args.since)
    print(json.dumps(counts), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
