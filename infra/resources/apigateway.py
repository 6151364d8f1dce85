"""An API Gateway REST API that proxies every path to one function (the Chalice portal, the captive portal).

Chalice's own deployer would do this with CloudFormation; deploying its package directly keeps one
engine for everything and works on the emulator. Each change of routes or target creates a new
deployment of the stage; the stage's description holds the hash of what was deployed, so an
unchanged API is never redeployed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

PROXY_PATHS = ("/", "/{proxy+}")


class ProxyApi(Resource):
    kind: ClassVar[str] = "rest-api"

    def __init__(
        self, name: str, function: str, binary_types: Callable[[], tuple[str, ...]], stage_name: str = "api"
    ) -> None:
        """``function``: the ref key of the function every request goes to; ``binary_types``: the media
        types API Gateway passes as binary (Chalice's list)."""
        super().__init__(name)
        self.function = function
        self.stage_name = stage_name
        self.binary_types = binary_types

    def _uri(self, ctx: Context) -> str:
        arn = ctx.ref(self.function, "arn")
        return f"arn:{ctx.partition}:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/{arn}/invocations"

    def desired(self, ctx: Context) -> dict[str, Any]:
        routes = {path: self._uri(ctx) for path in PROXY_PATHS}
        want = {"routes": routes, "binary": sorted(self.binary_types()), "endpoint": ["REGIONAL"]}
        return {**want, "deployed": _fingerprint(want)}

    def _find(self, ctx: Context) -> dict[str, Any] | None:
        for page in ctx.client("apigateway").get_paginator("get_rest_apis").paginate():
            for api in page["items"]:
                if api["name"] == self.name:
                    return dict(api)
        return None

    def read(self, ctx: Context) -> Observed | None:
        api = self._find(ctx)
        if api is None:
            return None
        gw = ctx.client("apigateway")
        resources = {r["path"]: r["id"] for r in gw.get_resources(restApiId=api["id"], limit=500)["items"]}
        routes = {}
        for path in PROXY_PATHS:
            if path not in resources:
                continue
            try:
                routes[path] = gw.get_integration(restApiId=api["id"], resourceId=resources[path], httpMethod="ANY")[
                    "uri"
                ]
            except gw.exceptions.NotFoundException:
                continue
        try:
            deployed = gw.get_stage(restApiId=api["id"], stageName=self.stage_name).get("description", "")
        except gw.exceptions.NotFoundException:
            deployed = ""
        state = {
            "routes": routes,
            "binary": sorted(api.get("binaryMediaTypes", [])),
            "endpoint": api.get("endpointConfiguration", {}).get("types", []),
            "deployed": deployed,
        }
        outputs = {
            "id": api["id"],
            "resources": resources,
            "arn": ctx.arn("execute-api", f"{api['id']}/*"),
            "url": f"https://{api['id']}.execute-api.{ctx.region}.amazonaws.com/{self.stage_name}/",
        }
        return Observed(state, outputs)

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        api = ctx.client("apigateway").create_rest_api(
            name=self.name,
            description=f"wifivip {ctx.stage}",
            endpointConfiguration={"types": ["REGIONAL"]},
            tags={"wifivip:stage": ctx.stage},
        )
        ctx.outputs[self.key] = {"id": api["id"], "resources": {}}
        self.update(ctx, desired, {"routes": {}, "binary": []}, ["routes", "binary", "deployed"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        gw = ctx.client("apigateway")
        api_id = ctx.ref(self.key, "id")
        resources = dict(ctx.outputs[self.key].get("resources") or {})
        if not resources:
            resources = {r["path"]: r["id"] for r in gw.get_resources(restApiId=api_id)["items"]}
        if "routes" in fields:
            for path, uri in desired["routes"].items():
                if current.get("routes", {}).get(path) == uri:
                    continue
                if path not in resources:
                    resources[path] = gw.create_resource(
                        restApiId=api_id, parentId=resources["/"], pathPart=path.strip("/")
                    )["id"]
                gw.put_method(
                    restApiId=api_id, resourceId=resources[path], httpMethod="ANY", authorizationType="NONE"
                )  # the portal checks Cognito tokens itself (Chalice built-in authorizer), locally and here
                gw.put_integration(
                    restApiId=api_id,
                    resourceId=resources[path],
                    httpMethod="ANY",
                    type="AWS_PROXY",
                    integrationHttpMethod="POST",
                    uri=uri,
                )
        if "binary" in fields:
            old, new = set(current.get("binary") or []), set(desired["binary"])
            ops = [{"op": "add", "path": f"/binaryMediaTypes/{t.replace('/', '~1')}"} for t in sorted(new - old)]
            ops += [{"op": "remove", "path": f"/binaryMediaTypes/{t.replace('/', '~1')}"} for t in sorted(old - new)]
            if ops:
                gw.update_rest_api(restApiId=api_id, patchOperations=ops)
        gw.create_deployment(restApiId=api_id, stageName=self.stage_name, stageDescription=desired["deployed"])
        gw.update_stage(
            restApiId=api_id,
            stageName=self.stage_name,
            patchOperations=[{"op": "replace", "path": "/description", "value": desired["deployed"]}],
        )

    def delete(self, ctx: Context) -> None:
        ctx.client("apigateway").delete_rest_api(restApiId=ctx.ref(self.key, "id"))


def _fingerprint(value: Any) -> str:
    return "config sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
