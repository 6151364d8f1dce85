"""``python -m infra COMMAND --stage NAME --region REGION [--endpoint-url URL]``.

Commands: ``deploy`` (idempotent), ``plan`` (what deploy would change), ``destroy`` (data kept unless
``--delete-data``), ``enroll-sensor --shop ID`` and ``revoke-sensor --sensor-id ID``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from wifivip_edge.batch import PRIVACY_MODES


def _target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="name of the stage, e.g. prod (resources: wifivip-STAGE-*)")
    parser.add_argument("--region", default="eu-west-3")
    parser.add_argument("--endpoint-url", default=None, help="a local emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument(
        "--privacy-mode",
        default="pseudonymous-24h",
        choices=sorted(PRIVACY_MODES),
        help="sets how long raw batches stay in S3 (1 day in the 24-hour mode)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description="deploy wifivip to AWS or the emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    dep = sub.add_parser("deploy", help="create or update every resource of a stage (idempotent)")
    _target_args(dep)
    dep.add_argument("--admin-email", default=None, help="receives the alarms (AWS mails a confirmation link)")
    _target_args(sub.add_parser("plan", help="show what deploy would change, without changing anything"))
    down = sub.add_parser("destroy", help="remove every resource of a stage (data kept unless --delete-data)")
    _target_args(down)
    down.add_argument(
        "--delete-data",
        action="store_true",
        help="also delete the data bucket (every object version), the tables and the master secret",
    )
    enroll = sub.add_parser("enroll-sensor", help="create a sensor identity and write the Pi's config")
    _target_args(enroll)
    enroll.add_argument("--shop", required=True, help="the shop the sensor is installed in")
    enroll.add_argument("--sensor-id", default=None, help="default: SHOP-sN, the next free number")
    enroll.add_argument("--shop-name", default=None)
    enroll.add_argument("--street", default="")
    enroll.add_argument("--zone", default="")
    enroll.add_argument("--out", type=Path, default=Path("sensors"), help="where to write SENSOR.toml and credentials")
    revoke = sub.add_parser("revoke-sensor", help="stop a sensor at once (its later uploads are quarantined)")
    _target_args(revoke)
    revoke.add_argument("--sensor-id", required=True)
    return parser


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The table models read the stage and region at import time: set them before importing anything.
    os.environ["WIFIVIP_STAGE"] = args.stage
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    from infra.stack import StackTarget

    target = StackTarget(
        args.stage,
        args.region,
        args.endpoint_url,
        privacy_mode=args.privacy_mode,
        admin_email=getattr(args, "admin_email", None),
    )
    return int(COMMANDS[args.command](target, args))


def _plan(target: Any, args: argparse.Namespace) -> int:
    from infra.stack import plan

    changes = plan(target)
    for change in changes:
        print(change)
    pending = sum(c.action != "keep" for c in changes)
    print(f"{pending} change(s) pending" if pending else "no change: the stage matches its declaration")
    return 0


def _destroy(target: Any, args: argparse.Namespace) -> int:
    from infra.stack import destroy

    destroy(target, delete_data=args.delete_data, progress=_say)
    return 0


def _deploy(target: Any, args: argparse.Namespace) -> int:
    from infra.stack import deploy

    _say(f"deploying stage {target.stage} to {target.endpoint_url or 'AWS ' + target.region}")
    outputs = deploy(target, progress=_say)
    _say(f"done: {len(outputs.changes)} resource(s) changed, {outputs.mutating_calls} mutating API call(s)")
    _say(f"portal: {outputs.portal_url}")
    if outputs.first_admin:
        _say(f"first admin sign-in / premier administrateur : {outputs.first_admin}")
    for note in outputs.notes:
        _say(note)
    print(outputs.to_json())
    return 0


def _enroll(target: Any, args: argparse.Namespace) -> int:
    from infra.sensors import EnrollError, enroll

    try:
        done = enroll(target, args.shop, args.out, args.sensor_id, args.shop_name, args.street, args.zone)
    except EnrollError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say(f"sensor {done.sensor_id} enrolled (IAM user {done.user_name}, key {done.access_key_id})")
    _say(f"config: {done.config_path}  credentials (keep secret, mode 600): {done.credentials_path}")
    print(json.dumps({"sensor_id": done.sensor_id, "config": str(done.config_path)}))
    return 0


def _revoke(target: Any, args: argparse.Namespace) -> int:
    from infra.sensors import EnrollError, revoke

    try:
        keys = revoke(target, args.sensor_id)
    except EnrollError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say(f"sensor {args.sensor_id} revoked: registry status revoked, {len(keys)} access key(s) deactivated")
    return 0


COMMANDS = {
    "deploy": _deploy,
    "plan": _plan,
    "destroy": _destroy,
    "enroll-sensor": _enroll,
    "revoke-sensor": _revoke,
}


if __name__ == "__main__":
    sys.exit(main())
