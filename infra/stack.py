"""The wifivip stage, declared: every resource it needs, in dependency order, as desired-state specs.

Add a resource by appending it to :func:`stage_resources` (the service modules are under
``infra/resources/``); ``deploy`` creates or updates, ``plan`` shows the difference, ``destroy``
removes. See :mod:`infra.core` for the engine.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3

from chalicelib.models import ALL_MODELS
from chalicelib.naming import bucket_name, master_secret_name, resource_name
from infra import core, packaging
from infra.core import Change, Context, Resource
from infra.functions import FUNCTIONS, OPTIN, PORTAL, FunctionSpec, Names, runtime_statements
from infra.optin import optin_resources, signing_secret_key
from infra.resources import (
    apigateway,
    cloudwatch,
    cognito,
    cognito_admin,
    dynamodb,
    events,
    iam,
    lambda_,
    logs,
    parameters,
    s3,
    sns,
    sqs,
)

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"
HEARTBEAT_PREFIX = "heartbeat/"
KEYS_PREFIX = "keys/"  # the day keys the key job publishes (today's and tomorrow's)
ALLOWLIST_PREFIX = "allowlist/"  # the signed consent allowlist
QUEUE_VISIBILITY_SECONDS = 360  # AWS's advice: at least 6x the ingest function's timeout (60 s)
PRESENCE_PREFIX = "presence/"  # consented consumers seen by a sensor, for offers (wifivip_edge.presence)
PRESENCE_RETENTION_DAYS = 1
OFFERS_VISIBILITY_SECONDS = 180  # 6x the offers function's timeout (30 s)
MAX_RECEIVES_BEFORE_DLQ = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

#: How long raw batches stay in S3 per privacy mode (CNIL: per-device data gone within 24 h).
RAW_RETENTION_DAYS = {"anonymous": 7, "pseudonymous-24h": 1, "consent": 1}
QUARANTINE_RETENTION_DAYS = 30  # anonymous mode; elsewhere quarantined batches hold pseudonyms: as raw ones
HEARTBEAT_RETENTION_DAYS = 30
DEFAULT_PRIVACY_MODE = "pseudonymous-24h"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackTarget:
    """Where to deploy: a stage name, a region and, for the emulator, an endpoint URL."""

    stage: str
    region: str = "eu-west-3"
    endpoint_url: str | None = None
    privacy_mode: str = DEFAULT_PRIVACY_MODE
    #: Receives the alarms (and is the portal's first admin); AWS mails a confirmation link.
    admin_email: str | None = None
    #: Ship the third-party dependencies as an arm64 layer (pip download, ~5 s once, cached under build/).
    #: Default: on AWS yes; on the emulator no, since it runs no function code anyway.
    package_dependencies: bool | None = None

    @property
    def with_dependencies(self) -> bool:
        return self.endpoint_url is None if self.package_dependencies is None else self.package_dependencies

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def context(self, planning: bool = False) -> Context:
        return Context(self.region, self.endpoint_url, self.stage, planning=planning)


@dataclass(frozen=True)
class StackOutputs:
    """What the other parts need to find the deployed resources."""

    stage: str
    region: str
    endpoint_url: str | None
    account_id: str
    bucket: str
    queue_url: str
    dlq_url: str
    tables: dict[str, str]
    portal_url: str = ""
    alarm_topic_arn: str = ""
    master_secret_arn: str = ""
    functions: dict[str, str] = field(default_factory=dict)
    #: Empty: heartbeat objects notify the ingest queue (``queue_url``); kept for callers of older stacks.
    heartbeat_queue_url: str = ""
    #: The offers function's queue (presence events from S3; SES feedback and SMS replies via SNS).
    offers_queue_url: str = ""
    #: The portal's Cognito user pool (infra/resources/cognito.py).
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    jwks_url: str = ""
    #: The captive portal's API (opt-in function) and the allowlist's Ed25519 public key (base64): the
    #: trust anchor each sensor's config must carry ([allowlist] public_key).
    optin_url: str = ""
    allowlist_public_key: str = ""
    #: The changes deploy made (empty lines for none): ``+ create s3-bucket ...``.
    changes: list[str] = field(default_factory=list, compare=False)
    #: What the operator must see once (the first admin's temporary password, at its creation).
    notes: list[str] = field(default_factory=list, compare=False)
    #: The first admin's sign-in (e-mail), when ``admin_email`` was given and the portal's pool exists.
    first_admin: str = field(default="", compare=False)
    #: Mutating AWS API calls deploy made (0 on a second run: deploy is idempotent).
    mutating_calls: int = field(default=0, compare=False)

    def environment(self) -> dict[str, str]:
        """The environment variables the functions and the portal read."""
        env = {
            "WIFIVIP_STAGE": self.stage,
            "WIFIVIP_BUCKET": self.bucket,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.user_pool_id:
            env.update(portal_auth_environment(self.user_pool_id, self.user_pool_client_id, self.jwks_url))
        return env

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _queue_policy(bucket: str) -> Callable[[Context, str], dict[str, Any]]:
    """Only the data bucket of this account may send to the ingest queue."""

    def build(ctx: Context, queue_arn: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowS3DataBucket",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                        "StringEquals": {"aws:SourceAccount": ctx.account},
                    },
                }
            ],
        }

    return build


def bucket_lifecycle(privacy_mode: str) -> list[dict[str, Any]]:
    """Raw batches live per the privacy mode; quarantine 30 days in the anonymous mode, else as long as raw
    batches (a quarantined batch holds the same pseudonyms; its reason stays in the logs and the
    metric); old versions never outlive the current."""
    raw_days = RAW_RETENTION_DAYS[privacy_mode]
    quarantine_days = QUARANTINE_RETENTION_DAYS if privacy_mode == "anonymous" else raw_days
    return [
        s3.lifecycle_rule("raw-batches", RAW_PREFIX, expire_days=raw_days, noncurrent_days=1),
        s3.lifecycle_rule("quarantine", QUARANTINE_PREFIX, expire_days=quarantine_days, noncurrent_days=1),
        s3.lifecycle_rule("heartbeats", HEARTBEAT_PREFIX, expire_days=HEARTBEAT_RETENTION_DAYS, noncurrent_days=1),
        # The key job deletes a day key once its day is over; this is the safety net, and no old
        # version of a key (or of an allowlist naming an erased consumer) outlives a day.
        s3.lifecycle_rule("day-keys", KEYS_PREFIX, expire_days=2, noncurrent_days=1),
        s3.lifecycle_rule("allowlist-versions", ALLOWLIST_PREFIX, noncurrent_days=1),
        s3.lifecycle_rule("presence", PRESENCE_PREFIX, expire_days=PRESENCE_RETENTION_DAYS, noncurrent_days=1),
        {
            **s3.lifecycle_rule("old-versions", "", noncurrent_days=30),
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    ]


def stage_resources(ctx: Context, target: StackTarget) -> list[Resource]:
    """Every resource of the stage, dependencies first. The one place the stack is declared."""
    stage = target.stage
    bucket = bucket_name(ctx.account, target.region, stage)
    dlq = sqs.Queue(resource_name("ingest-dlq", stage), retention_seconds=DLQ_RETENTION_SECONDS)
    queue = sqs.Queue(
        resource_name("ingest", stage),
        visibility_seconds=QUEUE_VISIBILITY_SECONDS,
        dead_letter=dlq.key,
        max_receives=MAX_RECEIVES_BEFORE_DLQ,
        policy=_queue_policy(bucket),
    )
    offers_dlq = sqs.Queue(resource_name("offers-dlq", stage), retention_seconds=DLQ_RETENTION_SECONDS)
    offers_queue = sqs.Queue(
        resource_name("offers", stage),
        visibility_seconds=OFFERS_VISIBILITY_SECONDS,
        dead_letter=offers_dlq.key,
        max_receives=MAX_RECEIVES_BEFORE_DLQ,
        policy=_queue_policy(bucket),
    )
    data_bucket = s3.Bucket(
        bucket,
        lifecycle=bucket_lifecycle(target.privacy_mode),
        queue_notifications=[
            {"Id": "raw-batches", "queue": queue.key, "prefix": RAW_PREFIX, "events": ["s3:ObjectCreated:*"]},
            # heartbeats and live figures share the ingest queue: a queue of their own cost its mapping's
            # idle long polls all month (~0.26 USD); the ingest handler passes them to the heartbeat service
            {"Id": "heartbeats", "queue": queue.key, "prefix": HEARTBEAT_PREFIX, "events": ["s3:ObjectCreated:*"]},
            {"Id": "presence", "queue": offers_queue.key, "prefix": PRESENCE_PREFIX, "events": ["s3:ObjectCreated:*"]},
        ],
    )
    tables: list[Resource] = [dynamodb.Table(resource_name(model.Meta.suffix, stage), model) for model in ALL_MODELS]
    # Alarm messages hold no personal data (an alarm's name, a metric, a threshold): SNS's at-rest
    # encryption would need a customer key (CloudWatch cannot publish under aws/sns) at 1 USD a month.
    alarm_topic = sns.Topic(resource_name("alarms", stage), target.admin_email)
    master = parameters.SecureParameter(
        master_secret_name(stage),
        "wifivip: master secret of the daily pseudonym keys (HKDF)",
        lambda: secrets.token_hex(32),  # 32 random bytes, written as the derivation expects (64 hex)
    )
    queues = [dlq, queue, offers_dlq, offers_queue]
    out: list[Resource] = [*queues, data_bucket, *tables, alarm_topic, master]
    out.extend(optin_resources(stage, bucket))  # consent secrets, sensors' key copy, SES sender
    out.append(sns.SmsSettings(monthly_spend_limit_usd=SMS_MONTHLY_LIMIT_USD, sender_id=SMS_SENDER_ID))

    names = Names(ctx, stage, bucket)
    layers: tuple[str, ...] = ()
    if target.with_dependencies:
        layer = lambda_.Layer(resource_name("dependencies", stage), packaging.dependency_layer)
        out.append(layer)
        layers = (layer.key,)
    environment = _function_environment(target, bucket)
    for spec in FUNCTIONS:
        out.extend(_function_resources(ctx, spec, names, layers, environment, packaging.source_zip, spec.handler))
    user_pool = cognito.PortalUserPool(resource_name("portal-users", stage), resource_name("portal", stage))
    out.append(user_pool)

    def portal_environment(c: Context) -> dict[str, str]:
        ref = lambda output: str(c.ref(user_pool.key, output))  # noqa: E731
        return {**environment(c), **portal_auth_environment(ref("id"), ref("client_id"), ref("jwks_url"))}

    portal = packaging.portal_package
    portal_function = _function_resources(
        ctx, PORTAL, names, layers, portal_environment, lambda: portal().artifact, lambda: portal().handler
    )
    api = apigateway.ProxyApi(resource_name("portal", stage), portal_function[-1].key, lambda: portal().binary_types)
    out.extend([*portal_function, api])
    out.append(
        lambda_.InvokePermission(
            portal_function[-1].key, "api-gateway", "apigateway.amazonaws.com", lambda c: str(c.ref(api.key, "arn"))
        )
    )
    out.extend(_optin_api(ctx, names, layers, environment))
    out.extend(_alarms(stage, dlq, alarm_topic.key))
    pools = [r for r in out if r.kind == "cognito-user-pool"]  # the portal's pool, when declared
    if target.admin_email and pools:
        out.append(cognito_admin.FirstAdmin(target.admin_email, pools[0].key))
    return out


def portal_auth_environment(pool_id: str, client_id: str, jwks_url: str) -> dict[str, str]:
    """What the portal's token check reads (chalicelib/portal/settings.py)."""
    return {"WIFIVIP_USER_POOL_ID": pool_id, "WIFIVIP_USER_POOL_CLIENT_ID": client_id, "WIFIVIP_JWKS_URL": jwks_url}


def _optin_api(
    ctx: Context, names: Names, layers: tuple[str, ...], environment: Callable[[Context], dict[str, str]]
) -> list[Resource]:
    """The captive portal / opt-in function behind its own REST API (its URL is the portal controllers use)."""
    function = _function_resources(ctx, OPTIN, names, layers, environment, packaging.source_zip, OPTIN.handler)
    api = apigateway.ProxyApi(resource_name("optin", names.stage), function[-1].key, lambda: ())
    permission = lambda_.InvokePermission(
        function[-1].key, "api-gateway", "apigateway.amazonaws.com", lambda c: str(c.ref(api.key, "arn"))
    )
    return [*function, api, permission]


SMS_MONTHLY_LIMIT_USD = 20
SMS_SENDER_ID = "WifiVIP"
LOG_RETENTION_DAYS = 30


def _function_environment(target: StackTarget, bucket: str) -> Callable[[Context], dict[str, str]]:
    def build(_ctx: Context) -> dict[str, str]:
        return {
            "WIFIVIP_STAGE": target.stage,
            "WIFIVIP_BUCKET": bucket,
            "WIFIVIP_PRIVACY_MODE": target.privacy_mode,
            "POWERTOOLS_SERVICE_NAME": "wifivip",
            "POWERTOOLS_METRICS_NAMESPACE": "wifivip",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    return build


def _function_resources(
    ctx: Context,
    spec: FunctionSpec,
    names: Names,
    layers: tuple[str, ...],
    environment: Callable[[Context], dict[str, str]],
    code: Callable[[], packaging.Artifact],
    handler: str | Callable[[], str],
) -> list[Resource]:
    """Role, log group and function; then its triggers (event source, schedules). Function is last but
    triggers: callers find it as the last element when there are none."""
    name = resource_name(spec.name, names.stage)

    def policy(c: Context) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": runtime_statements(names, name) + spec.permissions(names)}

    role = iam.Role(f"{name}-fn", "lambda.amazonaws.com", policy, spec.description)
    group = logs.LogGroup(f"/aws/lambda/{name}", LOG_RETENTION_DAYS)
    extra_env = dict(spec.environment)
    function = lambda_.Function(
        name,
        handler,
        role.key,
        code,
        lambda c: {**environment(c), **extra_env},
        layers=layers,
        memory_mb=spec.memory_mb,
        timeout_s=spec.timeout_s,
        description=spec.description,
    )
    out: list[Resource] = [role, group, function]
    if spec.sqs_queue:
        queue_key = f"sqs-queue:{resource_name(spec.sqs_queue, names.stage)}"
        out.append(lambda_.SqsSource(queue_key, function.key, enabled=ctx.endpoint_url is None))
    for short, expression, payload in spec.schedules:
        rule = events.Schedule(resource_name(short, names.stage), expression, function.key, payload)
        out.append(rule)
        out.append(lambda_.InvokePermission(function.key, f"schedule-{short}", "events.amazonaws.com", rule.arn))
    return out


def _alarms(stage: str, dlq: sqs.Queue, topic: str) -> list[Resource]:
    ingest = resource_name("ingest", stage)
    return [
        cloudwatch.Alarm(
            resource_name("dlq-not-empty", stage),
            "Batches failed ingest 5 times and wait in the dead-letter queue / lots en file d'erreur",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": dlq.name},
            topic,
            statistic="Maximum",
        ),
        cloudwatch.Alarm(
            resource_name("ingest-errors", stage),
            "The ingest function failed / la fonction d'ingestion a échoué",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": ingest},
            topic,
        ),
        cloudwatch.Alarm(
            resource_name("sensors-silent", stage),
            "At least one active sensor sent no heartbeat for 15 minutes / capteur silencieux",
            "wifivip",
            "SilentSensors",
            {"service": "wifivip"},
            topic,
            statistic="Maximum",
            period_s=900,
        ),
    ]


def _run(target: StackTarget, action: str, progress: Progress, **kwargs: Any) -> tuple[Context, list[Change]]:
    ctx = target.context(planning=action == "plan")
    resources = stage_resources(ctx, target)
    if action == "plan":
        return ctx, core.plan(ctx, resources)
    if action == "destroy":
        return ctx, core.destroy(ctx, resources, progress=progress, **kwargs)
    return ctx, core.apply(ctx, resources, progress=progress)


def deploy(target: StackTarget, progress: Progress = print) -> StackOutputs:
    """Create or update every resource of the stage; safe to run again (the second run changes nothing)."""
    ctx, changes = _run(target, "deploy", progress)
    return outputs_from(target, ctx, changes)


def plan(target: StackTarget) -> list[Change]:
    """What deploy would change, read-only."""
    return _run(target, "plan", print)[1]


def destroy(target: StackTarget, delete_data: bool = False, progress: Progress = print) -> list[Change]:
    """Remove everything deploy made; buckets, tables and keys holding data only with ``delete_data``."""
    return _run(target, "destroy", progress, delete_data=delete_data)[1]


def outputs_from(target: StackTarget, ctx: Context, changes: list[Change]) -> StackOutputs:
    o = ctx.outputs
    stage = target.stage
    pool = o.get(f"cognito-user-pool:{resource_name('portal-users', stage)}", {})
    tables = {m.__name__: resource_name(m.Meta.suffix, stage) for m in ALL_MODELS}
    return StackOutputs(
        stage=stage,
        region=target.region,
        endpoint_url=target.endpoint_url,
        account_id=ctx.account,
        bucket=bucket_name(ctx.account, target.region, stage),
        queue_url=o[f"sqs-queue:{resource_name('ingest', stage)}"]["url"],
        dlq_url=o[f"sqs-queue:{resource_name('ingest-dlq', stage)}"]["url"],
        tables=tables,
        portal_url=o.get(f"rest-api:{resource_name('portal', stage)}", {}).get("url", ""),
        alarm_topic_arn=o[f"sns-topic:{resource_name('alarms', stage)}"]["arn"],
        master_secret_arn=o[f"{parameters.SecureParameter.kind}:{master_secret_name(stage)}"]["arn"],
        user_pool_id=pool.get("id") or "",
        user_pool_client_id=pool.get("client_id") or "",
        jwks_url=pool.get("jwks_url") or "",
        functions={
            spec.name: o[f"lambda-function:{resource_name(spec.name, stage)}"]["arn"]
            for spec in (*FUNCTIONS, PORTAL, OPTIN)
        },
        offers_queue_url=o[f"sqs-queue:{resource_name('offers', stage)}"]["url"],
        optin_url=o.get(f"rest-api:{resource_name('optin', stage)}", {}).get("url", ""),
        allowlist_public_key=str(o.get(signing_secret_key(stage), {}).get("public_key", "")),
        changes=[str(c) for c in changes if c.action != "keep"],
        mutating_calls=len(ctx.log.mutating),
        notes=list(ctx.notes),
        first_admin=next((v.get("email", "") for k, v in o.items() if k.startswith("cognito-admin-user:")), ""),
    )
