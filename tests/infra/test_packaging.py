"""The real package, built once: arm64 dependency layer by pip, attached to every function."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest

from chalicelib.naming import resource_name
from infra import packaging
from infra.functions import FUNCTIONS, PORTAL
from infra.stack import StackOutputs, StackTarget, deploy


@pytest.mark.slow
def test_dependency_layer_is_arm64_and_attached(stack: StackOutputs) -> None:
    target = StackTarget(stack.stage, stack.region, stack.endpoint_url, package_dependencies=True)
    deploy(target, progress=lambda _m: None)
    layer = packaging.dependency_layer()
    names = zipfile.ZipFile(io.BytesIO(layer.data)).namelist()
    assert all(n.startswith("python/") for n in names)
    binaries = [n for n in names if n.endswith(".so")]
    assert binaries and all("aarch64" in n for n in binaries if "cpython" in n), binaries[:5]
    assert any(n.startswith("python/pydantic_core/") for n in names)
    assert any(n.startswith("python/pynamodb/") for n in names)
    assert any(n.startswith("python/aws_lambda_powertools/") for n in names)
    assert not any(n.startswith(("python/botocore/", "python/boto3/")) for n in names)  # the runtime has them

    lam = boto3.client("lambda")
    versions = lam.list_layer_versions(LayerName=resource_name("dependencies", stack.stage))["LayerVersions"]
    assert len(versions) == 1 and versions[0]["CompatibleArchitectures"] == ["arm64"]
    for spec in (*FUNCTIONS, PORTAL):
        config = lam.get_function_configuration(FunctionName=resource_name(spec.name, stack.stage))
        assert [x["Arn"] for x in config["Layers"]] == [versions[0]["LayerVersionArn"]]
    assert deploy(target, progress=lambda _m: None).mutating_calls == 0  # no new layer version for the same zip
