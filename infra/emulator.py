"""The embedded AWS emulator: moto's server on 127.0.0.1, on a free port, for the demo and the tests."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def _evaluate_bucket_policies_with_conditions() -> None:
    """moto ignores the conditions of a bucket policy, so a "deny unless TLS" statement denies every
    request. Evaluate bucket policies with :mod:`infra.policy_eval` instead, for a request made over
    TLS (every client reaches AWS over HTTPS; the emulator itself only listens on loopback HTTP).
    The policy's behaviour over plain HTTP is proven by the tests, with the same evaluator.
    """
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from infra.policy_eval import Request, evaluate

    def get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        request = Request(action, resource, {"aws:SecureTransport": "true"})
        decision = evaluate([json.loads(self.policy)], request)
        return {"deny": PermissionResult.DENIED, "allow": PermissionResult.PERMITTED}.get(
            decision, PermissionResult.NEUTRAL
        )

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


@contextmanager
def local_aws(region: str = "eu-west-3") -> Iterator[str]:
    """Start moto's server, point this process's AWS clients at it, yield its URL; stop it on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _evaluate_bucket_policies_with_conditions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION")}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": region, "AWS_REGION": region})
    try:
        yield url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
