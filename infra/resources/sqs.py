"""SQS queues: encrypted at rest, with a dead-letter queue, a redrive policy and an access policy."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

# Attributes holding JSON documents: compared parsed, so formatting never reads as a change.
_JSON_ATTRIBUTES = ("Policy", "RedrivePolicy")
#: Encryption at rest of every queue: SQS-managed keys (free, no KMS request; messages hold object keys only).
AT_REST = "SSE-SQS"
_AT_REST_ATTRIBUTES = {"SSE-SQS": {"SqsManagedSseEnabled": "true"}}


class Queue(Resource):
    """A standard queue; ``dead_letter`` names the DLQ resource's ref key, ``policy`` builds its policy."""

    kind: ClassVar[str] = "sqs-queue"

    def __init__(
        self,
        name: str,
        visibility_seconds: int = 30,
        retention_seconds: int = 345600,
        dead_letter: str | None = None,
        max_receives: int = 5,
        policy: Any = None,
    ) -> None:
        """``policy`` is a callable ``(ctx, queue_arn) -> dict`` (it needs the queue's own ARN)."""
        super().__init__(name)
        self.visibility_seconds = visibility_seconds
        self.retention_seconds = retention_seconds
        self.dead_letter = dead_letter
        self.max_receives = max_receives
        self.policy = policy

    def arn(self, ctx: Context) -> str:
        return ctx.arn("sqs", self.name)

    def desired(self, ctx: Context) -> dict[str, Any]:
        want: dict[str, Any] = {
            "VisibilityTimeout": str(self.visibility_seconds),
            "MessageRetentionPeriod": str(self.retention_seconds),
            **_AT_REST_ATTRIBUTES[AT_REST],
        }
        if self.dead_letter:
            want["RedrivePolicy"] = {
                "deadLetterTargetArn": ctx.ref(self.dead_letter, "arn"),
                "maxReceiveCount": self.max_receives,
            }
        if self.policy:
            want["Policy"] = self.policy(ctx, self.arn(ctx))
        return want

    def read(self, ctx: Context) -> Observed | None:
        sqs = ctx.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return None
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        state: dict[str, Any] = dict(attributes)
        for name in _JSON_ATTRIBUTES:
            if name in state:
                state[name] = json.loads(state[name])
        if "RedrivePolicy" in state:
            state["RedrivePolicy"]["maxReceiveCount"] = int(state["RedrivePolicy"]["maxReceiveCount"])
        return Observed(state, {"url": url, "arn": attributes["QueueArn"], "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("sqs").create_queue(QueueName=self.name, Attributes=_encode(desired))

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        url = ctx.ref(self.key, "url")
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes=_encode({f: desired[f] for f in fields}))

    def delete(self, ctx: Context) -> None:
        ctx.client("sqs").delete_queue(QueueUrl=ctx.ref(self.key, "url"))


def _encode(attributes: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if k in _JSON_ATTRIBUTES else str(v) for k, v in attributes.items()}
