"""``make demo``: the whole system on the embedded AWS emulator, then the portal on port 8000.

Steps, each shown as it runs: start the emulator, deploy the stack into it (the deploy code used for
AWS), simulate a day of a few Niort shops, enroll their sensors, replay each capture through the
edge agent (uploading batches to the emulator's S3), run the ingest function on every batch through
the local SQS pump, send each sensor's heartbeat through the heartbeat function, and serve the portal
with ``chalice local``. Ctrl-C stops everything it started.

The simulated day is today, replayed up to the current time as live sensors would have sent it (so
"visitors now" and "so far today" show figures), and the same weekday of the week before in full
(for "vs last week"). One sensor (:data:`SILENT_SENSOR_INDEX`) stopped :data:`SILENT_FOR_S` ago:
its figures end then and the sensor-health page warns that it is silent.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
STAGE = "demo"
#: The demo's deliberately silent sensor: the last one of the scenario (not the demo merchant's shop).
SILENT_SENSOR_INDEX = -1
#: How long ago it stopped: longer than the 15 minutes after which the portal calls a sensor silent.
SILENT_FOR_S = 50 * 60
#: Before this local hour today has (almost) no figures yet: the demo simulates yesterday in full too.
EARLY_HOUR = 10


_STARTED = time.monotonic()


def say(message: str) -> None:
    """A step of the demo, with the time since it started (a whole-centre run takes tens of minutes)."""
    elapsed = int(time.monotonic() - _STARTED)
    print(f"\033[1m==> {message}\033[0m  [{elapsed // 60}:{elapsed % 60:02d}]", flush=True)


def stop_as_ctrl_c() -> None:
    """SIGTERM (``kill``, a service manager, a CI job's timeout) and SIGHUP (the terminal closed) stop the
    demo as Ctrl-C does: the portal's server process, the captive portal and the emulator are stopped on
    the way out, not left orphaned on their ports (a SIGTERM used to leave ``chalice local`` on 8000)."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, interrupt)


def main(argv: list[str] | None = None) -> int:
    stop_as_ctrl_c()
    parser = argparse.ArgumentParser(prog="python -m infra.demo")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="simulate this whole day (default: today up to now)"
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-serve", action="store_true", help="stop after ingest (for tests)")
    parser.add_argument(
        "--no-last-week", action="store_true", help="skip the same weekday a week before (faster, no 'vs last week')"
    )
    parser.add_argument("--optin-port", type=int, default=None, help="captive portal (default: --port + 1)")
    parser.add_argument(
        "--now",
        type=paris_time,
        default=None,
        help="fix the demo's clock to this past Paris time (YYYY-MM-DDTHH:MM): today is that day up to then, "
        "for the data, the heartbeats and the portal (its browser tests run the same at any hour)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the whole city centre (40 shops, 50 sensors, ~20,000 phones) instead of four shops: much longer",
    )
    args = parser.parse_args(argv)
    now = time.time()
    if args.now is not None:
        if args.date is not None or args.now > now:
            parser.error("--now: a time in the past, without --date / a past time, not with --date")
        now = args.now
        os.environ["WIFIVIP_PORTAL_NOW"] = datetime.fromtimestamp(now, ZoneInfo("Europe/Paris")).isoformat()
    day = args.date or datetime.fromtimestamp(now, ZoneInfo("Europe/Paris")).date()
    until = None if args.date else now
    os.environ["WIFIVIP_STAGE"] = STAGE
    os.environ.setdefault("WIFIVIP_PUBLIC_URL", f"http://127.0.0.1:{args.port}")  # offers' tracked links
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    from infra.emulator import local_aws

    say("Starting the embedded AWS emulator (moto server on 127.0.0.1)")
    with local_aws() as endpoint, tempfile.TemporaryDirectory(prefix="wifivip-demo-") as tmp:
        print(f"    emulator at {endpoint}")
        days = demo_days(day, until, args.no_last_week)
        counted = run_pipeline(endpoint, days, args.scale, Path(tmp), until=until, now=now, full=args.full)
        logins = counted.pop("logins")
        if args.no_serve:
            print_logins(logins, None, days, until)
            return 0
        from infra.demo_optin import optin_portal

        optin_port = args.optin_port or args.port + 1
        say("Serving the captive portal (opt-in function) and opting one demo consumer in")
        with optin_portal(optin_port) as captive:
            print(f"    captive portal at {captive.url}  (join as a phone would: {captive.url}/_controller)")
            print(f"    RFC 8908 API: {captive.url}/api/captive   my data: {captive.url}/me")
            print(f"    emails and SMS sent: {captive.url}/_outbox")
            print(f"    demo consumer opted in (audience + offers by email, confirmed): {captive.consumer_email}")
            return serve(endpoint, args.port, days, logins, until)


def paris_time(value: str) -> float:
    """``2026-11-25T15:00`` (Paris wall-clock time) as epoch seconds."""
    return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def demo_days(day: date, until: float | None, no_last_week: bool = False) -> list[date]:
    """The simulated days, oldest first, ``day`` last, with the same weekday a week before (for "vs last
    week"); before the shops open (:data:`EARLY_HOUR`) today is still empty and the Today page shows the
    last day with figures, so yesterday is simulated in full, and the week before it."""
    early = until is not None and datetime.fromtimestamp(until, ZoneInfo("Europe/Paris")).hour < EARLY_HOUR
    shown = day - timedelta(days=1) if early else day  # the day the Today page shows
    return sorted({day, shown} | (set() if no_last_week else {shown - timedelta(days=7)}))


def run_pipeline(
    endpoint: str,
    days: list[date],
    scale: float,
    workdir: Path,
    until: float | None = None,
    now: float | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Deploy, simulate each day (four shops, or the whole centre when ``full``), replay and ingest (the
    last day up to ``until`` when given), send the sensors' heartbeats as of ``now``, then create the
    demo's directory and sign-ins."""
    from infra.stack import StackTarget, deploy

    say(f"Deploying stage '{STAGE}' into the emulator")
    outputs = deploy(StackTarget(STAGE, endpoint_url=endpoint), progress=lambda m: print(f"    {m}"))
    os.environ.update(outputs.environment())

    from chalicelib.models.processed_batch import MAX_BATCH_AGE_DAYS

    simulated: list[tuple[date, list[Path], int]] = []
    truth: dict[str, Any] = {}
    positions: dict[str, tuple[float, float]] = {}
    for day in days:
        captures, frames, truth, positions = simulate_day(day, scale, workdir / f"sim-{day.isoformat()}", full)
        simulated.append((day, captures, frames))
        print(f"    {len(captures)} sensors, {frames} probe requests, {truth['people']}")

    say("Enrolling the sensors")
    enroll_demo_sensors(truth)
    sensors = [sensor_id for shop in truth["shops"] for sensor_id in shop["sensors"]]
    silent = sensors[SILENT_SENSOR_INDEX]
    now = time.time() if now is None else now

    counted: dict[str, int] = {"batches": 0, "frames": 0, "messages": 0, "failed": 0}
    replays: dict[str, Any] = {}
    for day, captures, frames in simulated:
        stops = None
        upto = ""
        if until is not None and day == days[-1]:
            stops = {c.stem: until - (SILENT_FOR_S if c.stem == silent else 0) for c in captures}
            upto = f" up to {clock_text(until)}"
        # The function refuses batches older than 7 days: a day's first batches are, from its start on.
        backfill = day_end(day - timedelta(days=1)) < time.time() - MAX_BATCH_AGE_DAYS * 86400
        say(
            f"Replaying {day.isoformat()}{upto} through the edge agent (uploads to S3), each sensor's batches "
            + (
                "backfilled by the ingest service with that day's clock (S3 -> SQS -> service)"
                if backfill
                else "run through the ingest function (S3 -> SQS -> Lambda handler)"
            )
        )
        ingest = Ingest(outputs.queue_url, workdir / "lambda-ingest.log", backfill_handler(day) if backfill else None)
        batches, replays = replay_all(captures, outputs.bucket, endpoint, workdir, frames, stops, ingest)
        print(f"    {ingest.handled} messages handled, {ingest.failed} failed (function output: {ingest.log_path})")
        counted = {
            "batches": counted["batches"] + batches,
            "frames": counted["frames"] + frames,
            "messages": counted["messages"] + ingest.handled,
            "failed": counted["failed"] + ingest.failed,
        }

    say(f"Sending the heartbeats through the heartbeat function ({silent} stopped {SILENT_FOR_S // 60} min ago)")
    send_heartbeats(outputs, replays, now, silent, workdir / "lambda-heartbeat.log")

    say("Running the rollup function (shops, street, zone, city; days, weeks, months)")
    rolled = rollup_days(days[0], days[-1], workdir / "lambda-rollup.log")

    say("Creating the portal's merchants, union, shops and one demo user per role (Cognito)")
    logins = create_demo_accounts(truth, positions)

    say("Campaigns: a finished offer with its measured results, and a running one (offers service, SES)")
    from infra.demo_campaigns import seed_demo_campaigns

    first = truth["shops"][0]
    seeded = seed_demo_campaigns(first["shop_id"], first["shop_id"], first["sensors"][0])
    print(f"    {seeded.consumers} consented demo consumers, {seeded.sent} offers sent (the rest: control group)")
    return {**counted, "rolled_items": rolled, "logins": logins}


def simulate_day(
    day: date, scale: float, folder: Path, full: bool
) -> tuple[list[Path], int, dict[str, Any], dict[str, tuple[float, float]]]:
    """One simulated day written as one capture per sensor: its captures, probe requests, ground truth
    and the shops' places on the centre's plan (metres)."""
    if not full:
        from wifivip_edge.simulate.run import simulate, write_simulation
        from wifivip_edge.simulate.scenario import NIORT_DEMO

        say(f"Simulating {day.isoformat()} ({day:%A}) in a few shops of rue Victor-Hugo, Niort")
        result = simulate(NIORT_DEMO, day, seed=1, scale=scale)
        places = {shop.shop_id: (shop.door_x, shop.depth / 2) for shop in NIORT_DEMO.shops}
        frames = sum(len(v) for v in result.frames.values())
        return write_simulation(result, folder), frames, result.truth, places
    from wifivip_edge.simulate.city import build_city, simulate_city, write_city
    from wifivip_edge.simulate.niort import NIORT_CENTRE

    say(f"Simulating {day.isoformat()} ({day:%A}) in the whole centre of Niort (40 shops, 50 sensors)")
    city = simulate_city(NIORT_CENTRE, day, seed=1, scale=scale)
    # rue Victor-Hugo's shops first: the demo's merchant, operator delegation and union are there.
    shops = sorted(city.truth["shops"], key=lambda shop: shop["street"] != "rue Victor-Hugo")
    truth = {**city.truth, "shops": shops}
    return write_city(city, folder), int(truth["frames"]), truth, street_places(build_city(NIORT_CENTRE))


def street_places(city: Any) -> dict[str, tuple[float, float]]:
    """Each shop's place as the centre page draws it: metres along its whole street (a street may span
    several stretches), half its depth from the facade."""
    offset: dict[int, float] = {}
    walked: dict[str, float] = {}
    for stretch in city.stretches:
        offset[stretch.index] = walked.get(stretch.street, 0.0)
        walked[stretch.street] = offset[stretch.index] + stretch.length
    return {s.spec.shop_id: (round(offset[s.stretch.index] + s.spec.at, 1), s.spec.depth / 2) for s in city.shops}


def create_demo_accounts(truth: dict[str, Any], positions: dict[str, tuple[float, float]]) -> list[Any]:
    import boto3

    from chalicelib.portal.settings import reload_settings
    from infra.demo_accounts import create_demo_users, seed_directory

    shops = seed_directory(truth, positions)
    conf = reload_settings()
    return create_demo_users(boto3.client("cognito-idp"), conf, shops)


def print_logins(logins: list[Any], url: str | None, days: list[date], until: float | None = None) -> None:
    say("Demo sign-ins (e-mail / password) — identifiants de démonstration")
    for login in logins:
        print(f"    {login.role:<9} {login.email:<26} {login.password}   ({login.what})", flush=True)
    if url:
        upto = f" up to {clock_text(until)}" if until is not None else ""
        listed = ", ".join(d.isoformat() for d in days)
        print(f"    portal: {url}  (simulated days: {listed}{upto})", flush=True)


def clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo("Europe/Paris")).strftime("%H:%M")


def enroll_demo_sensors(truth: dict[str, Any]) -> None:
    from chalicelib.models.sensor import Sensor

    for shop in truth["shops"]:
        for sensor_id in shop["sensors"]:
            Sensor(
                sensor_id,
                shop_id=shop["shop_id"],
                shop_name=shop["name"],
                street=shop["street"],
                zone=shop["zone"],
                enrolled_at=datetime.now(ZoneInfo("UTC")),
            ).save()
            print(f"    {sensor_id} in {shop['name']}")


def replay_all(
    captures: list[Path],
    bucket: str,
    endpoint: str,
    workdir: Path,
    frames_total: int,
    stops: dict[str, float] | None = None,
    ingest: Ingest | None = None,
) -> tuple[int, dict[str, Any]]:
    """Replay each sensor's capture (up to its stop time when given) and, when ``ingest`` is given, drain
    the queue after each sensor as the function keeps up with live sensors (a queue holding a whole
    day also slows the emulator down); the batch count and each replay's stats."""
    from wifivip_edge.cli import replay
    from wifivip_edge.config import load_config

    key_hex = secrets.token_hex(32)
    batches = 0
    stats: dict[str, Any] = {}
    with tqdm(total=frames_total, unit="frame", desc="    replay", ncols=100) as bar:
        for n, capture in enumerate(captures, 1):
            bar.set_description(f"    sensor {n}/{len(captures)}")
            config_path = workdir / f"{capture.stem}.toml"
            config_path.write_text(
                f'sensor_id = "{capture.stem}"\n[upload]\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\n'
                f'[privacy]\nkey_hex = "{key_hex}"\n'
            )
            until = None if stops is None else stops[capture.stem]
            done = replay([capture], load_config(config_path, environ={}), on_frame=bar.update, until=until)
            batches += done.batches
            stats[capture.stem] = done
            if ingest is not None:
                ingest.drain()
                # messages: the batches and S3's one test event on the queue
                bar.set_postfix_str(f"{batches} batches uploaded, {ingest.handled} messages handled")
        if stops is not None:  # the frames after each sensor's stop time were not replayed: done all the same
            bar.total = bar.n
            bar.refresh()
    print(f"    {batches} batches uploaded")
    return batches, stats


class Ingest:
    """The local event source mapping of the ingest queue: pumps it into the real handler (or a
    backfill handler) whenever drained; its stdout (metrics, as in CloudWatch) goes to a log file."""

    def __init__(self, queue_url: str, log_path: Path, handler: Any = None) -> None:
        import boto3

        from functions.ingest.handler import lambda_handler
        from functions.local_pump import SqsPump

        self.log_path = log_path
        self.handled = self.failed = 0
        self._pump = SqsPump(boto3.client("sqs"), queue_url, handler or lambda_handler)

    def drain(self) -> None:
        with open(self.log_path, "a") as log:
            self._pump.stdout = log
            handled, failed = self._pump.drain()
        self.handled, self.failed = self.handled + handled, self.failed + failed


def send_heartbeats(outputs: Any, replays: dict[str, Any], now: float, silent: str, log_path: Path) -> None:
    """Each sensor's heartbeat as its agent sends it (edge :class:`~wifivip_edge.heartbeat.Heartbeat`,
    S3 ``heartbeat/``), through the heartbeat function: the live ones now, with the real handler; the
    silent sensor's last one :data:`SILENT_FOR_S` ago, through the same service with that clock."""
    import boto3
    from wifivip_edge.heartbeat import encode_heartbeat, heartbeat_key

    from functions.ingest.handler import lambda_handler  # heartbeat objects notify the ingest queue

    s3 = boto3.client("s3")

    def upload(sensor_id: str, at: float) -> None:
        hb = demo_heartbeat(sensor_id, replays[sensor_id], at)
        s3.put_object(Bucket=outputs.bucket, Key=heartbeat_key(hb), Body=encode_heartbeat(hb))

    upload(silent, now - SILENT_FOR_S)
    pump_heartbeats(outputs.queue_url, clocked_heartbeat_handler(now - SILENT_FOR_S + 2), log_path)
    live = [sensor_id for sensor_id in replays if sensor_id != silent]
    for sensor_id in live:
        upload(sensor_id, now)
    fixed = abs(time.time() - now) > 300  # the demo's clock is fixed (--now): heartbeats received then
    pump_heartbeats(outputs.queue_url, clocked_heartbeat_handler(now) if fixed else lambda_handler, log_path)
    print(f"    {len(live)} sensors in service, {silent} silent since {clock_text(now - SILENT_FOR_S)}")


def demo_heartbeat(sensor_id: str, stats: Any, at: float) -> Any:
    """What the replayed agent reports: frames heard and batches sent since local midnight, an empty spool."""
    from wifivip_edge import __version__
    from wifivip_edge.heartbeat import Heartbeat

    midnight = datetime.fromtimestamp(at, ZoneInfo("Europe/Paris")).replace(hour=0, minute=0, second=0).timestamp()
    uptime = max(at - midnight, 1.0)
    return Heartbeat(
        sensor_id=sensor_id,
        agent_version=__version__,
        sent_at=at,
        uptime_s=round(uptime, 1),
        frames_total=stats.probe_requests,
        frames_per_s=round(stats.probe_requests / uptime, 3),
        spool_depth=0,
        spool_bytes=0,
        key_epoch=datetime.fromtimestamp(at, ZoneInfo("UTC")).date().isoformat(),
        uploads_ok=stats.batches,
        status=["ok"],
    )


def clocked_heartbeat_handler(at: float) -> Any:
    """The heartbeat service with a clock of ``at`` (the handler records heartbeats as received now), on
    the ingest queue once its batches are all counted (only heartbeat objects are left in it)."""
    from urllib.parse import unquote_plus

    import boto3

    from functions.heartbeat.aws import DynamoHealthStore, S3ObjectReader
    from functions.heartbeat.service import ingest_heartbeat, sensor_of
    from functions.ingest.aws import DynamoSensorDirectory

    received = datetime.fromtimestamp(at, ZoneInfo("UTC"))

    def handle(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            for entry in json.loads(record["body"]).get("Records", []):
                reader = S3ObjectReader(boto3.client("s3"), entry["s3"]["bucket"]["name"])
                key = unquote_plus(entry["s3"]["object"]["key"])
                if sensor_of(key) is not None:
                    ingest_heartbeat(key, reader, DynamoSensorDirectory(), DynamoHealthStore(), received)
        return {"batchItemFailures": []}

    return handle


def pump_heartbeats(queue_url: str, handler: Any, log_path: Path) -> int:
    import boto3

    from functions.local_pump import SqsPump

    with open(log_path, "a") as log:
        handled, _failed = SqsPump(boto3.client("sqs"), queue_url, handler, stdout=log).drain()
    return int(handled)


def day_end(day: date) -> float:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo("Europe/Paris")).timestamp()


def backfill_handler(day: date) -> Any:
    """Ingest with the clock of the end of ``day``: the function refuses batches older than 7 days
    (its exactly-once markers expire after 8): the same weekday a week before is, from its first hours as
    soon as today has begun (the real handler quarantined last week's mornings as ``too_old``).
    Same service, same stores, same transaction as the function; only the clock differs."""
    from urllib.parse import unquote_plus

    import boto3

    from functions.ingest.aws import DynamoKpiStore, DynamoSensorDirectory, S3BatchStore
    from functions.ingest.service import ingest_object

    clock = day_end(day) + 3600
    kpis = DynamoKpiStore()

    def handle(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            for entry in json.loads(record["body"]).get("Records", []):
                key = unquote_plus(entry["s3"]["object"]["key"])
                store = S3BatchStore(boto3.client("s3"), entry["s3"]["bucket"]["name"])
                ingest_object(key, store, DynamoSensorDirectory(), kpis, now=clock)
        return {"batchItemFailures": []}

    return handle


def rollup_days(first: date, last: date, log_path: Path) -> int:
    """Call the real rollup handler for the simulated days (and the day after, where late sessions close)."""
    import contextlib

    from functions.local_pump import LocalContext
    from functions.rollup.handler import lambda_handler

    event = {"from": first.isoformat(), "to": (last + timedelta(days=1)).isoformat()}
    with open(log_path, "w") as log, contextlib.redirect_stdout(log):
        result = lambda_handler(event, LocalContext(function_name="wifivip-local-rollup"))
    print(f"    {result['written']} items written for {', '.join(result['days'])} (function output: {log_path})")
    return int(result["written"])


def serve(endpoint: str, port: int, days: list[date], logins: list[Any], until: float | None = None) -> int:
    url = f"http://127.0.0.1:{port}/"
    say(f"Starting the portal (chalice local) on {url}")
    chalice_bin = Path(sys.executable).with_name("chalice")
    chalice = [str(chalice_bin)] if chalice_bin.exists() else [sys.executable, "-m", "chalice"]
    cmd = [*chalice, "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(port), "--stage", STAGE]
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ})
    try:
        if wait_for_port(port, process):
            print_logins(logins, url, days, until)
            say(f"Serving the portal at {url}  (Ctrl-C stops everything)")
        while process.poll() is None:
            time.sleep(0.5)
        return process.returncode or 0
    except KeyboardInterrupt:
        print("\nStopping the portal and the emulator...")
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """True once something listens on the port; False if the process died or time ran out."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


if __name__ == "__main__":
    sys.exit(main())
