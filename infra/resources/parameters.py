"""SSM Parameter Store: the stage's secrets as SecureString parameters of the standard tier.

Why Parameter Store rather than Secrets Manager: a standard parameter is free to hold and its API
calls at standard throughput are free, where a secret costs 0.40 USD a month plus its calls (four of
them were 1.67 USD of the month's bill, docs/scaling.md). What Secrets Manager adds (managed rotation
of database passwords, cross-region replicas) is used by none of them: the pseudonym master never
rotates (each day's key is derived from it, ``functions/privacy``) and the opt-in's keys are
generated once. Each value is encrypted with the AWS-managed ``aws/ssm`` key (no monthly fee); the
functions need only ``ssm:GetParameter`` on the exact parameter ARN: that key's policy lets the
account's roles decrypt through SSM.

The value is generated once, at creation, and never rewritten by a redeploy (an update of the
description re-puts the value it read). Standard parameters hold at most 4 KB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

#: The AWS-managed key SecureString parameters use when none is named: free, no key policy to keep.
AWS_MANAGED_KEY = "alias/aws/ssm"
#: What a standard-tier parameter may hold.
MAX_STANDARD_BYTES = 4096


def parameter_arn(ctx: Context, name: str) -> str:
    """``arn:aws:ssm:{region}:{account}:parameter/wifivip/...`` (the name's leading ``/`` is the ARN's)."""
    return ctx.arn("ssm", "parameter/" + name.lstrip("/"))


def check_size(name: str, value: str) -> str:
    """A standard parameter holds 4 KB; a larger value fails here with its name, not in AWS's words."""
    size = len(value.encode())
    if size > MAX_STANDARD_BYTES:
        raise ValueError(f"parameter {name}: {size} bytes, a standard parameter holds at most {MAX_STANDARD_BYTES}")
    return value


class SecureParameter(Resource):
    """A SecureString whose value ``generate()`` makes once; ``public`` fields of its JSON become outputs
    (the allowlist's public key, the consent key's id); the secret fields never do."""

    kind: ClassVar[str] = "ssm-parameter"
    holds_data: ClassVar[bool] = True  # deleting the master makes every pseudonym key underivable

    def __init__(self, name: str, description: str, generate: Callable[[], str], public: tuple[str, ...] = ()) -> None:
        super().__init__(name)
        self.description = description
        self.generate = generate
        self.public = public

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"Type": "SecureString", "Tier": "Standard", "KeyId": AWS_MANAGED_KEY, "Description": self.description}

    def read(self, ctx: Context) -> Observed | None:
        ssm = ctx.client("ssm")
        found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [self.name]}])
        if not found["Parameters"]:
            return None
        meta = found["Parameters"][0]
        state = {k: meta.get(k) for k in ("Type", "Tier", "KeyId")} | {"Description": meta.get("Description", "")}
        outputs: dict[str, Any] = {"arn": parameter_arn(ctx, self.name), "name": self.name}
        if self.public:
            value = json.loads(self.value(ssm))
            outputs.update({k: value.get(k) for k in self.public})
        return Observed(state, outputs)

    def value(self, ssm: Any) -> str:
        return str(ssm.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]["Value"])

    def _put(self, ssm: Any, desired: dict[str, Any], value: str, **extra: Any) -> None:
        ssm.put_parameter(
            Name=self.name,
            Value=check_size(self.name, value),
            Type=desired["Type"],
            Tier=desired["Tier"],
            KeyId=desired["KeyId"],
            Description=desired["Description"],
            **extra,
        )

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        tags = [{"Key": "wifivip:stage", "Value": ctx.stage}]
        self._put(ctx.client("ssm"), desired, self.generate(), Tags=tags)

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        """Settings only: the value read is the value written back (a redeploy never regenerates it)."""
        ssm = ctx.client("ssm")
        self._put(ssm, desired, self.value(ssm), Overwrite=True)

    def delete(self, ctx: Context) -> None:
        """Immediate (Parameter Store keeps no recovery window): only with ``destroy --delete-data``."""
        ctx.client("ssm").delete_parameter(Name=self.name)
