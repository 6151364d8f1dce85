"""What the consumer opt-in adds to a stage, as resources of the deploy engine (:mod:`infra.core`).

Listed by :func:`optin_resources`, which :func:`infra.stack.stage_resources` appends after the data
bucket and the tables:

- SSM SecureString parameters (standard tier), each generated once and never rewritten by a redeploy:
  the consent key (shared with the sensors: it hashes MACs into allowlist entries), the opt-in root
  secret (contact lookups, grants, signed links), and the allowlist's Ed25519 signing key (its public
  half is an output: the trust anchor written into each sensor's config).
- S3 ``allowlist/consent-key.json``: the consent key as sensors fetch it (their policy reads ``allowlist/``).
- SES: the sender identity (an address here; verify a domain for production).

The SMS defaults are the engine's :class:`infra.resources.sns.SmsSettings`. The functions (opt-in
behind its own API Gateway, the allowlist publisher every 5 minutes, the daily expiry job) are
:data:`infra.functions.OPTIN`, ``ALLOWLIST`` and ``OPTIN_EXPIRY``.

``python -m infra.optin add-controller --id ID --venue NAME`` registers a WiFi controller and prints
the secret its redirect signer needs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from wifivip_edge.allowlist import CONSENT_KEY_OBJECT

from chalicelib.consent.keys import (
    CONSENT_KEY_SECRET,
    OPTIN_SECRET,
    SIGNING_KEY_SECRET,
    generate_consent_key,
    secret_name,
)
from chalicelib.consent.settings import OptinSettings
from chalicelib.parameters import read_secret
from infra.core import UNKNOWN, Context, Observed, Resource
from infra.resources.parameters import SecureParameter, check_size


def json_secret(
    name: str, description: str, generate: Callable[[], dict[str, str]], public: tuple[str, ...] = ()
) -> SecureParameter:
    """A secret parameter whose JSON value is generated here once; ``public`` fields of it become outputs."""
    return SecureParameter(name, description, lambda: json.dumps(generate()), public)


class SecretCopyObject(Resource):
    """An S3 object holding a secret parameter's value for the sensors (their credentials read only ``allowlist/``)."""

    kind: ClassVar[str] = "s3-object"

    def __init__(self, bucket: str, key: str, secret_name_: str) -> None:
        super().__init__(f"{bucket}/{key}")
        self.bucket, self.object_key, self.secret_name = bucket, key, secret_name_

    def _body(self, ctx: Context) -> bytes | None:
        try:
            value = json.loads(read_secret(ctx.client("ssm"), self.secret_name))
        except ClientError:  # absent (ParameterNotFound)
            return None
        return json.dumps(value, sort_keys=True).encode()

    def desired(self, ctx: Context) -> dict[str, Any]:
        body = self._body(ctx)
        return {"sha256": hashlib.sha256(body).hexdigest() if body is not None else UNKNOWN}

    def read(self, ctx: Context) -> Observed | None:
        try:
            body = ctx.client("s3").get_object(Bucket=self.bucket, Key=self.object_key)["Body"].read()
        except ClientError:
            return None
        return Observed({"sha256": hashlib.sha256(body).hexdigest()}, {"key": self.object_key})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        body = self._body(ctx)
        if body is None:
            raise RuntimeError(f"secret {self.secret_name} must exist before {self.key}")
        ctx.client("s3").put_object(Bucket=self.bucket, Key=self.object_key, Body=body, ContentType="application/json")

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self.create(ctx, desired)

    def delete(self, ctx: Context) -> None:
        ctx.client("s3").delete_object(Bucket=self.bucket, Key=self.object_key)


class SesIdentity(Resource):
    """The sender of confirmation emails: an address (verified by a link AWS mails) or a domain (DNS)."""

    kind: ClassVar[str] = "ses-identity"

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"type": "EmailAddress" if "@" in self.name else "Domain"}

    def read(self, ctx: Context) -> Observed | None:
        found = ctx.client("ses").get_identity_verification_attributes(Identities=[self.name])
        if self.name not in found.get("VerificationAttributes", {}):
            return None
        status = found["VerificationAttributes"][self.name].get("VerificationStatus")
        outputs = {"arn": ctx.arn("ses", f"identity/{self.name}"), "status": status}
        return Observed({"type": "EmailAddress" if "@" in self.name else "Domain"}, outputs)

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ses = ctx.client("ses")
        if desired["type"] == "EmailAddress":
            ses.verify_email_identity(EmailAddress=self.name)
        else:
            ses.verify_domain_identity(Domain=self.name)

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self.create(ctx, desired)

    def delete(self, ctx: Context) -> None:
        ctx.client("ses").delete_identity(Identity=self.name)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_consent_key() -> dict[str, str]:
    key_id, key = generate_consent_key()
    return {"key_id": key_id, "key": _b64(key)}


def new_root_secret() -> dict[str, str]:
    return {"key": _b64(secrets.token_bytes(32))}


def new_signing_key() -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"private_key": _b64(private), "public_key": _b64(public)}


def sender_identity() -> str:
    return parseaddr(OptinSettings.from_env().sender)[1]


def signing_secret_key(stage: str) -> str:
    """The ref key of the signing secret: its ``public_key`` output is the sensors' trust anchor."""
    return secret_ref(stage, SIGNING_KEY_SECRET)


def secret_ref(stage: str, what: str) -> str:
    return f"{SecureParameter.kind}:{secret_name(what, stage)}"


def optin_resources(stage: str, bucket: str) -> list[Resource]:
    """The opt-in's secrets, the sensors' copy of the consent key, and the SES sender."""
    consent = json_secret(
        secret_name(CONSENT_KEY_SECRET, stage),
        "wifivip: consent key (HMAC of MACs into allowlist entries; shared with sensors)",
        new_consent_key,
        public=("key_id",),
    )
    root = json_secret(
        secret_name(OPTIN_SECRET, stage), "wifivip: opt-in root secret (lookups, links)", new_root_secret
    )
    signing = json_secret(
        secret_name(SIGNING_KEY_SECRET, stage),
        "wifivip: Ed25519 key signing the sensors' allowlist",
        new_signing_key,
        public=("public_key",),
    )
    key_object = SecretCopyObject(bucket, CONSENT_KEY_OBJECT, consent.name)
    return [consent, root, signing, key_object, SesIdentity(sender_identity())]


def allowlist_public_key(target: Any) -> str:
    """The deployed stage's allowlist verification key (base64), for a sensor's config; "" before deploy."""
    try:
        secret = read_secret(target.client("ssm"), secret_name(SIGNING_KEY_SECRET, target.stage))
    except ClientError:
        return ""
    return str(json.loads(secret).get("public_key", ""))


def register_controller(
    controller_id: str,
    venue_name: str,
    vendor: str = "generic",
    shop_id: str | None = None,
    session_seconds: int = 4 * 3600,
    venue_info_url: str | None = None,
    secret: str | None = None,
    unifi: str | None = None,
) -> str:
    """Add (or replace) a WiFi controller allowed to send clients to the portal; return its secret (hex).

    ``unifi``: for a UniFi controller, the JSON of :class:`functions.optin.unifi.UnifiSettings` (its URL,
    site and the portal's account), stored as its own SecureString parameter."""
    from chalicelib.models.captive_controller import CaptiveController

    if unifi is not None:
        store_controller_credentials(controller_id, unifi)
    secret = secret or secrets.token_hex(32)
    CaptiveController(
        controller_id,
        secret=secret,
        vendor=vendor,
        shop_id=shop_id,
        venue_name=venue_name,
        venue_info_url=venue_info_url,
        session_seconds=session_seconds,
    ).save()
    return secret


def store_controller_credentials(controller_id: str, settings_json: str, stage: str | None = None) -> None:
    """Create or update ``/wifivip/{stage}/controllers/{id}`` (validated first: a typo fails here, not at a
    grant), a standard-tier SecureString like the stage's other secrets."""
    import boto3

    from functions.optin.unifi import UnifiSettings, controller_secret_name

    value = UnifiSettings.model_validate_json(settings_json).model_dump_json()
    name = controller_secret_name(controller_id, stage)
    boto3.client("ssm").put_parameter(
        Name=name,
        Value=check_size(name, value),
        Type="SecureString",
        Tier="Standard",
        Description=f"wifivip: UniFi API access of {controller_id}",
        Overwrite=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.optin")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-controller", help="register a WiFi controller and print its signing secret")
    add.add_argument("--id", required=True)
    add.add_argument("--venue", required=True, help="shop or venue name shown on the portal")
    add.add_argument("--vendor", default="generic", choices=["generic", "meraki", "unifi", "opennds", "nodogsplash"])
    add.add_argument("--shop", default=None)
    add.add_argument("--session-seconds", type=int, default=4 * 3600)
    add.add_argument(
        "--unifi-settings",
        default=None,
        help="UniFi: a JSON file {url, site, username, password[, unifi_os, ca_pem]} for the controller's API",
    )
    args = parser.parse_args(argv)
    unifi = Path(args.unifi_settings).read_text(encoding="utf-8") if args.unifi_settings else None
    secret = register_controller(args.id, args.venue, args.vendor, args.shop, args.session_seconds, unifi=unifi)
    print(json.dumps({"controller_id": args.id, "secret": secret}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
