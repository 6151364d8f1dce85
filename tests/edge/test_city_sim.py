"""The city-centre simulator: deterministic, consistent truth, shop curves of their own, and sensors
whose occupancy follows the shops' visitors.

Small slices and scales keep these quick; the full day (50 sensors, ~3M frames) is `make bench`'s.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from wifivip_edge.batch import Thresholds
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.cli import main
from wifivip_edge.occupancy import occupancy_series, warm_registry
from wifivip_edge.simulate.city import CityResult, simulate_city, write_city
from wifivip_edge.simulate.niort import NIORT_CENTRE, NIORT_VICTOR_HUGO, SHOPS

SATURDAY = date(2026, 11, 21)
TUESDAY = date(2026, 11, 17)
SUNDAY = date(2026, 11, 22)
TZ = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def centre() -> CityResult:
    return simulate_city(NIORT_CENTRE, SATURDAY, seed=2, scale=0.1)


def test_the_centre_has_forty_shops_and_fifty_sensors() -> None:
    assert len(SHOPS) == 40 and NIORT_CENTRE.sensor_count == 50
    streets = {s.stretch for s in SHOPS}
    assert len(streets) >= 10


def test_same_seed_same_bytes_other_seed_other_crowd(tmp_path: Path) -> None:
    a = simulate_city(NIORT_VICTOR_HUGO, SATURDAY, seed=3, scale=0.1)
    b = simulate_city(NIORT_VICTOR_HUGO, SATURDAY, seed=3, scale=0.1)
    c = simulate_city(NIORT_VICTOR_HUGO, SATURDAY, seed=4, scale=0.1)
    assert a.truth == b.truth
    sensor = "vh-mode-s1"
    assert list(a.frames[sensor]) == list(b.frames[sensor])
    assert list(a.frames[sensor]) != list(c.frames[sensor])
    pa = write_city(a, tmp_path / "a")
    pb = write_city(b, tmp_path / "b")
    assert [p.read_bytes() for p in pa] == [p.read_bytes() for p in pb]


def test_truth_counts_what_the_captures_hold(centre: CityResult, tmp_path: Path) -> None:
    truth = centre.truth
    paths = {p.stem: p for p in write_city(centre, tmp_path)}
    assert set(paths) == set(centre.frames) and len(paths) == 50
    assert truth["frames"] == sum(len(f) for f in centre.frames.values()) > 100_000
    for sensor, hours in truth["sensor_hours"].items():
        assert sum(h["frames"] for h in hours.values()) == len(centre.frames[sensor])
    sensor = "vh-grand-magasin-s2"
    probes = list(CaptureSet([paths[sensor]]).probe_requests())
    assert len(probes) == len(centre.frames[sensor])
    per_hour = Counter(datetime.fromtimestamp(p.ts, ZoneInfo("UTC")).strftime("%Y-%m-%dT%H") for p in probes)
    assert per_hour == Counter({h: v["frames"] for h, v in truth["sensor_hours"][sensor].items()})
    assert all(p.mac[0] & 0x02 or p.mac[:3] in (b"\xa4\xc3\x61", b"\xdc\xfb\x48") for p in probes)
    # Today's mix: most phones change MACs, so addresses outnumber people heard.
    assert truth["macs_per_device"] > 3
    assert truth["devices_heard"] > 1000
    assert set(truth["people"]) == {"passerby", "visitor", "staff", "fixed"}
    for key in (
        "scenario",
        "date",
        "sensors",
        "seed",
        "timezone",
        "shops",
        "occupancy",
        "visits",
        "people_with_device",
    ):
        assert key in truth


def _hour_of_peak(visits: list[list[float]]) -> int:
    hours = Counter(datetime.fromtimestamp(entered, TZ).hour for entered, _left in visits)
    return hours.most_common(1)[0][0]


def test_shops_fill_on_curves_of_their_own() -> None:
    """Restaurants at lunch, clothes in the afternoon, the market in the morning: not the street's curve."""
    truth = simulate_city(NIORT_CENTRE, SATURDAY, seed=2, scale=0.3).truth
    kinds = {s["shop_id"]: s["kind"] for s in truth["shops"]}

    def peak(kind: str) -> int:
        return _hour_of_peak([v for shop, vs in truth["visits"].items() if kinds[shop] == kind for v in vs])

    assert 12 <= peak("restaurant") <= 13
    assert 14 <= peak("fashion") <= 18
    assert 8 <= peak("market") <= 11
    # Several visitors at once in the larger shops.
    peaks = {shop: max(row[1] for row in rows) for shop, rows in truth["occupancy"].items()}
    assert peaks["ha-halles"] > 20 and peaks["vh-grand-magasin"] > 8
    # Shoppers who came back later the same day with the same phone.
    assert truth["people"]["visitor"] < sum(len(v) for v in truth["visits"].values())


def test_week_curve_market_days_and_sunday() -> None:
    sat = simulate_city(NIORT_VICTOR_HUGO, SATURDAY, seed=1, scale=0.2).truth
    tue = simulate_city(NIORT_VICTOR_HUGO, TUESDAY, seed=1, scale=0.2).truth
    sun = simulate_city(NIORT_VICTOR_HUGO, SUNDAY, seed=1, scale=0.2).truth
    assert sat["people"]["passerby"] > 1.3 * tue["people"]["passerby"] > 2 * sun["people"]["passerby"]
    assert sat["day"]["market"] and not tue["day"]["market"]
    assert sun["visits"]["vh-mode"] == [] and sun["people"]["staff"] < tue["people"]["staff"]


def test_staff_and_equipment_are_the_same_devices_every_day() -> None:
    days = [simulate_city(NIORT_VICTOR_HUGO, d, seed=1, scale=0.05) for d in (date(2026, 11, 20), SATURDAY)]
    equipment = []
    for result in days:
        frames = result.frames["vh-librairie-s1"]
        heard = Counter(data[26:32] for _ts, data in frames)
        equipment.append({mac for mac in heard if mac[:3] == b"\xdc\xfb\x48"})
    assert equipment[0] and equipment[0] == equipment[1]


def test_sensor_occupancy_follows_the_shop(tmp_path: Path) -> None:
    """Day two, the agent knowing day one's fixed devices, with the thresholds calibrated on the Brno
    days (``bench.accuracy``): per-window occupancy against the visitors really inside."""
    thresholds = Thresholds(visitor_dbm=-70, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=1200)
    slice_ = replace(NIORT_VICTOR_HUGO, shops=tuple(s for s in SHOPS if s.shop_id in ("vh-mode", "vh-cafe")))
    days = []
    for d in (date(2026, 11, 20), SATURDAY):
        result = simulate_city(slice_, d, seed=5, scale=3.0)
        days.append((result, {p.stem: p for p in write_city(result, tmp_path / d.isoformat())}))
    (_first, before), (result, paths) = days
    scores = {}
    for shop in ("vh-mode", "vh-cafe"):
        truth = {int(slot): inside for slot, inside, _staff in result.truth["occupancy"][shop]}
        registry = warm_registry([before[f"{shop}-s1"]], thresholds)
        probes = CaptureSet([paths[f"{shop}-s1"]]).probe_requests()
        rows = occupancy_series(probes, thresholds=thresholds, registry=registry)
        windows = [r for r in rows if r.window_start in truth]
        scores[shop] = statistics.correlation(
            [truth[r.window_start] for r in windows], [r.visitors_present for r in windows]
        )
    assert all(r > 0.8 for r in scores.values()), scores


def test_cli_simulates_a_city_slice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--scenario", "niort-victor-hugo", "--scale", "0.05", "--out", str(tmp_path)])
    assert code == 0
    assert len(list((tmp_path / "captures").glob("*.pcap"))) == NIORT_VICTOR_HUGO.sensor_count
    assert "probe requests" in capsys.readouterr().out
    assert main(["simulate", "--scenario", "nowhere", "--out", str(tmp_path)]) == 2


def test_countable_truth_is_what_the_kpi_definitions_can_see(centre: CityResult) -> None:
    """Countable visitors and passers-by: never more than everyone who went in or walked past (phones
    that probed too seldom or too weakly are left out), and a looser threshold sees at least as many."""
    from wifivip_edge.batch import Thresholds
    from wifivip_edge.simulate.city import countable_truth

    strict = Thresholds(visitor_dbm=-60, min_visit_s=300, passerby_floor_dbm=-80, session_gap_s=1200)
    loose = Thresholds(visitor_dbm=-80, min_visit_s=300, passerby_floor_dbm=-95, session_gap_s=1200)
    seen = 0
    for shop in centre.truth["shops"]:
        sid, sensor = shop["shop_id"], shop["sensors"][0]
        everyone = {"visitors": sum(1 for a, b in centre.truth["visits_by_phone"][sid] if b - a >= 300)}
        everyone["passersby"] = centre.truth["passages"][sid]
        a, b = countable_truth(centre, sid, sensor, strict), countable_truth(centre, sid, sensor, loose)
        for kpi in ("visitors", "passersby"):
            assert a[kpi] <= b[kpi] <= everyone[kpi], (sid, kpi, a, b, everyone)
        seen += b["passersby"]
    assert seen > 0
