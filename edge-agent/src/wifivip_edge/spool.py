"""The durable spool: closed batches on disk until S3 confirms them, never a corrupt or partial one.

A batch is written to a temporary file, flushed and fsynced, renamed to its final name (atomic on
POSIX) and the directory fsynced: after a ``kill -9`` or a power cut a batch file is either
complete or absent, and a leftover temporary file is removed at the next start. File names start
with the window start, so a listing is oldest first.

The spool is bounded (bytes and files). When full, the oldest batches are dropped and the loss is
counted; counts of what was lost (here, and the ``no_key`` frames the key gate drops) wait in
``losses.json`` and ride in the ``losses`` of the next batch written. Each change of that file is
done with an intent record, so a crash never counts a loss twice nor forgets one:

- attaching: ``{"pending": L, "attached_to": name}`` is written, then the batch carrying L, then
  ``{"pending": {}}``; at start, a batch ``name`` on disk means L already travels with it.
- dropping: ``{"pending": L + loss, "dropping": name}`` is written, the file removed, then the intent
  cleared; at start, a ``dropping`` file still on disk is removed (its loss is already counted).

Only pseudonymous batches are ever written here: the spool never sees a raw MAC.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wifivip_edge.batch import Batch, BatchError, iter_encoded

log = logging.getLogger(__name__)

SUFFIX = ".jsonl.gz"
TMP_SUFFIX = ".tmp"
LOSSES_FILE = "losses.json"
LOSS_SPOOL_FULL_BATCHES = "spool_full_batches"
LOSS_SPOOL_FULL_FRAMES = "spool_full_frames"
LOSS_SPOOL_WRITE_BATCHES = "spool_write_error_batches"  # the disk refused the write (full, I/O error)
LOSS_SPOOL_WRITE_FRAMES = "spool_write_error_frames"
LOSS_CORRUPT = "spool_corrupt_batches"


@dataclass(frozen=True, order=True)
class SpooledBatch:
    """A batch file waiting in the spool (ordered oldest first, by name)."""

    name: str
    size: int


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (the entry, not only the file's data)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> int:
    """temp file, write, fsync, rename, fsync the directory: the file is whole or absent, never partial.

    ``data`` may be the bytes or an iterable of pieces (written as they come); returns the size.
    """
    tmp = path.with_name(path.name + TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    size = 0
    try:
        for piece in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
            view = memoryview(piece)
            size += len(view)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return size


class Spool:
    """A bounded directory of closed batches, safe against ``kill -9`` at any instant.

    Thread-safe: the capture loop puts, the uploader lists, reads and removes.
    """

    def __init__(self, directory: Path, max_bytes: int = 256 * 1024 * 1024, max_batches: int = 20_000) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_batches = max_batches
        self._lock = threading.RLock()
        self._entries: dict[str, int] = {}
        self._inflight: set[str] = set()
        self._pending: Counter[str] = Counter()
        self.lost_total: Counter[str] = Counter()
        self._open()

    # --- state on disk ------------------------------------------------------------------

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for leftover in self.directory.glob("*" + TMP_SUFFIX):
            leftover.unlink()  # a write cut short by a crash: never renamed, so never counted as spooled
        for path in self.directory.glob("*" + SUFFIX):
            self._entries[path.name] = path.stat().st_size
        state = self._read_losses()
        self._pending = Counter(state.get("pending", {}))
        attached = state.get("attached_to")
        dropping = state.get("dropping")
        if attached and attached in self._entries:
            self._pending = Counter()  # the batch carrying them was written before the crash
        if dropping and dropping in self._entries:
            self._unlink(dropping)  # its loss is already counted
        if attached or dropping:
            self._write_losses({"pending": dict(self._pending)})

    def _read_losses(self) -> dict[str, Any]:
        path = self.directory / LOSSES_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            log.error("spool %s unreadable: loss counts reset / compteurs de pertes illisibles", path)
            return {}
        return state if isinstance(state, dict) else {}

    def _write_losses(self, state: dict[str, Any]) -> None:
        """Persist the loss counters; on a full or failing disk they stay in memory (and ride the next
        batch written), rather than stopping the capture."""
        try:
            write_atomically(self.directory / LOSSES_FILE, json.dumps(state, sort_keys=True).encode())
        except OSError as exc:
            (self.directory / (LOSSES_FILE + TMP_SUFFIX)).unlink(missing_ok=True)
            log.warning("compteurs de pertes non écrits / loss counters not written: %s", exc)

    def _unlink(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)
        self._entries.pop(name, None)
        fsync_dir(self.directory)

    # --- the capture side ------------------------------------------------------------------

    def put(self, batch: Batch) -> SpooledBatch | None:
        """Write a closed batch durably, with the losses waiting to be reported; make room if full.

        None when the disk refused the write (full, I/O error): the batch is then lost, counted as
        ``spool_write_error_*`` and reported in the next batch written; nothing partial stays behind.
        """
        with self._lock:
            name = f"{int(batch.header.window_start):010d}-{batch.header.batch_id}{SUFFIX}"
            pending = dict(self._pending)
            if pending:
                losses = Counter(batch.header.losses)
                losses.update(pending)
                batch = Batch(replace(batch.header, losses=dict(sorted(losses.items()))), batch.sessions)
                self._write_losses({"pending": pending, "attached_to": name})
            try:
                size = write_atomically(self.directory / name, iter_encoded(batch))
            except OSError as exc:
                self._write_failed(name, batch.header.frames, exc)
                return None
            self._entries[name] = size
            if pending:
                self._pending = Counter()
                self._write_losses({"pending": {}})
            self._make_room(keep=name)
            return SpooledBatch(name, size)

    def _write_failed(self, name: str, frames: int, exc: OSError) -> None:
        (self.directory / (name + TMP_SUFFIX)).unlink(missing_ok=True)
        loss = Counter({LOSS_SPOOL_WRITE_BATCHES: 1, LOSS_SPOOL_WRITE_FRAMES: frames})
        self.lost_total.update(loss)
        self._pending.update(loss)  # the losses it was to carry stay pending too
        self._write_losses({"pending": dict(self._pending)})
        log.error("lot %s non écrit, perdu et compté / batch not written, lost and counted: %s", name, exc)

    def add_losses(self, losses: Mapping[str, int]) -> None:
        """Count losses that happened outside any batch (e.g. frames dropped for want of a key)."""
        losses = {k: v for k, v in losses.items() if v > 0}
        if not losses:
            return
        with self._lock:
            self._pending.update(losses)
            self.lost_total.update(losses)
            self._write_losses({"pending": dict(self._pending)})

    def _make_room(self, keep: str) -> None:
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_batches or sum(self._entries.values()) > self.max_bytes
        ):
            candidates = [n for n in self._entries if n != keep and n not in self._inflight]
            if not candidates:
                return
            oldest = min(candidates)
            frames, carried = self._header_of(oldest)
            # the dropped batch's own loss, and the losses it was carrying (else they would vanish with it)
            loss = Counter({LOSS_SPOOL_FULL_BATCHES: 1, LOSS_SPOOL_FULL_FRAMES: frames})
            self.lost_total.update(loss)
            loss.update(carried)
            self._pending.update(loss)
            self._write_losses({"pending": dict(self._pending), "dropping": oldest})
            self._unlink(oldest)
            self._write_losses({"pending": dict(self._pending)})
            log.warning(
                "spool plein : lot le plus ancien %s abandonné (%d trames) / spool full: oldest batch dropped",
                oldest,
                frames,
            )

    def _header_of(self, name: str) -> tuple[int, dict[str, int]]:
        """(frames, losses) of a spooled batch's header (its first line); (0, {}) when unreadable."""
        try:
            with gzip.open(self.directory / name, "rb") as f:
                header = json.loads(f.readline())
        except (OSError, ValueError, EOFError):
            return 0, {}
        frames = header.get("frames", 0)
        losses = header.get("losses", {})
        if not isinstance(losses, dict):
            losses = {}
        return (
            frames if isinstance(frames, int) else 0,
            {k: v for k, v in losses.items() if isinstance(k, str) and isinstance(v, int) and v > 0},
        )

    # --- the upload side -------------------------------------------------------------------

    def batches(self) -> list[SpooledBatch]:
        """Spooled batches, oldest first."""
        with self._lock:
            return sorted(SpooledBatch(n, s) for n, s in self._entries.items())

    def read(self, entry: SpooledBatch) -> bytes:
        return (self.directory / entry.name).read_bytes()

    def checkout(self) -> tuple[SpooledBatch, bytes] | None:
        """The oldest batch and its bytes, marked in flight (a full spool drops others first)."""
        with self._lock:
            for entry in self.batches():
                if entry.name in self._inflight:
                    continue
                try:
                    data = (self.directory / entry.name).read_bytes()
                except FileNotFoundError:
                    self._entries.pop(entry.name, None)
                    continue
                self._inflight.add(entry.name)
                return entry, data
            return None

    def release(self, entry: SpooledBatch) -> None:
        """The upload failed: the batch stays, a candidate again for upload (and for dropping)."""
        with self._lock:
            self._inflight.discard(entry.name)

    def remove(self, entry: SpooledBatch) -> None:
        """Forget a batch S3 has confirmed."""
        with self._lock:
            self._inflight.discard(entry.name)
            self._unlink(entry.name)

    def quarantine(self, entry: SpooledBatch, error: BatchError) -> None:
        """A spooled file that no longer decodes (disk damage): counted as lost, moved aside, never uploaded."""
        with self._lock:
            bad = self.directory / "corrupt"
            bad.mkdir(exist_ok=True)
            os.replace(self.directory / entry.name, bad / entry.name)
            self._entries.pop(entry.name, None)
            self._inflight.discard(entry.name)
            fsync_dir(self.directory)
            self._pending.update({LOSS_CORRUPT: 1})
            self.lost_total.update({LOSS_CORRUPT: 1})
            self._write_losses({"pending": dict(self._pending)})
        log.error("lot illisible mis de côté / unreadable spooled batch set aside: %s (%s)", entry.name, error.reason)

    # --- figures ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return sum(self._entries.values())

    @property
    def pending_losses(self) -> dict[str, int]:
        with self._lock:
            return dict(self._pending)
