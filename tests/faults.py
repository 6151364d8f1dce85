"""Faults injected into this process's AWS calls, below the code under test (docs/reliability.md).

The production code runs unchanged; the faults sit at two levels of botocore, which boto3 and
PynamoDB both go through:

- **API level** (``BaseClient._make_api_call``): the Lambda process dying just before or just after
  its N-th AWS call. :class:`Killed` derives from ``BaseException``: Powertools' per-record error
  handling does not catch it, so the whole invocation dies, as a timed-out or OOM-killed Lambda does,
  and every message of its SQS batch comes back. "After" means AWS did the work and the caller never
  heard of it (the reply is lost).
- **HTTP level** (``Endpoint._send``): the replies AWS gives under load or trouble (DynamoDB
  throttling, a 500, a transaction cancelled for a conflict with another transaction, S3 503
  SlowDown and 500; SES and SNS throttling, 500s, SES refusing a message), returned instead of
  sending the request, so botocore's retry handler and the code's own error handling see exactly
  the bytes AWS would send. Retry sleeps are recorded, not slept.

Every fault has a budget, so a delivery loop that retries converges; the log says what was injected.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse

_DDB = "com.amazonaws.dynamodb.v20120810#"

#: What each injectable reply looks like on the wire: (HTTP status, error code). The body is built
#: per protocol (JSON for DynamoDB, XML for S3) by :func:`error_reply`.
REPLIES: dict[str, tuple[int, str]] = {
    "ddb_throttle": (400, "ThrottlingException"),
    "ddb_throughput": (400, "ProvisionedThroughputExceededException"),
    "ddb_500": (500, "InternalServerError"),
    "ddb_tx_conflict": (400, "TransactionCanceledException"),
    "ddb_tx_in_progress": (400, "TransactionInProgressException"),
    "cognito_500": (500, "InternalErrorException"),
    "cognito_throttle": (400, "TooManyRequestsException"),
    "s3_slowdown": (503, "SlowDown"),
    "s3_500": (500, "InternalError"),
    "ses_throttle": (400, "Throttling"),
    "ses_500": (500, "InternalFailure"),
    "ses_rejected": (400, "MessageRejected"),
    "sns_500": (500, "InternalError"),
    "sns_throttle": (400, "Throttling"),
}
#: Services whose errors come as the query protocol's XML (``<ErrorResponse>``): SES, SNS.
QUERY_PROTOCOL = frozenset({"ses", "sns", "sqs", "sts"})


class Killed(BaseException):
    """The Lambda process died between two AWS calls: nothing after this point runs."""


class _Raw:
    """The ``raw`` of an :class:`AWSResponse`: what botocore streams the body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_args: Any, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_args: Any, **_kwargs: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def error_reply(kind: str, service: str, request_body: bytes | None) -> AWSResponse:
    """The reply AWS sends for ``kind``, in the service's protocol."""
    status, code = REPLIES[kind]
    request_id = str(uuid.uuid4())
    if service in QUERY_PROTOCOL:
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
            f"<Message>injected {code}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}
        return AWSResponse(f"https://{service}", status, headers, _Raw(body.encode()))
    if service != "s3":  # the JSON protocols (DynamoDB, Cognito...)
        prefix = _DDB if service == "dynamodb" else ""
        payload: dict[str, Any] = {"__type": prefix + code, "message": f"injected {code}"}
        if code == "TransactionCanceledException":
            actions = len(json.loads(request_body or b"{}").get("TransactItems", [])) or 1
            reasons = [{"Code": "None"}] * actions
            reasons[-1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            payload = {
                "__type": _DDB + code,
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(r['Code'] for r in reasons)}]",
                "CancellationReasons": reasons,
            }
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse(f"https://{service}", status, headers, _Raw(json.dumps(payload).encode()))
    body = f"<Error><Code>{code}</Code><Message>injected {code}</Message><RequestId>{request_id}</RequestId></Error>"
    headers = {"x-amz-request-id": request_id, "Content-Type": "application/xml"}
    return AWSResponse("https://s3", status, headers, _Raw(body.encode()))


@dataclass
class Weather:
    """Error replies drawn at random: ``rules`` maps (service, operation or "*") to [(kind, probability)],
    each kind within a total ``budget`` (replies of that kind over the whole run)."""

    rng: random.Random
    rules: dict[tuple[str, str], list[tuple[str, float]]]
    budget: int = 20

    def reply(self, service: str, operation: str, spent: Counter[str]) -> str | None:
        for kind, p in self.rules.get((service, operation), []) + self.rules.get((service, "*"), []):
            if spent[kind] < self.budget and self.rng.random() < p:
                return kind
        return None


@dataclass
class AwsFaults:
    """Counts this process's AWS calls while armed and injects the planned faults.

    ``kill_before`` / ``kill_after``: ordinals (1-based, over the armed calls of the services in
    ``services``) at which the process dies before sending the call, or after AWS applied it.
    """

    services: tuple[str, ...] = ("s3", "dynamodb")
    kill_before: set[int] = field(default_factory=set)
    kill_after: set[int] = field(default_factory=set)
    weather: Weather | None = None
    armed: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)
    kills: list[tuple[str, int, str, str]] = field(default_factory=list)  # (when, ordinal, service, operation)
    replies: Counter[str] = field(default_factory=Counter)
    retry_sleeps: list[float] = field(default_factory=list)
    #: Runs before each armed call (after the kill check): e.g. another invocation running to its end
    #: first, as a concurrent Lambda would, so items move under this one's feet.
    before_call: Callable[[str, str], None] | None = None
    _current: tuple[str, str] | None = None

    @contextmanager
    def installed(self) -> Iterator[AwsFaults]:
        """Wrap botocore while inside (undone on exit); arm with :meth:`armed_for`."""
        real_call = botocore.client.BaseClient._make_api_call
        real_send = botocore.endpoint.Endpoint._send
        faults = self

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if not faults.armed or service not in faults.services:
                return real_call(client, operation, params)
            faults.calls.append((service, operation))
            n = len(faults.calls)
            if n in faults.kill_before:
                faults.kills.append(("before", n, service, operation))
                raise Killed(f"killed before call {n} ({service} {operation})")
            if faults.before_call is not None:
                faults.before_call(service, operation)
            faults._current = (service, operation)
            try:
                result = real_call(client, operation, params)
            finally:
                faults._current = None
            if n in faults.kill_after:
                faults.kills.append(("after", n, service, operation))
                raise Killed(f"killed after call {n} ({service} {operation}) was applied")
            return result

        def send(endpoint: Any, request: Any) -> Any:
            current = faults._current
            if faults.weather is not None and current is not None:
                kind = faults.weather.reply(*current, faults.replies)
                if kind is not None:
                    faults.replies[kind] += 1
                    body = request.body if isinstance(request.body, bytes) else None
                    return error_reply(kind, current[0], body)
            return real_send(endpoint, request)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
            patch.setattr(botocore.endpoint.Endpoint, "_send", send)
            patch.setattr(botocore.endpoint, "time", _RecordingTime(self.retry_sleeps))
            yield self

    @contextmanager
    def armed_for(self) -> Iterator[None]:
        self.armed = True
        try:
            yield
        finally:
            self.armed = False

    def summary(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "by_operation": dict(Counter(f"{s}.{o}" for s, o in self.calls)),
            "kills": len(self.kills),
            "replies": dict(self.replies),
            "retry_sleeps": len(self.retry_sleeps),
        }


class _RecordingTime:
    """``time`` for botocore's endpoint: retry back-off delays are recorded, not slept."""

    def __init__(self, sleeps: list[float]) -> None:
        self._sleeps = sleeps

    def sleep(self, seconds: float) -> None:
        self._sleeps.append(seconds)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return getattr(time, name)  # type: ignore[no-any-return]
