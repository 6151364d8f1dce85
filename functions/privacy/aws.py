"""The AWS side of key rotation: the master in Parameter Store (SecureString), day keys in S3 (versioned bucket)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from wifivip_edge.batch import EPOCH_RE
from wifivip_edge.daykeys import key_object_key

from chalicelib.parameters import read_secret


@dataclass
class ParameterMaster:
    """The master secret: 64 hex characters (32 bytes) in a SecureString parameter (``client``: boto3 ssm)."""

    client: Any
    name: str

    def get(self) -> bytes:
        value = read_secret(self.client, self.name).strip()
        try:
            return bytes.fromhex(value)
        except ValueError:
            return value.encode()


@dataclass
class S3KeyStore:
    """``keys/{epoch}`` objects. The bucket is versioned, so destroying a key deletes every version."""

    client: Any
    bucket: str
    prefix: str = "keys"

    def _key(self, epoch: str) -> str:
        return key_object_key(epoch, self.prefix)

    def epochs(self) -> list[str]:
        found: set[str] = set()
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                epoch = entry["Key"][len(self.prefix) + 1 :]
                if EPOCH_RE.match(epoch):
                    found.add(epoch)
        return sorted(found)

    def get(self, epoch: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(epoch))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return body

    def put(self, epoch: str, body: bytes) -> None:
        """Under the bucket's default encryption (SSE-S3); who may read a key is decided by IAM (the
        sensors' ``keys/`` grant)."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(epoch), Body=body, ContentType="application/json")

    def destroy(self, epoch: str) -> int:
        key = self._key(epoch)
        versions = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
            if v["Key"] == key
        ]
        for entry in doomed:
            self.client.delete_object(Bucket=self.bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        return len(doomed)
