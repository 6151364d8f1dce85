"""The consumer pseudonym in batches: kept only for consumers whose consent is in force, and never
stored beyond ingest.

A session of a consented (allowlisted) device carries ``consumer``, the stable pseudonym the consent
panel and the campaigns key their data by. Two gaps would let an erased consumer's pseudonym survive
the erasure (GDPR art. 17) outside the consent tables:

- a batch uploaded after the erasure (spooled by a sensor offline, or made before its allowlist was
  refreshed) would put the pseudonym back into the panel and the campaigns' visits: so ingest keeps
  ``consumer`` only for pseudonyms the consent store still lists (:func:`keep_consumers`);
- the raw batch in S3, held up to a day for retention, would still hold it: so once counted, the raw
  object is rewritten without any ``consumer`` (:func:`without_consumers`), and a quarantined object
  is stored with every readable ``consumer`` value blanked (:func:`redact_undecodable`).

The KPI figures of a rewritten batch are unchanged (``consumer`` feeds only the panel and the visits,
both written from the first reading).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace

from wifivip_edge.batch import Batch

#: ``"consumer": "…"`` in the JSON text of a batch, whatever the spacing.
CONSUMER_FIELD = re.compile(rb'("consumer"\s*:\s*)"[^"]*"')
MAX_REDACT_BYTES = 256 * 1024 * 1024  # as decode_batch's own limit


def consumers_of(batch: Batch) -> frozenset[str]:
    """The consumer pseudonyms a batch carries."""
    return frozenset(s.consumer for s in batch.sessions if s.consumer is not None)


def keep_consumers(batch: Batch, live: frozenset[str]) -> Batch:
    """The batch with ``consumer`` cleared on every session whose pseudonym is not in ``live``."""
    if all(s.consumer is None or s.consumer in live for s in batch.sessions):
        return batch
    kept = (s if s.consumer is None or s.consumer in live else replace(s, consumer=None) for s in batch.sessions)
    return Batch(batch.header, tuple(kept))


def without_consumers(batch: Batch) -> Batch:
    """The batch as it is kept once counted: no consumer pseudonym at all."""
    return keep_consumers(batch, frozenset())


def redact_undecodable(blob: bytes) -> bytes | None:
    """A bad batch as quarantined: its readable text with every ``consumer`` value blanked, or None when
    it shows none (then it is kept as it came, for diagnosis).

    A truncated or corrupted gzip is read as far as zlib can; the redacted copy is that text (not the
    original bytes, whose unread part a more tolerant reader might recover)."""
    text = _readable(blob)
    if text is None:
        return None
    redacted, count = CONSUMER_FIELD.subn(rb"\1null", text)
    return redacted if count else None


def _readable(blob: bytes) -> bytes | None:
    """Gzip-decompressed as far as it goes (a raw JSON body as it is); None for opaque bytes."""
    if blob[:2] != b"\x1f\x8b":
        return blob if CONSUMER_FIELD.search(blob) else None
    inflater = zlib.decompressobj(31)
    try:
        return inflater.decompress(blob, MAX_REDACT_BYTES)
    except zlib.error:
        out = bytearray()
        inflater = zlib.decompressobj(31)
        for i in range(0, len(blob), 512):  # what decompresses before the corruption
            try:
                out += inflater.decompress(blob[i : i + 512], MAX_REDACT_BYTES - len(out))
            except zlib.error:
                break
        return bytes(out)
