"""``python -m infra deploy --stage NAME --region REGION [--endpoint-url URL]``."""

from __future__ import annotations

import argparse
import sys

from infra.stack import StackTarget, deploy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description="deploy wifivip")
    sub = parser.add_subparsers(dest="command", required=True)
    dep = sub.add_parser("deploy", help="create or update every resource of a stage (idempotent)")
    dep.add_argument("--stage", required=True)
    dep.add_argument("--region", default="eu-west-3")
    dep.add_argument("--endpoint-url", default=None, help="a local emulator, e.g. http://127.0.0.1:5000")
    args = parser.parse_args(argv)
    target = StackTarget(args.stage, args.region, args.endpoint_url)
    outputs = deploy(target, progress=lambda msg: print(f"  - {msg}", file=sys.stderr))
    print(outputs.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
