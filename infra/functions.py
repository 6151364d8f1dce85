"""The Lambda functions of a stage and the least privilege each one gets: one role per function.

To add a function: write its handler under ``functions/``, then add a :class:`FunctionSpec` to
:data:`FUNCTIONS` with the statements it needs, each naming exact actions on exact resources
(``tests/infra/test_least_privilege.py`` fails on any ``*`` that is not on its short allowlist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.consent.keys import secret_name
from chalicelib.naming import master_secret_name, resource_name
from infra.core import Context
from infra.resources.parameters import SecureParameter, parameter_arn

# DynamoDB action sets, narrowest first. PynamoDB reads a table's description before its first call.
GET = ("dynamodb:GetItem", "dynamodb:DescribeTable")
READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable")
TRANSACT_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable")
WRITE = (*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


@dataclass(frozen=True)
class Names:
    """The ARNs of one stage, for policies: built from names, so a plan can show them before they exist."""

    ctx: Context
    stage: str
    bucket: str

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.ctx.partition}:s3:::{self.bucket}"

    def objects(self, prefix: str) -> str:
        return f"{self.bucket_arn}/{prefix}*"

    def table(self, suffix: str) -> str:
        return self.ctx.arn("dynamodb", f"table/{resource_name(suffix, self.stage)}")

    def table_indexes(self, suffix: str) -> str:
        return self.table(suffix) + "/index/*"

    def queue(self, short: str) -> str:
        return self.ctx.arn("sqs", resource_name(short, self.stage))

    def log_streams(self, function: str) -> str:
        return self.ctx.arn("logs", f"log-group:/aws/lambda/{function}:*")


def allow(actions: tuple[str, ...] | list[str], resources: list[str], sid: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": sorted(set(resources))}


#: The only actions that address a table's indexes (``table/NAME/index/INDEX``).
INDEX_ACTIONS = frozenset({"dynamodb:Query", "dynamodb:Scan"})


def _has_indexes(suffix: str) -> bool:
    from chalicelib.models import ALL_MODELS

    model = next((m for m in ALL_MODELS if m.Meta.suffix == suffix), None)
    if model is None:
        return False
    schema = model._get_schema()
    return bool(schema.get("global_secondary_indexes") or schema.get("local_secondary_indexes"))


def tables(names: Names, access: dict[str, tuple[str, ...]], sid: str = "Tables") -> list[dict[str, Any]]:
    """One statement per distinct action set, on the named tables (by model suffix); their indexes only
    for Query/Scan and only when the model declares indexes."""
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for suffix, actions in access.items():
        wanted = tuple(sorted(set(actions)))
        by_actions.setdefault(wanted, []).append(names.table(suffix))
        on_indexes = tuple(sorted(INDEX_ACTIONS & set(actions)))
        if on_indexes and _has_indexes(suffix):
            by_actions.setdefault(on_indexes, []).append(names.table_indexes(suffix))
    return [allow(actions, arns, f"{sid}{i}") for i, (actions, arns) in enumerate(sorted(by_actions.items()))]


def runtime_statements(names: Names, function: str) -> list[dict[str, Any]]:
    """What every function needs to run: its own log streams and X-Ray traces (Powertools Tracer)."""
    return [
        allow(("logs:CreateLogStream", "logs:PutLogEvents"), [names.log_streams(function)], "OwnLogs"),
        # X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permission: "*" is the only form.
        allow(("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ["*"], "Traces"),
    ]


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its handler, its permissions (beyond logs and traces) and what triggers it."""

    name: str  # deployed as wifivip-{stage}-{name}
    handler: str
    description: str
    permissions: Callable[[Names], list[dict[str, Any]]]
    memory_mb: int = 256
    timeout_s: int = 60
    #: SQS queue (short name) feeding it through an event source mapping.
    sqs_queue: str | None = None
    #: EventBridge schedules: (rule short name, expression in UTC, event payload or None),
    #: e.g. ("rollup-recent", "rate(5 minutes)", {"days": 2}).
    schedules: tuple[tuple[str, str, dict[str, Any] | None], ...] = ()
    environment: dict[str, str] = field(default_factory=dict)


def ingest_permissions(n: Names) -> list[dict[str, Any]]:
    """Read raw batches, move bad ones to quarantine, count into the KPI tables in one transaction; keep
    consumer pseudonyms only while allowlisted and rewrite counted batches without them (no old version left);
    keep the heartbeat a batch carries (schema 2) in the sensor-health table; heartbeat objects come in the
    same queue (the heartbeat service, run by this function)."""
    return [
        allow(("s3:GetObject", "s3:DeleteObject"), [n.objects("raw/")], "RawBatches"),
        allow(("s3:GetObject",), [n.objects("heartbeat/")], "Heartbeats"),
        allow(("s3:PutObject", "s3:DeleteObjectVersion"), [n.objects("raw/")], "RedactCountedBatches"),
        allow(("s3:PutObject",), [n.objects("quarantine/")], "Quarantine"),
        {
            "Sid": "ListBatchVersions",
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["raw/*"]}},
        },
        allow(
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
            [n.queue("ingest")],
            "IngestQueue",
        ),
        *tables(
            n,
            {
                "sensors": (*GET, "dynamodb:Scan"),  # Scan: campaigns' sensor -> shop map (consumer visits)
                "consumer-visits": ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DescribeTable"),
                "kpi": (*TRANSACT_WRITE, "dynamodb:GetItem"),
                "device-state": (*TRANSACT_WRITE, "dynamodb:GetItem"),
                "batch-markers": TRANSACT_WRITE,
                "sensor-health": ("dynamodb:PutItem", "dynamodb:DescribeTable"),  # heartbeats and live figures
                "allowlist-entries": (*GET, "dynamodb:Query"),  # the consumer index, then the entry itself
            },
        ),
    ]


INGEST = FunctionSpec(
    name="ingest",
    handler="functions.ingest.handler.lambda_handler",
    description="S3 batches via SQS -> KPI counters, exactly once; bad batches quarantined",
    permissions=ingest_permissions,
    memory_mb=512,
    timeout_s=60,
    sqs_queue="ingest",
)


def rollup_permissions(n: Names) -> list[dict[str, Any]]:
    """Read the registry, the day items and the consent panel; write the rolled-up items."""
    return tables(
        n,
        {
            "sensors": ("dynamodb:Scan", "dynamodb:DescribeTable"),
            "kpi": ("dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                    "dynamodb:DescribeTable"),
            "device-state": ("dynamodb:Query", "dynamodb:DescribeTable"),
        },
    )  # fmt: skip


ROLLUP = FunctionSpec(
    name="rollup",
    handler="functions.rollup.handler.lambda_handler",
    description="Rolls sensor days up to shops, streets, zones, the city; weeks and months",
    permissions=rollup_permissions,
    memory_mb=512,
    timeout_s=300,
    schedules=(
        # today and yesterday's day items, fresh on the dashboard; their weeks and months hourly (the bill)
        ("rollup-recent", "rate(5 minutes)", {"days": 2, "periods": False}),
        ("rollup-periods", "rate(1 hour)", {"days": 2}),
        ("rollup-nightly", "cron(30 2 * * ? *)", {"days": 8}),  # late batches of the past week
    ),
)


def heartbeat_permissions(n: Names) -> list[dict[str, Any]]:
    """Count silent sensors for the alarm (heartbeat objects reach the sensor-health table through the
    ingest queue and function, see :func:`ingest_permissions`)."""
    return [
        *tables(
            n,
            {
                "sensors": ("dynamodb:Scan", "dynamodb:DescribeTable"),
                "sensor-health": ("dynamodb:Scan", "dynamodb:DescribeTable"),
            },
        ),
    ]


HEARTBEAT = FunctionSpec(
    name="heartbeat",
    handler="functions.heartbeat.handler.lambda_handler",
    description="Silent sensors counted for the alarm (heartbeat objects: through the ingest queue)",
    permissions=heartbeat_permissions,
    memory_mb=256,
    timeout_s=60,
    schedules=(("silent-sensors", "rate(5 minutes)", {"check": "silent"}),),
)


def privacy_permissions(n: Names) -> list[dict[str, Any]]:
    """Read the master secret; publish, read, list and destroy (every version of) the day keys."""
    return [
        allow(
            ("ssm:GetParameter",),
            [str(n.ctx.ref(f"{SecureParameter.kind}:{master_secret_name(n.stage)}", "arn"))],
            "MasterSecret",
        ),
        allow(("s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"), [n.objects("keys/")], "DayKeys"),
        {
            "Sid": "ListDayKeyVersions",
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["keys/*"]}},
        },
    ]


PRIVACY = FunctionSpec(
    name="privacy",
    handler="functions.privacy.handler.lambda_handler",
    description="Day pseudonym keys: today's and tomorrow's published (HKDF of the master), older destroyed",
    permissions=privacy_permissions,
    memory_mb=256,
    timeout_s=60,
    schedules=(("rotate-keys", "rate(1 hour)", None),),
)


def retention_permissions(n: Names) -> list[dict[str, Any]]:
    """Find and delete expired per-device items and every version of raw and quarantined batches of ended
    key epochs; nothing else."""
    return [
        *tables(n, {"device-state": ("dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:DescribeTable")}),
        allow(("s3:DeleteObjectVersion",), [n.objects("raw/"), n.objects("quarantine/")], "EndedEpochBatches"),
        {
            "Sid": "ListBatchVersions",
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["raw/*", "quarantine/*"]}},
        },
    ]


RETENTION = FunctionSpec(
    name="retention",
    handler="functions.retention.handler.lambda_handler",
    description="Deletes per-device items and raw batches within the hour of their expiry (TTL alone may take days)",
    permissions=retention_permissions,
    memory_mb=256,
    timeout_s=300,
    schedules=(("retention-hourly", "rate(1 hour)", None),),
)


def offers_permissions(n: Names) -> list[dict[str, Any]]:
    """Read presence objects; decide and record offers; hand them to SES and SNS. Consent is read, and
    withdrawn on complaints and STOP replies, through the opt-in's own code: its tables and keys."""
    from infra.optin import sender_identity

    return [
        allow(
            ("s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"), [n.objects("presence/")], "PresenceEvents"
        ),
        {
            "Sid": "ListPresenceVersions",  # to delete every version of a decided event (erasure)
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["presence/*"]}},
        },
        allow(
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
            [n.queue("offers")],
            "OffersQueue",
        ),
        allow(("ses:SendRawEmail",), [n.ctx.arn("ses", f"identity/{sender_identity()}")], "SendOffers"),
        # SMS to a phone number has no resource ARN: "*" is the only form AWS accepts for it.
        allow(("sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"), ["*"], "SmsOffers"),
        *tables(
            n,
            {
                "sensors": ("dynamodb:Scan", "dynamodb:DescribeTable"),
                "campaigns": (*READ, "dynamodb:PutItem"),
                "offer-sends": (*WRITE, "dynamodb:ConditionCheckItem"),
                "offer-counters": (*TRANSACT_WRITE, "dynamodb:GetItem"),
                "consumer-visits": READ,
            },
        ),
        *_consent_tables(n),
        allow(("ssm:GetParameter",), [_secret(n, "consent-key"), _secret(n, "optin-secret")], "Keys"),
        allow(("lambda:InvokeFunction",), [n.ctx.arn("lambda", f"function:{resource_name('allowlist', n.stage)}")],
              "RepublishAllowlist"),
    ]  # fmt: skip


OFFERS = FunctionSpec(
    name="offers",
    handler="functions.offers.handler.lambda_handler",
    description="Presence events, SES feedback, SMS STOP -> offers decided once and sent (SES, SNS)",
    permissions=offers_permissions,
    memory_mb=512,
    timeout_s=30,
    sqs_queue="offers",
    environment={"WIFIVIP_ALLOWLIST_FUNCTION": "allowlist"},
)

OFFERS_SCHEDULE = FunctionSpec(
    name="offers-schedule",
    handler="functions.offers.handler.scheduled_handler",
    description="Scheduled campaign sends that are due, to past visitors, outside quiet hours",
    permissions=offers_permissions,
    memory_mb=512,
    timeout_s=300,
    schedules=(("offers-due", "rate(5 minutes)", None),),
    environment={"WIFIVIP_ALLOWLIST_FUNCTION": "allowlist"},
)


# ----- consumer opt-in (issue 6): the captive portal, the allowlist publisher, the daily expiry -----

# What each table of the opt-in needs, beyond DescribeTable; transactions use the item actions.
_CONSUMERS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
_LEDGER = (
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:DescribeTable",
    "dynamodb:DeleteItem",
)  # DeleteItem: erasure only (ConsentEvent.erase_subject), see docs/privacy-optin.md
_ENTRIES = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:DescribeTable")


def _secret(n: Names, what: str) -> str:
    from infra.optin import secret_ref

    return str(n.ctx.ref(secret_ref(n.stage, what), "arn"))


def _consent_tables(n: Names, scan: bool = False) -> list[dict[str, Any]]:
    extra = ("dynamodb:Scan",) if scan else ()
    return tables(
        n,
        {
            "consumers": (*_CONSUMERS, *extra),
            "consent-ledger": _LEDGER,
            "allowlist-entries": (*_ENTRIES, *extra),
            "captive-controllers": GET,
            "portal-grants": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DescribeTable"),
            "rate-limits": ("dynamodb:UpdateItem", "dynamodb:DescribeTable"),
            # the consent panel's visitor sets: found (Scan with a filter) and emptied of a consumer on erasure
            "device-state": ("dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:DescribeTable"),
            # the campaigns' per-consumer items: exported on access, deleted on erasure
            "offer-sends": ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"),
            "consumer-visits": ("dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"),
            "offer-counters": ("dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:DescribeTable"),
        },
        sid="Consent",
    )


def optin_permissions(n: Names) -> list[dict[str, Any]]:
    """Consent tables, the archive of consent texts, its two secrets, SES/SNS, and the publisher to call."""
    from infra.optin import sender_identity

    return [
        *_consent_tables(n),
        allow(("s3:GetObject", "s3:PutObject"), [n.objects("consent-texts/")], "ConsentTexts"),
        allow(("ssm:GetParameter",), [_secret(n, "consent-key"), _secret(n, "optin-secret")], "Keys"),
        # UniFi controllers' API access, one secret per controller registered at run time
        allow(("ssm:GetParameter",),
              [parameter_arn(n.ctx, secret_name("controllers/*", n.stage))], "ControllerApi"),
        allow(("ses:SendEmail",), [n.ctx.arn("ses", f"identity/{sender_identity()}")], "Email"),
        # SMS straight to a phone number: SNS has no resource ARN for it.
        allow(("sns:Publish",), ["*"], "Sms"),
        allow(("lambda:InvokeFunction",), [n.ctx.arn("lambda", f"function:{resource_name('allowlist', n.stage)}")],
              "RepublishAllowlist"),
    ]  # fmt: skip


OPTIN = FunctionSpec(
    name="optin",
    handler="functions.optin.handler.lambda_handler",
    description="Captive WiFi portal, RFC 8908, consent ledger and the consumer's rights, behind API Gateway",
    permissions=optin_permissions,
    memory_mb=512,
    timeout_s=30,
    environment={"WIFIVIP_ALLOWLIST_FUNCTION": "allowlist"},
)


def allowlist_permissions(n: Names) -> list[dict[str, Any]]:
    """Read the consented devices, sign with its key, write the one list object (and drop its old versions)."""
    latest = f"{n.bucket_arn}/allowlist/latest.json"
    return [
        *tables(
            n,
            {
                "allowlist-entries": ("dynamodb:Scan", "dynamodb:DescribeTable"),
                "allowlist-state": ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DescribeTable"),
            },
        ),
        allow(("s3:PutObject", "s3:DeleteObjectVersion"), [latest], "List"),
        {
            "Sid": "ListListVersions",
            "Effect": "Allow",
            "Action": ["s3:ListBucketVersions"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["allowlist/*"]}},
        },
        allow(("ssm:GetParameter",), [_secret(n, "consent-key"), _secret(n, "allowlist-signing-key")], "Keys"),
    ]


ALLOWLIST = FunctionSpec(
    name="allowlist",
    handler="functions.allowlist.handler.lambda_handler",
    description="Publishes the sensors' signed allowlist of consented devices (every 5 min and on withdrawal)",
    permissions=allowlist_permissions,
    memory_mb=256,
    timeout_s=60,
    schedules=(("allowlist-publish", "rate(5 minutes)", None),),
)


def expiry_permissions(n: Names) -> list[dict[str, Any]]:
    """Scan consumers and devices, end lapsed consents (ledger, erasure) and ask for a republish."""
    return [
        *_consent_tables(n, scan=True),
        allow(("ssm:GetParameter",), [_secret(n, "consent-key"), _secret(n, "optin-secret")], "Keys"),
        allow(("lambda:InvokeFunction",), [n.ctx.arn("lambda", f"function:{resource_name('allowlist', n.stage)}")],
              "RepublishAllowlist"),
    ]  # fmt: skip


OPTIN_EXPIRY = FunctionSpec(
    name="optin-expiry",
    handler="functions.optin.handler.expiry_handler",
    description="Daily: ends unconfirmed contacts (7 days) and audience consents older than 13 months",
    permissions=expiry_permissions,
    memory_mb=256,
    timeout_s=300,
    schedules=(("optin-expiry", "cron(15 3 * * ? *)", None),),
    environment={"WIFIVIP_ALLOWLIST_FUNCTION": "allowlist"},
)

#: Every function of the stage but the portal (whose code is ``chalice package`` output, see below)
#: and the opt-in function (behind its own API, see :func:`infra.stack.stage_resources`).
FUNCTIONS: tuple[FunctionSpec, ...] = (
    INGEST,
    ROLLUP,
    HEARTBEAT,
    PRIVACY,
    RETENTION,
    OFFERS,
    OFFERS_SCHEDULE,
    ALLOWLIST,
    OPTIN_EXPIRY,
)


PORTAL_COGNITO = (
    "cognito-idp:InitiateAuth",
    "cognito-idp:RespondToAuthChallenge",
    "cognito-idp:ForgotPassword",
    "cognito-idp:ConfirmForgotPassword",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:AdminDeleteUserAttributes",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:ListUsers",
    "cognito-idp:ListUsersInGroup",
)


def portal_permissions(n: Names) -> list[dict[str, Any]]:
    """The portal reads the KPIs and the registries, manages the directory and its own user pool, and
    lists (never reads) quarantined batches for the report; it never touches raw batches or the keys."""
    pool_arn = str(n.ctx.ref(f"cognito-user-pool:{resource_name('portal-users', n.stage)}", "arn"))
    return [
        *tables(
            n,
            {
                "sensors": WRITE,
                "kpi": READ,
                "sensor-health": READ,
                "shops": WRITE,
                "merchants": WRITE,
                "unions": WRITE,
                "portal-activity": WRITE,
                "signin-attempts": WRITE,
                "campaigns": READ,  # adoption: campaigns run per month
                "consent-ledger": ("dynamodb:Scan", "dynamodb:DescribeTable"),  # adoption: consumers opted in
            },
        ),
        allow(PORTAL_COGNITO, [pool_arn], "UserPool"),
        {
            "Sid": "ListQuarantine",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [n.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": ["quarantine/*"]}},
        },
    ]


PORTAL = FunctionSpec(
    name="portal",
    handler="app.app",  # replaced by the handler ``chalice package`` declares
    description="Merchant and admin portal (Chalice), behind API Gateway",
    permissions=portal_permissions,
    memory_mb=512,
    timeout_s=30,
)
