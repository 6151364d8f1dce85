"""Probe requests from one or many capture files, merged in time order."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wifivip_edge.capture.frames import ProbeRequest, parse_probe_request
from wifivip_edge.capture.pcapfile import CaptureReader

log = logging.getLogger(__name__)


@dataclass
class CaptureSet:
    """Several capture files read as one stream; counts what it read and which files were cut short."""

    paths: list[Path]
    records: int = 0
    truncated: list[Path] = field(default_factory=list)

    def probe_requests(self) -> Iterator[ProbeRequest]:
        readers = [CaptureReader(Path(p)) for p in self.paths]
        streams = [self._probes(r) for r in readers]
        yield from heapq.merge(*streams, key=lambda probe: probe.ts)
        for reader in readers:
            self.records += reader.records
            if reader.truncated:
                self.truncated.append(reader.path)
                log.warning(
                    "capture %s ends mid-record (cut short?): kept its %d complete frames", reader.path, reader.records
                )

    @staticmethod
    def _probes(reader: Iterable) -> Iterator[ProbeRequest]:
        for rec in reader:
            probe = parse_probe_request(rec.ts, rec.linktype, rec.data)
            if probe is not None:
                yield probe
