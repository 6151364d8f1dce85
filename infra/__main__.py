"""``python -m infra {deploy,plan,destroy} --stage NAME --region REGION [--endpoint-url URL]``."""

from __future__ import annotations

import argparse
import sys

from infra.stack import DEFAULT_PRIVACY_MODE, RAW_RETENTION_DAYS, StackTarget, deploy, destroy, plan


def _target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="name of the stage, e.g. prod (resources: wifivip-STAGE-*)")
    parser.add_argument("--region", default="eu-west-3")
    parser.add_argument("--endpoint-url", default=None, help="a local emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument(
        "--privacy-mode",
        default=DEFAULT_PRIVACY_MODE,
        choices=sorted(RAW_RETENTION_DAYS),
        help="sets how long raw batches stay in S3 (1 day in the 24-hour mode)",
    )


def _target(args: argparse.Namespace) -> StackTarget:
    return StackTarget(args.stage, args.region, args.endpoint_url, privacy_mode=args.privacy_mode)


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description="deploy wifivip to AWS or the emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    _target_args(sub.add_parser("deploy", help="create or update every resource of a stage (idempotent)"))
    _target_args(sub.add_parser("plan", help="show what deploy would change, without changing anything"))
    down = sub.add_parser("destroy", help="remove every resource of a stage (data kept unless --delete-data)")
    _target_args(down)
    down.add_argument(
        "--delete-data",
        action="store_true",
        help="also empty and delete the data bucket and tables and schedule the KMS key's deletion",
    )
    args = parser.parse_args(argv)
    target = _target(args)
    if args.command == "plan":
        changes = plan(target)
        for change in changes:
            print(change)
        pending = sum(c.action != "keep" for c in changes)
        print(f"{pending} change(s) pending" if pending else "no change: the stage matches its declaration")
        return 0
    if args.command == "destroy":
        destroy(target, delete_data=args.delete_data, progress=_say)
        return 0
    _say(f"deploying stage {target.stage} to {target.endpoint_url or 'AWS ' + target.region}")
    outputs = deploy(target, progress=_say)
    _say(f"done: {len(outputs.changes)} resource(s) changed, {outputs.mutating_calls} mutating API call(s)")
    print(outputs.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
