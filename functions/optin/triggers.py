"""Republishing the sensors' allowlist after a withdrawal or an erasure.

In AWS the opt-in function invokes the publisher function asynchronously (``WIFIVIP_ALLOWLIST_FUNCTION``)
so that only the publisher holds the signing key; locally (moto runs no Lambda) it publishes in-process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass
class LambdaPublish:
    client: Any
    function_name: str

    def publish_now(self) -> None:
        self.client.invoke(
            FunctionName=self.function_name, InvocationType="Event", Payload=json.dumps({"force": True}).encode()
        )


class InProcessPublish:
    def publish_now(self) -> None:
        from functions.allowlist.handler import publisher

        publisher().publish(force=True)


def allowlist_trigger() -> LambdaPublish | InProcessPublish:
    """In Lambda (``WIFIVIP_ALLOWLIST_FUNCTION`` = the publisher's short name) invoke it; else in-process."""
    from chalicelib.naming import resource_name

    name = os.environ.get("WIFIVIP_ALLOWLIST_FUNCTION")
    if name and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return LambdaPublish(boto3.client("lambda"), resource_name(name))
    return InProcessPublish()
