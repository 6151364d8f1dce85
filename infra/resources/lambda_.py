"""Lambda: functions (arm64, one role each), the dependency layer, SQS event sources, invoke permissions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from infra.core import UNKNOWN, Context, Observed, Resource
from infra.packaging import ARCHITECTURE, RUNTIME, Artifact

ROLE_PROPAGATION_SECONDS = 60  # a new IAM role takes a few seconds before Lambda may assume it


class Layer(Resource):
    """A layer version per content: a new version is published only when the zip's SHA-256 changes."""

    kind: ClassVar[str] = "lambda-layer"

    def __init__(self, name: str, artifact: Callable[[], Artifact]) -> None:
        super().__init__(name)
        self.artifact = artifact

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"description": f"sha256:{self.artifact().sha256_hex}", "architectures": [ARCHITECTURE]}

    def read(self, ctx: Context) -> Observed | None:
        versions = ctx.client("lambda").list_layer_versions(LayerName=self.name).get("LayerVersions", [])
        if not versions:
            return None
        latest = max(versions, key=lambda v: v["Version"])
        state = {"description": latest.get("Description", ""), "architectures": latest.get("CompatibleArchitectures")}
        return Observed(state, {"arn": latest["LayerVersionArn"]})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("lambda").publish_layer_version(
            LayerName=self.name,
            Description=desired["description"],
            Content={"ZipFile": self.artifact().data},
            CompatibleRuntimes=[RUNTIME],
            CompatibleArchitectures=[ARCHITECTURE],
        )

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self.create(ctx, desired)

    def delete(self, ctx: Context) -> None:
        client = ctx.client("lambda")
        for version in client.list_layer_versions(LayerName=self.name).get("LayerVersions", []):
            client.delete_layer_version(LayerName=self.name, VersionNumber=version["Version"])


class Function(Resource):
    """An arm64 Python function; its configuration and code hash are compared, so unchanged means no call."""

    kind: ClassVar[str] = "lambda-function"

    def __init__(
        self,
        name: str,
        handler: str | Callable[[], str],
        role: str,
        code: Callable[[], Artifact],
        environment: Callable[[Context], dict[str, str]],
        layers: tuple[str, ...] = (),
        memory_mb: int = 256,
        timeout_s: int = 60,
        description: str = "",
    ) -> None:
        """``role`` and ``layers`` are ref keys of resources declared earlier."""
        super().__init__(name)
        self.handler = handler
        self.role = role
        self.code = code
        self.environment = environment
        self.layers = layers
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.description = description

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "Runtime": RUNTIME,
            "Architectures": [ARCHITECTURE],
            "Handler": self.handler if isinstance(self.handler, str) else self.handler(),
            "Role": ctx.ref(self.role, "arn"),
            "MemorySize": self.memory_mb,
            "Timeout": self.timeout_s,
            "Environment": dict(sorted(self.environment(ctx).items())),
            "Layers": [ctx.ref(layer, "arn") for layer in self.layers],
            "TracingConfig": "Active",
            "CodeSha256": self.code().code_sha256,
            "Description": self.description,
        }

    def read(self, ctx: Context) -> Observed | None:
        client = ctx.client("lambda")
        try:
            config = client.get_function_configuration(FunctionName=self.name)
        except client.exceptions.ResourceNotFoundException:
            return None
        state = {
            "Runtime": config.get("Runtime"),
            "Architectures": config.get("Architectures", ["x86_64"]),
            "Handler": config.get("Handler"),
            "Role": config.get("Role"),
            "MemorySize": config.get("MemorySize"),
            "Timeout": config.get("Timeout"),
            "Environment": dict(sorted((config.get("Environment") or {}).get("Variables", {}).items())),
            "Layers": [layer["Arn"] for layer in config.get("Layers", [])],
            "TracingConfig": (config.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            "CodeSha256": config.get("CodeSha256"),
            "Description": config.get("Description", ""),
        }
        return Observed(state, {"arn": config["FunctionArn"], "name": self.name})

    def _configuration(self, desired: dict[str, Any]) -> dict[str, Any]:
        return {
            "FunctionName": self.name,
            "Runtime": desired["Runtime"],
            "Handler": desired["Handler"],
            "Role": desired["Role"],
            "MemorySize": desired["MemorySize"],
            "Timeout": desired["Timeout"],
            "Environment": {"Variables": desired["Environment"]},
            "Layers": desired["Layers"],
            "TracingConfig": {"Mode": desired["TracingConfig"]},
            "Description": desired["Description"],
        }

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        client = ctx.client("lambda")
        kwargs = {
            **self._configuration(desired),
            "Architectures": desired["Architectures"],
            "Code": {"ZipFile": self.code().data},
            "Tags": {"wifivip:stage": ctx.stage},
        }
        _retry_while_role_propagates(lambda: client.create_function(**kwargs))
        _wait(client, "function_active_v2", self.name)

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        client = ctx.client("lambda")
        if "CodeSha256" in fields or "Architectures" in fields:
            client.update_function_code(
                FunctionName=self.name, ZipFile=self.code().data, Architectures=desired["Architectures"]
            )
            _wait(client, "function_updated_v2", self.name)
        if set(fields) - {"CodeSha256", "Architectures"}:
            _retry_while_role_propagates(lambda: client.update_function_configuration(**self._configuration(desired)))
            _wait(client, "function_updated_v2", self.name)

    def delete(self, ctx: Context) -> None:
        ctx.client("lambda").delete_function(FunctionName=self.name)


def _retry_while_role_propagates(call: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + ROLE_PROPAGATION_SECONDS
    while True:
        try:
            return call()
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InvalidParameterValueException" or time.monotonic() > deadline:
                raise
            time.sleep(3)


def _wait(client: Any, waiter: str, name: str) -> None:
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 90})


#: How long a mapping gathers messages before it invokes (MaximumBatchingWindowInSeconds): fewer, fuller
#: invocations when objects arrive close together, at most this much added to a figure's data age.
BATCHING_WINDOW_S = 5


class SqsSource(Resource):
    """The event source mapping that feeds a queue to a function, reporting partial batch failures."""

    kind: ClassVar[str] = "sqs-event-source"

    def __init__(
        self, queue: str, function: str, enabled: bool, batch_size: int = 10, window_s: int = BATCHING_WINDOW_S
    ) -> None:
        """``queue`` and ``function`` are ref keys. On the emulator the mapping is declared but disabled:
        moto would try to run the function in Docker on every message and, failing, push the messages
        towards the DLQ; there ``functions/local_pump.py`` plays the mapping's part."""
        super().__init__(f"{queue.split(':', 1)[1]}->{function.split(':', 1)[1]}")
        self.queue = queue
        self.function = function
        self.batch_size = batch_size
        self.window_s = window_s
        self.enabled = enabled

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": self.enabled,
        }

    def read(self, ctx: Context) -> Observed | None:
        queue_arn, function = ctx.ref(self.queue, "arn"), ctx.ref(self.function, "name")
        if UNKNOWN in (queue_arn, function):  # planning: the queue or the function does not exist yet
            return None
        try:
            found = ctx.client("lambda").list_event_source_mappings(EventSourceArn=queue_arn, FunctionName=function)
        except ClientError:
            return None
        mappings = found.get("EventSourceMappings", [])
        if not mappings:
            return None
        m = mappings[0]
        state = {
            "BatchSize": m.get("BatchSize"),
            "MaximumBatchingWindowInSeconds": m.get("MaximumBatchingWindowInSeconds", 0),
            "FunctionResponseTypes": m.get("FunctionResponseTypes", []),
            "Enabled": m.get("State") in ("Enabled", "Enabling", "Creating", "Updating"),
        }
        return Observed(state, {"uuid": m["UUID"]})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        client = ctx.client("lambda")
        # Lambda checks the function's role may read the queue: a role just made may not be visible yet.
        _retry_while_role_propagates(
            lambda: client.create_event_source_mapping(
                EventSourceArn=ctx.ref(self.queue, "arn"), FunctionName=ctx.ref(self.function, "name"), **desired
            )
        )

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        ctx.client("lambda").update_event_source_mapping(UUID=ctx.ref(self.key, "uuid"), **desired)

    def delete(self, ctx: Context) -> None:
        ctx.client("lambda").delete_event_source_mapping(UUID=ctx.ref(self.key, "uuid"))


class InvokePermission(Resource):
    """A statement of a function's resource policy: one service may invoke it, from one source ARN."""

    kind: ClassVar[str] = "lambda-permission"

    def __init__(self, function: str, sid: str, service: str, source_arn: Callable[[Context], str]) -> None:
        super().__init__(f"{function.split(':', 1)[1]}/{sid}")
        self.function = function
        self.sid = sid
        self.service = service
        self.source_arn = source_arn

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"principal": self.service, "source_arn": self.source_arn(ctx), "action": "lambda:InvokeFunction"}

    def read(self, ctx: Context) -> Observed | None:
        client = ctx.client("lambda")
        name = ctx.ref(self.function, "name")
        if name == UNKNOWN:
            return None
        try:
            policy = json.loads(client.get_policy(FunctionName=name)["Policy"])
        except ClientError:
            return None
        for statement in policy.get("Statement", []):
            if statement.get("Sid") == self.sid:
                principal = statement.get("Principal", {})
                state = {
                    "principal": principal.get("Service") if isinstance(principal, dict) else principal,
                    "source_arn": statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn"),
                    "action": statement.get("Action"),
                }
                return Observed(state, {"sid": self.sid})
        return None

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("lambda").add_permission(
            FunctionName=ctx.ref(self.function, "name"),
            StatementId=self.sid,
            Action=desired["action"],
            Principal=desired["principal"],
            SourceArn=desired["source_arn"],
            SourceAccount=ctx.account,
        )

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self.delete(ctx)
        self.create(ctx, desired)

    def delete(self, ctx: Context) -> None:
        ctx.client("lambda").remove_permission(FunctionName=ctx.ref(self.function, "name"), StatementId=self.sid)
