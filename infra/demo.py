"""``make demo``: the whole system on the embedded AWS emulator, then the portal on port 8000.

Steps, each shown as it runs: start the emulator, deploy the stack into it (the deploy code used for
AWS), simulate a day of a few Niort shops, enroll their sensors, replay each capture through the
edge agent (uploading batches to the emulator's S3), run the ingest function on every batch through
the local SQS pump, and serve the portal with ``chalice local``. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
STAGE = "demo"


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.demo")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="simulated day (default: yesterday)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-serve", action="store_true", help="stop after ingest (for tests)")
    args = parser.parse_args(argv)
    day = args.date or (datetime.now(ZoneInfo("Europe/Paris")).date() - timedelta(days=1))
    os.environ["WIFIVIP_STAGE"] = STAGE
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    from infra.emulator import local_aws

    say("Starting the embedded AWS emulator (moto server on 127.0.0.1)")
    with local_aws() as endpoint, tempfile.TemporaryDirectory(prefix="wifivip-demo-") as tmp:
        print(f"    emulator at {endpoint}")
        run_pipeline(endpoint, day, args.scale, Path(tmp))
        if args.no_serve:
            return 0
        return serve(endpoint, args.port, day)


def run_pipeline(endpoint: str, day: date, scale: float, workdir: Path) -> dict[str, int]:
    """Deploy, simulate, replay and ingest; return what was counted."""
    from infra.stack import StackTarget, deploy

    say(f"Deploying stage '{STAGE}' into the emulator")
    outputs = deploy(StackTarget(STAGE, endpoint_url=endpoint), progress=lambda m: print(f"    {m}"))
    os.environ.update(outputs.environment())

    say(f"Simulating {day.isoformat()} in a few shops of rue Victor-Hugo, Niort")
    from wifivip_edge.simulate.run import simulate, write_simulation
    from wifivip_edge.simulate.scenario import NIORT_DEMO

    result = simulate(NIORT_DEMO, day, seed=1, scale=scale)
    captures = write_simulation(result, workdir / "sim")
    truth = result.truth
    frames_total = sum(len(v) for v in result.frames.values())
    print(f"    {len(captures)} sensors, {frames_total} probe requests, {truth['people']}")

    say("Enrolling the sensors")
    enroll_demo_sensors(truth)

    say("Replaying the captures through the edge agent (uploads to S3)")
    batches = replay_all(captures, outputs.bucket, endpoint, workdir, frames_total)

    say("Running the ingest function on every batch (S3 -> SQS -> Lambda handler)")
    counted = ingest_all(outputs.queue_url, batches, workdir / "lambda-ingest.log")

    say("Running the rollup function (shops, street, zone, city; days, weeks, months)")
    rolled = rollup_days(day, workdir / "lambda-rollup.log")
    return {"batches": batches, "frames": frames_total, **counted, "rolled_items": rolled}


def enroll_demo_sensors(truth: dict) -> None:
    from chalicelib.models.sensor import Sensor

    for shop in truth["shops"]:
        for sensor_id in shop["sensors"]:
            Sensor(
                sensor_id, shop_id=shop["shop_id"], shop_name=shop["name"], street=shop["street"], zone=shop["zone"]
            ).save()
            print(f"    {sensor_id} in {shop['name']}")


def replay_all(captures: list[Path], bucket: str, endpoint: str, workdir: Path, frames_total: int) -> int:
    from wifivip_edge.cli import replay
    from wifivip_edge.config import load_config

    key_hex = secrets.token_hex(32)
    batches = 0
    with tqdm(total=frames_total, unit="frame", desc="    replay", ncols=90) as bar:
        for capture in captures:
            config_path = workdir / f"{capture.stem}.toml"
            config_path.write_text(
                f'sensor_id = "{capture.stem}"\n[upload]\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\n'
                f'[privacy]\nkey_hex = "{key_hex}"\n'
            )
            stats = replay([capture], load_config(config_path, environ={}), on_frame=bar.update)
            batches += stats.batches
    print(f"    {batches} batches uploaded")
    return batches


def ingest_all(queue_url: str, expected_batches: int, log_path: Path) -> dict[str, int]:
    """Pump the queue into the real handler; its stdout (metrics, as in CloudWatch) goes to a log file."""
    import boto3

    from functions.ingest.handler import lambda_handler
    from functions.local_pump import SqsPump

    with open(log_path, "w") as log:
        pump = SqsPump(boto3.client("sqs"), queue_url, lambda_handler, stdout=log)
        with tqdm(total=expected_batches, unit="batch", desc="    ingest", ncols=90) as bar:
            handled, failed = pump.drain(on_progress=bar.update)
    print(f"    {handled} messages handled, {failed} failed (function output: {log_path})")
    return {"messages": handled, "failed": failed}


def rollup_days(day: date, log_path: Path) -> int:
    """Call the real rollup handler for the simulated day (and the day after, where late sessions close)."""
    import contextlib

    from functions.local_pump import LocalContext
    from functions.rollup.handler import lambda_handler

    event = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    with open(log_path, "w") as log, contextlib.redirect_stdout(log):
        result = lambda_handler(event, LocalContext(function_name="wifivip-local-rollup"))
    print(f"    {result['written']} items written for {', '.join(result['days'])} (function output: {log_path})")
    return int(result["written"])


def serve(endpoint: str, port: int, day: date) -> int:
    say(f"Serving the portal at http://127.0.0.1:{port}/?day={day.isoformat()}  (Ctrl-C stops everything)")
    env = {**os.environ}
    cmd = [sys.executable, "-m", "chalice", "local", "--host", "127.0.0.1", "--port", str(port), "--stage", STAGE]
    chalice_bin = Path(sys.executable).with_name("chalice")
    if chalice_bin.exists():
        cmd = [str(chalice_bin), "local", "--host", "127.0.0.1", "--port", str(port), "--stage", STAGE]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
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


if __name__ == "__main__":
    sys.exit(main())
