"""The AWS side of the publisher: lease and version in DynamoDB, the list in S3, the key in SSM Parameter Store."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.consent.keys import SIGNING_KEY_SECRET, secret_name
from chalicelib.models.allowlist_state import AllowlistState
from chalicelib.parameters import read_secret

STATE_ITEM = "publisher"


class DynamoPublisherState:
    def _item(self) -> AllowlistState:
        try:
            return AllowlistState.get(STATE_ITEM, consistent_read=True)
        except DoesNotExist:
            return AllowlistState(STATE_ITEM)

    def acquire(self, owner: str, now: float, ttl_s: float) -> bool:
        item = AllowlistState(STATE_ITEM)
        free = AllowlistState.lease_until.does_not_exist() | (AllowlistState.lease_until < now)
        try:
            item.update(
                actions=[AllowlistState.lease_owner.set(owner), AllowlistState.lease_until.set(now + ttl_s)],
                condition=free,
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" in str(exc.cause_response_code or exc):
                return False
            raise
        return True

    def next_version(self, owner: str) -> int:
        item = AllowlistState(STATE_ITEM)
        attrs = item.update(actions=[AllowlistState.version.add(1)], condition=AllowlistState.lease_owner == owner)
        return int(attrs.get("version", item.version))

    def last(self) -> tuple[float, str]:
        item = self._item()
        return float(item.published_at or 0), str(item.digest or "")

    def release(self, owner: str, published_at: float, digest: str, entries: int) -> None:
        item = AllowlistState(STATE_ITEM)
        actions: list[Action] = [AllowlistState.lease_until.set(0), AllowlistState.published_at.set(published_at)]
        if digest:
            actions += [AllowlistState.digest.set(digest), AllowlistState.entries.set(entries)]
        try:
            item.update(actions=actions, condition=AllowlistState.lease_owner == owner)
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc.cause_response_code or exc):
                raise


@dataclass
class S3ListStore:
    client: Any
    bucket: str

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", CacheControl="no-cache"
        )

    def purge_old_versions(self, key: str) -> int:
        removed = 0
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if v["Key"] == key and not v.get("IsLatest") and v.get("VersionId") not in (None, "null"):
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=v["VersionId"])
                    removed += 1
        return removed


class Ed25519Signer:
    """The allowlist signing key (an SSM SecureString); sensors verify with its public half."""

    def __init__(self, private_key_raw: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = Ed25519PrivateKey.from_private_bytes(private_key_raw)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)


def load_signer(client: Any, stage: str | None = None) -> Ed25519Signer:
    secret = json.loads(read_secret(client, secret_name(SIGNING_KEY_SECRET, stage)))
    return Ed25519Signer(base64.b64decode(secret["private_key"]))
