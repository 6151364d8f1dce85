"""``wifivip-edge``: the sensor's command line (run, status, replay, inspect, occupancy, calibrate, simulate).

Errors a user can cause (missing file, bad config, unreadable capture, no monitor interface) print
one clear line and exit with status 2; they are not tracebacks. Modules are imported by the command
that needs them: ``inspect`` loads neither scapy nor boto3 (it is benchmarked as a whole process).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wifivip_edge import __version__

if TYPE_CHECKING:
    from wifivip_edge.config import AgentConfig

log = logging.getLogger("wifivip_edge")


class UsageError(Exception):
    """A mistake of the user's, reported as one line without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        result: int = args.func(args)
        return result
    except FileNotFoundError as exc:
        print(f"wifivip-edge: error: no such file: {exc.filename}", file=sys.stderr)
        return 2
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            print(f"wifivip-edge: error: {exc}", file=sys.stderr)
            return 2
        raise


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors a user can cause; imported only when something failed (``inspect`` stays light)."""
    from wifivip_edge.capture.live import CaptureError
    from wifivip_edge.capture.pcapfile import CaptureFormatError
    from wifivip_edge.config import ConfigError

    return (UsageError, ConfigError, CaptureFormatError, CaptureError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wifivip-edge", description="wifivip sensor agent")
    parser.add_argument("--version", action="version", version=f"wifivip-edge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write synthetic captures and their ground truth")
    sim.add_argument(
        "--scenario", default="niort-demo", help="niort-demo (4 shops), niort-victor-hugo or niort-centre (50 sensors)"
    )
    sim.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 21), help="local day (YYYY-MM-DD)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--scale", type=float, default=1.0, help="multiply the scenario's arrivals")
    sim.add_argument("--out", type=Path, required=True, help="output folder")
    sim.set_defaults(func=cmd_simulate)

    rep = sub.add_parser("replay", help="replay captures through the agent and upload the batches")
    rep.add_argument("captures", nargs="+", type=Path)
    rep.add_argument("--config", type=Path, required=True)
    rep.set_defaults(func=cmd_replay)

    ins = sub.add_parser("inspect", help="summarize captures")
    ins.add_argument("captures", nargs="+", type=Path)
    ins.add_argument("--json", action="store_true", help="print one JSON object")
    ins.set_defaults(func=cmd_inspect)

    occ = sub.add_parser("occupancy", help="people inside per window (visitors present, passers-by)")
    occ.add_argument("captures", nargs="+", type=Path)
    occ.add_argument("--window", type=int, default=300, help="window length in seconds (default 300)")
    occ.add_argument("--csv", action="store_true", help="print CSV: window_start,visitors_present,passersby")
    occ.add_argument("--config", type=Path, help="the sensor's config (its calibrated thresholds)")
    occ.set_defaults(func=cmd_occupancy)

    cal = sub.add_parser("calibrate", help="measure the sensor's visitor threshold and session gap")
    cal.add_argument("captures", nargs="+", type=Path)
    cal.add_argument("--truth", type=Path, help="CSV window_start,people counted inside (5-minute windows)")
    cal.set_defaults(func=cmd_calibrate)

    run = sub.add_parser("run", help="capture live (or replay a file through the live loop) and upload")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to empty the spool at exit")
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="the agent's state: last heartbeat, spool, losses")
    status.add_argument("--config", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)
    return parser


def cmd_simulate(args: argparse.Namespace) -> int:
    from wifivip_edge.simulate.city import simulate_city, write_city
    from wifivip_edge.simulate.niort import CITY_SCENARIOS
    from wifivip_edge.simulate.run import simulate, write_simulation
    from wifivip_edge.simulate.scenario import SCENARIOS

    if args.scenario in CITY_SCENARIOS:
        city = simulate_city(CITY_SCENARIOS[args.scenario], args.date, seed=args.seed, scale=args.scale)
        paths, frames = write_city(city, args.out), city.truth["frames"]
    elif args.scenario in SCENARIOS:
        result = simulate(SCENARIOS[args.scenario], args.date, seed=args.seed, scale=args.scale)
        paths, frames = write_simulation(result, args.out), sum(len(v) for v in result.frames.values())
    else:
        known = ", ".join([*SCENARIOS, *CITY_SCENARIOS])
        raise UsageError(f"unknown scenario {args.scenario!r} (known: {known})")
    print(f"wrote {len(paths)} captures ({frames} probe requests) and ground_truth.json to {args.out}")
    return 0


class ReplayStats:
    """What a replay did: frames read, batches uploaded and frames lost for want of a key."""

    def __init__(self) -> None:
        self.probe_requests = 0
        self.batches = 0
        self.lost_no_key = 0
        self.truncated_captures = 0


def replay(
    captures: Sequence[Path],
    config: AgentConfig,
    uploader: Any = None,
    on_frame: Callable[[int], None] | None = None,
    until: float | None = None,
) -> ReplayStats:
    """Feed captures through the agent pipeline and upload every batch; the library form of ``replay``.

    ``until`` (epoch seconds): replay as a live agent would have run up to that instant (the demo's
    "today so far"): later frames are not read, and only the batches settled by then are sent; the
    windows of the last minutes would still be on the sensor.
    """
    from wifivip_edge.batching import Batcher
    from wifivip_edge.capture.reader import CaptureSet
    from wifivip_edge.presence import presence_tap
    from wifivip_edge.pseudonym import KeyRing, StaticKeySource
    from wifivip_edge.upload import S3Uploader

    if not config.upload.bucket and uploader is None:
        raise UsageError("no upload bucket configured ([upload] bucket)")
    if not config.privacy.key_hex:
        raise UsageError("no pseudonym key configured for replay ([privacy] key_hex)")
    uploader = uploader or S3Uploader(config.upload)
    keyring = KeyRing(StaticKeySource(bytes.fromhex(config.privacy.key_hex)), bits=config.pseudonym_bits)
    now = [0.0]  # presence events carry the capture's time: an old capture's are stale to the offers
    batcher = Batcher(
        config.sensor_id,
        keyring,
        privacy_mode=config.privacy.mode,
        batch_seconds=config.batching.batch_seconds,
        thresholds=config.session_thresholds,
        consumer_of=presence_tap(config, consent_lookup(config), _presence_put(config), lambda: now[0]),
    )
    stats = ReplayStats()
    source = CaptureSet(list(captures))
    for probe in source.probe_requests():
        if until is not None and probe.ts > until:
            break
        now[0] = probe.ts
        stats.probe_requests += 1
        for batch in batcher.add(probe):
            uploader.upload(batch)
            stats.batches += 1
        if on_frame is not None and stats.probe_requests % 1000 == 0:
            on_frame(1000)
    for batch in batcher.flush() if until is None else batcher.tick(until):
        uploader.upload(batch)
        stats.batches += 1
    if on_frame is not None:
        on_frame(stats.probe_requests % 1000)
    stats.lost_no_key = batcher.lost_no_key
    stats.truncated_captures = len(source.truncated)
    return stats


def _presence_put(config: AgentConfig) -> Callable[[str, bytes, str], None]:
    """Where a replay's presence events go: the upload bucket (consent mode only)."""

    clients: list[Any] = []

    def put(key: str, body: bytes, content_type: str) -> None:
        if not clients:
            import boto3

            clients.append(
                boto3.client("s3", region_name=config.upload.region, endpoint_url=config.upload.endpoint_url)
            )
        clients[0].put_object(Bucket=config.upload.bucket, Key=key, Body=body, ContentType=content_type)

    return put


def consent_lookup(config: AgentConfig) -> Callable[[bytes], str | None] | None:
    """Consent mode: fetch and verify the opt-in allowlist once, return its MAC -> consumer lookup.

    A replay fetches once (the list is current now, not at the capture's time); the live agent's
    network thread refreshes it every few minutes.
    """
    from wifivip_edge.allowlist import consent_fetcher
    from wifivip_edge.s3lite import S3Client

    client = S3Client(config.upload.bucket, config.upload.region, config.upload.endpoint_url)
    fetcher = consent_fetcher(config, client)
    if fetcher is None:
        return None
    if not fetcher.refresh():
        log.warning("consent mode without a valid allowlist: no device gets a consumer pseudonym")
    return fetcher.matcher.consumer_of


def cmd_replay(args: argparse.Namespace) -> int:
    from wifivip_edge.config import load_config

    config = load_config(args.config)
    stats = replay(args.captures, config)
    print(f"replayed {stats.probe_requests} probe requests into {stats.batches} batches for sensor {config.sensor_id}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from wifivip_edge.summary import inspect_captures

    summary = inspect_captures(args.captures)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        for key, value in summary.items():
            print(f"{key:20} {value}")
    return 0


def cmd_occupancy(args: argparse.Namespace) -> int:
    from wifivip_edge.capture.reader import CaptureSet
    from wifivip_edge.config import load_config
    from wifivip_edge.occupancy import occupancy_series, to_csv

    if args.window < 10:
        raise UsageError("--window must be at least 10 seconds / au moins 10 secondes")
    thresholds = load_config(args.config).session_thresholds if args.config else None
    rows = occupancy_series(CaptureSet(list(args.captures)).probe_requests(), args.window, thresholds)
    if args.csv:
        sys.stdout.write(to_csv(rows))
    else:
        for row in rows:
            print(f"{row.window_start:12d} {row.visitors_present:6d} {row.passersby:6d}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from wifivip_edge.calibrate import calibrate_with_count, calibrate_without_count, read_truth
    from wifivip_edge.capture.reader import CaptureSet

    try:
        truth = read_truth(args.truth) if args.truth else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    probes = list(CaptureSet(list(args.captures)).probe_requests())
    result = calibrate_without_count(probes) if truth is None else calibrate_with_count([probes], truth)
    print(result.toml(), end="")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from wifivip_edge.config import load_config
    from wifivip_edge.runner import run_agent

    return run_agent(load_config(args.config), drain_timeout_s=args.drain_timeout)


def cmd_status(args: argparse.Namespace) -> int:
    from wifivip_edge.config import load_config
    from wifivip_edge.status import agent_status, format_status

    state = agent_status(load_config(args.config))
    print(json.dumps(state, sort_keys=True) if args.json else format_status(state))
    return 0 if state["running"] else 1


if __name__ == "__main__":
    sys.exit(main())
