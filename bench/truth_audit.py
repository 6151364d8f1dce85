"""Where the Niort day's KPI errors come from: each truth visit and passage of a shop, followed through
the edge agent to the session records it became (``python -m bench.truth_audit``).

Why: ``bench.day`` compares the cloud's counts with the simulator's truth per shop; a large error can
be the truth's definition (people the sensor could never hear, or never long enough), the edge
(linking, sessions, thresholds) or the KPI engine (which only adds up the records). This audit tells
them apart: the simulator knows which person sent every frame, and the key is the bench's own, so
each pseudonym maps back to the people whose MACs made it (privacy: simulated people, in memory).

For every truth visit of 5 minutes or more by a phone carrier: was the phone heard during the visit at
all, by how many frames, was it heard at or above the visitor threshold across 5 minutes (what the
KPI definition asks), and what did the edge record (a visit, a passer-by, split into several
sessions). For passages: was the phone heard during the day at or above the passer-by floor. Unique
devices: pseudonymous devices per person heard.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.day import KEY, THRESHOLDS, bench_day, cloud_shops


def audit(scale: float, shops: int) -> dict[str, Any]:
    from datetime import datetime

    from wifivip_edge.batching import Batcher
    from wifivip_edge.capture.reader import CaptureSet
    from wifivip_edge.occupancy import warm_registry
    from wifivip_edge.pseudonym import KeyRing, StaticKeySource
    from wifivip_edge.simulate.city import simulate_city, write_city
    from wifivip_edge.simulate.niort import NIORT_CENTRE

    from bench.day import TZ

    day = bench_day(datetime.now(TZ).date())
    city = simulate_city(NIORT_CENTRE, day, seed=1, scale=scale)
    before = simulate_city(NIORT_CENTRE, day - timedelta(days=1), seed=1, scale=scale * 0.1)
    chosen = cloud_shops(city.truth, shops)
    out: dict[str, Any] = {"day": day.isoformat(), "scale": scale, "shops": {}}
    with tempfile.TemporaryDirectory(prefix="wifivip-audit-") as tmp:
        paths = {p.stem: p for p in write_city(city, Path(tmp) / "day")}
        warm = {p.stem: p for p in write_city(before, Path(tmp) / "before")}
        keyring = KeyRing(StaticKeySource(KEY))
        for shop in chosen:
            sensor_id = shop["sensors"][0]  # the primary sensor: the one that counts for the shop
            sf = city.frames[sensor_id]
            h = sf.heard
            pseudo = keyring.for_time(h.ts[sf.order[0]]) if sf.order else None
            people_of: dict[str, set[int]] = defaultdict(set)
            frames_of: dict[int, list[tuple[float, int]]] = defaultdict(list)
            for i in sf.order:
                frames_of[h.person[i]].append((h.ts[i], h.rssi[i]))
                if pseudo is not None:
                    people_of[pseudo(sf.macs[h.mac[i]])].add(h.person[i])
            batcher = Batcher(
                sensor_id,
                keyring,
                thresholds=THRESHOLDS,
                registry=warm_registry([warm[sensor_id]], THRESHOLDS),
            )
            records = []
            for probe in CaptureSet([paths[sensor_id]]).probe_requests():
                for b in batcher.add(probe):
                    records += [r for r in b.sessions if not r.open]
            records += [r for b in batcher.flush() for r in b.sessions if not r.open]
            out["shops"][shop["shop_id"]] = _shop_audit(city, shop["shop_id"], sf, frames_of, people_of, records)
    return out


def _shop_audit(
    city: Any,
    shop_id: str,
    sf: Any,
    frames_of: dict[int, list[tuple[float, int]]],
    people_of: dict[str, set[int]],
    records: list[Any],
) -> dict[str, Any]:
    t = THRESHOLDS
    people = sf.people
    shop_index = next(i for i, s in enumerate(city.truth["shops"]) if s["shop_id"] == shop_id)
    visits = Counter[str]()
    heard_frames: list[int] = []
    by_person: dict[int, list[Any]] = defaultdict(list)
    for r in records:
        for p in people_of.get(r.device, ()):
            by_person[p].append(r)
    for index, person in enumerate(people):
        if person.device is None:
            continue
        for shop, entered, left in person.visits:
            if shop != shop_index or left - entered < t.min_visit_s:
                continue
            visits["truth"] += 1
            inside = [(ts, rssi) for ts, rssi in frames_of.get(index, []) if entered <= ts <= left]
            heard_frames.append(len(inside))
            strong = [ts for ts, rssi in inside if rssi >= t.visitor_dbm]
            if not inside:
                visits["never_heard"] += 1
            elif not strong or strong[-1] - strong[0] < t.min_visit_s:
                visits["heard_not_5min_strong"] += 1  # the definition cannot call it a visit
            mine = [r for r in by_person.get(index, []) if r.last_seen >= entered and r.first_seen <= left]
            sessions = [r for r in mine if r.visitor]
            if sessions:
                visits["recorded_visit"] += 1
                if len({(r.device, r.session_start) for r in sessions}) > 1:
                    visits["split_into_several_visits"] += 1
                    # one pseudonymous device with several sessions (a silence over the session gap), or
                    # several devices (MAC rotation the linker did not follow)
                    same = len({r.device for r in sessions}) == 1
                    visits["split_same_device" if same else "split_several_devices"] += 1
                    gaps = sorted(ts for ts, _ in inside)
                    visits["split_with_silence_over_gap"] += any(b - a > t.session_gap_s for a, b in pairwise(gaps))
            elif any(not r.visitor for r in mine):
                visits["recorded_as_passerby"] += 1
    passages = Counter[str]()
    for index, person in enumerate(people):
        if person.device is None:
            continue
        n = person.passages.count(shop_index)
        if not n:
            continue
        passages["truth"] += n
        heard = frames_of.get(index, [])
        if not heard:
            passages["never_heard_all_day"] += n
        elif max(rssi for _ts, rssi in heard) < t.passerby_floor_dbm:
            passages["below_floor"] += n
        elif any(rssi >= t.passerby_floor_dbm for _ts, rssi in heard):
            passages["heard_at_or_above_floor"] += n
    kinds = Counter(r.visitor for r in records if not r.fixed)
    passers = [r for r in records if not r.fixed and not r.visitor and (r.rssi_max or -128) >= t.passerby_floor_dbm]
    whose = Counter[str]()
    for r in passers:
        ps = people_of.get(r.device, set())
        p = people[next(iter(ps))] if len(ps) == 1 else None
        if p is None:
            whose["unknown"] += 1
        elif shop_index in p.passages:
            whose["passed_this_shop"] += 1
        elif any(v[0] == shop_index for v in p.visits):
            whose["visited_this_shop"] += 1
        elif p.kind in ("staff", "fixed"):
            whose[p.kind] += 1
        else:
            whose["passed_other_shops_only"] += 1
    passages["passerby_records"] = len(passers)
    passages["records_by_whom"] = dict(whose)  # type: ignore[assignment]
    devices: dict[int, set[str]] = defaultdict(set)
    for r in records:
        for p_index in people_of.get(r.device, ()):
            devices[p_index].add(r.device)
    devices_per_person = Counter(len(d) for d in devices.values())
    heard_frames.sort()
    return {
        "visits": dict(visits),
        "visit_frames_median": heard_frames[len(heard_frames) // 2] if heard_frames else None,
        "passages": dict(passages),
        "records": {"visitor": kinds.get(True, 0), "not_visitor": kinds.get(False, 0)},
        "devices_per_person_recorded": dict(sorted(devices_per_person.items())),
        "people_per_pseudonym_gt1": sum(1 for ps in people_of.values() if len(ps) > 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.truth_audit", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--shops", type=int, default=4)
    args = parser.parse_args(argv)
    json.dump(audit(args.scale, args.shops), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
