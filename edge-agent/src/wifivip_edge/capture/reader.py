"""Probe requests from one or many capture files, merged in time order."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

from wifivip_edge.capture.frames import Malformed, ProbeRequest
from wifivip_edge.capture.pcapfile import CaptureReader

log = logging.getLogger(__name__)


class CaptureSet:
    """Several capture files read as one stream; counts what it read and which files were cut short.

    Each file is in time order (a sniffer writes it so); several files are merged by timestamp. A
    file cut short yields its complete frames and a warning (logged and kept in ``truncated``).
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        self.records = 0
        self.truncated: list[Path] = []
        self.malformed: Malformed = []

    def probe_requests(self) -> Iterator[ProbeRequest]:
        readers = [CaptureReader(Path(p)) for p in self.paths]
        if len(readers) == 1:
            yield from readers[0].probes()
        else:
            yield from heapq.merge(*(r.probes() for r in readers), key=itemgetter(0))
        for reader in readers:
            self.records += reader.records
            self.malformed += reader.malformed
            if reader.problem:
                self.truncated.append(reader.path)
                log.warning(
                    "capture %s tronquée (%s) : %d trames complètes gardées / cut short: kept its %d complete frames",
                    reader.path,
                    reader.problem,
                    reader.records,
                    reader.records,
                )
