"""Upload closed batches to S3 under the sensor's own prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from wifivip_edge.batch import Batch, encode_batch
from wifivip_edge.batching import batch_key
from wifivip_edge.config import UploadConfig


@dataclass
class S3Uploader:
    """Puts each batch at its deterministic key, so a re-upload overwrites and never duplicates."""

    config: UploadConfig
    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = boto3.client("s3", region_name=self.config.region, endpoint_url=self.config.endpoint_url)

    def upload(self, batch: Batch) -> str:
        key = batch_key(batch.header)
        if self.config.prefix != "raw":
            key = self.config.prefix + key[len("raw") :]
        self.client.put_object(
            Bucket=self.config.bucket,
            Key=key,
            Body=encode_batch(batch),
            ContentType="application/gzip",
        )
        return key
