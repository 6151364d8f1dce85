"""The deploy engine: resources as desired-state specs that read their current state, diff and apply.

Every AWS resource of a stage is one :class:`Resource` subclass instance (see ``infra/resources/``):

- ``desired(ctx)`` says what the resource should look like, as a plain dict;
- ``read(ctx)`` reads what exists, normalized to the same keys (``None`` when absent), plus the
  outputs other resources refer to (ARNs, URLs, ids);
- ``create``/``update``/``delete`` make the few calls needed to close the gap.

The engine (:func:`plan`, :func:`apply`, :func:`destroy`) walks the stage's resources in order. A
resource that already matches costs only read calls, which is what makes deploy idempotent: a
second run makes no mutating call at all (:class:`CallLog` counts them, the tests assert zero).
boto3 rather than CloudFormation because the emulator's CloudFormation silently ignores TTL,
encryption, versioning, lifecycle and notifications: made directly, every setting is real on both
targets and can be read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import boto3

Progress = Callable[[str], None]

#: Shown in a plan where a value depends on a resource that does not exist yet.
UNKNOWN = "(known after apply)"

# Operation names that only read. Anything else (Create*, Put*, Update*, Tag*, Set*...) mutates.
_READ_PREFIXES = (
    "Get",
    "Describe",
    "List",
    "Head",
    "Lookup",
    "Query",
    "Scan",
    "Select",
    "Check",
    "AdminGet",
    "AdminList",
)


def is_mutating(operation: str) -> bool:
    """Whether an AWS API operation name changes state (``PutBucketPolicy``) or only reads it.
    Cognito's administrator operations read too: ``AdminGetUser``, ``AdminListGroupsForUser``."""
    return not operation.removeprefix("Admin").startswith(_READ_PREFIXES)


@dataclass
class CallLog:
    """Every AWS API call the engine made, as ``service.Operation``: the proof of idempotency."""

    calls: list[str] = field(default_factory=list)

    def record(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}.{model.name}")

    @property
    def mutating(self) -> list[str]:
        return [c for c in self.calls if is_mutating(c.split(".", 1)[1])]


@dataclass(frozen=True)
class Change:
    """One line of a plan: what happens to one resource and, for an update, which fields differ."""

    action: Literal["create", "update", "delete", "keep", "retain"]
    kind: str
    name: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-", "keep": "=", "retain": "!"}[self.action]
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{sign} {self.action:<6} {self.kind} {self.name}{detail}"


@dataclass
class Observed:
    """What :meth:`Resource.read` found: the comparable state and the outputs others refer to."""

    state: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


_SESSIONS: dict[str, boto3.Session] = {}


def _shared_session(region: str) -> boto3.Session:
    """One session per region for the process: it caches the service models (1 s to load per deploy)."""
    if region not in _SESSIONS:
        _SESSIONS[region] = boto3.Session(region_name=region)
    return _SESSIONS[region]


class Context:
    """Clients for one target (a boto3 session whose calls are all logged) and the outputs so far."""

    def __init__(
        self,
        region: str,
        endpoint_url: str | None,
        stage: str,
        planning: bool = False,
        session: boto3.Session | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.stage = stage
        self.planning = planning
        self.session = session or _shared_session(region)
        self.log = CallLog()
        self.outputs: dict[str, dict[str, Any]] = {}
        #: Things the operator must see once (a generated temporary password): printed by the CLI.
        self.notes: list[str] = []
        self._clients: dict[str, Any] = {}
        self._account: str | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            client = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self.endpoint_url,
            )
            client.meta.events.register("before-call.*.*", self.log.record)  # this client's calls only
            self._clients[service] = client
        return self._clients[service]

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        """``arn:aws:{service}:{region}:{account}:{resource}`` (no region for global services like IAM)."""
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def ref(self, key: str, output: str) -> Any:
        """An output of a resource earlier in the stage (``ref("sqs:ingest", "arn")``)."""
        value = self.outputs.get(key, {}).get(output)
        if value is None:
            if self.planning:
                return UNKNOWN
            raise KeyError(f"{key} has no output {output!r}: is it declared before its users?")
        return value


class Resource:
    """One AWS resource as a desired state; subclasses implement the service calls."""

    kind: ClassVar[str] = "resource"
    #: Holds data: destroy keeps it unless asked to delete data.
    holds_data: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    def desired(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def read(self, ctx: Context) -> Observed | None:
        raise NotImplementedError

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        raise NotImplementedError

    def delete(self, ctx: Context) -> None:
        raise NotImplementedError


def diff(desired: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The fields whose desired value differs from the current one (compared as canonical JSON)."""
    return sorted(k for k, v in desired.items() if _canonical(v) != _canonical(current.get(k)))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def plan(ctx: Context, resources: Iterable[Resource]) -> list[Change]:
    """What :func:`apply` would do, with read calls only."""
    ctx.planning = True
    return [_compare(ctx, resource)[0] for resource in resources]


def _compare(ctx: Context, resource: Resource) -> tuple[Change, Observed | None, dict[str, Any]]:
    """Read a resource (keeping its outputs for the resources after it) and what it should change to
    match its desired state: the change, what was observed, what is wanted."""
    observed = resource.read(ctx)
    if observed is not None:
        ctx.outputs[resource.key] = observed.outputs
    want = resource.desired(ctx)
    if observed is None:
        return Change("create", resource.kind, resource.name), None, want
    fields = diff(want, observed.state)
    return Change("update" if fields else "keep", resource.kind, resource.name, tuple(fields)), observed, want


def apply(ctx: Context, resources: Iterable[Resource], progress: Progress = print) -> list[Change]:
    """Create or update each resource in order until it matches its desired state."""
    ctx.planning = False
    changes = []
    for resource in resources:
        change, observed, want = _compare(ctx, resource)
        progress(str(change))
        if observed is None:
            resource.create(ctx, want)
        elif change.fields:
            resource.update(ctx, want, observed.state, list(change.fields))
        if change.action != "keep":
            after = resource.read(ctx)
            if after is None:
                raise RuntimeError(f"{resource.key} still absent after {change.action}")
            ctx.outputs[resource.key] = after.outputs
        changes.append(change)
    return changes


def destroy(
    ctx: Context, resources: Iterable[Resource], delete_data: bool = False, progress: Progress = print
) -> list[Change]:
    """Delete what exists, last declared first; resources holding data only with ``delete_data``."""
    ordered = list(resources)
    ctx.planning = True  # a dependency already gone reads as unknown, and its dependents as absent
    for resource in ordered:  # outputs first: deleting some resources needs another's id
        observed = resource.read(ctx)
        if observed is not None:
            ctx.outputs[resource.key] = observed.outputs
    ctx.planning = False
    changes = []
    for resource in reversed(ordered):
        if resource.key not in ctx.outputs:
            continue
        if resource.holds_data and not delete_data:
            change = Change("retain", resource.kind, resource.name, ("holds data: --delete-data to remove",))
            progress(str(change))
        else:
            change = Change("delete", resource.kind, resource.name)
            progress(str(change))
            resource.delete(ctx)
        changes.append(change)
    return changes
