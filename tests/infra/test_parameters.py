"""The secret parameters' resource on the emulator: generated once, settings changed without a new value,
the standard tier's 4 KB limit said in our words, deleted at once."""

from __future__ import annotations

import boto3
import pytest

from infra import core
from infra.core import Context
from infra.resources.parameters import MAX_STANDARD_BYTES, SecureParameter


def test_a_settings_change_keeps_the_value_and_a_value_too_big_fails_clearly(aws_endpoint: str) -> None:
    ctx = Context("eu-west-3", aws_endpoint, "paramtest")
    made: list[str] = []

    def generate() -> str:
        made.append(f"value-{len(made)}")
        return made[-1]

    name = "/wifivip/paramtest/example"
    first = SecureParameter(name, "first description", generate)
    assert [c.action for c in core.apply(ctx, [first], progress=lambda _m: None)] == ["create"]
    assert [c.action for c in core.apply(ctx, [first], progress=lambda _m: None)] == ["keep"]
    changed = SecureParameter(name, "second description", generate)
    (change,) = core.apply(ctx, [changed], progress=lambda _m: None)
    assert (change.action, change.fields) == ("update", ("Description",))
    ssm = boto3.client("ssm", region_name="eu-west-3", endpoint_url=aws_endpoint)
    got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert got["Value"] == "value-0" and made == ["value-0"]  # generated once, re-put as read
    assert ctx.outputs[changed.key]["arn"] == got["ARN"]

    too_big = SecureParameter("/wifivip/paramtest/big", "too big", lambda: "x" * (MAX_STANDARD_BYTES + 1))
    with pytest.raises(ValueError, match="at most 4096"):
        core.apply(ctx, [too_big], progress=lambda _m: None)

    core.destroy(ctx, [changed], delete_data=True, progress=lambda _m: None)
    assert core.plan(ctx, [changed])[0].action == "create"  # gone at once, no recovery window
