"""The emulator's version listing (under the prefix only, no copy of the bodies) gives moto's own pages."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import S3Backend, s3_backends

ARGS = [
    {},
    {"prefix": "raw/s1/"},
    {"prefix": "raw/s1/b1"},
    {"prefix": "raw/", "delimiter": "/"},
    {"prefix": "nothing/"},
    {"max_keys": 1},
    {"max_keys": 3, "prefix": "raw/"},
    {"max_keys": 2, "key_marker": "raw/s1/b1"},
    {"max_keys": 2, "key_marker": "raw/s1/b10"},
]


def shown(page: tuple[list[Any], list[str], list[Any], str | None, str | None]) -> tuple[Any, ...]:
    versions, prefixes, markers, next_key, next_version = page
    return (
        [(v.name, v.version_id, v.is_latest, v.size, v.etag) for v in versions],
        prefixes,
        [(m.name, m.version_id, m.is_latest) for m in markers],
        next_key,
        next_version,
    )


def test_listing_under_a_prefix_gives_the_same_pages_as_moto_and_leaves_the_versions_alone(aws_endpoint: str) -> None:
    s3 = boto3.client("s3")
    bucket = f"versions-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key, writes in [("raw/s1/b1", 3), ("raw/s1/b10", 1), ("raw/s2/b1", 2), ("keys/k", 1), ("raw/s1/b2", 1)]:
        for n in range(writes):
            s3.put_object(Bucket=bucket, Key=key, Body=f"{key} #{n}".encode())
            time.sleep(0.002)  # moto orders a key's versions by their millisecond
    s3.delete_object(Bucket=bucket, Key="raw/s1/b2")  # a delete marker over a version
    s3.delete_object(Bucket=bucket, Key="keys/k")
    backend: S3Backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    ours = S3Backend.list_object_versions
    moto_own = ours.moto_original  # type: ignore[attr-defined]
    for args in ARGS:
        assert shown(ours(backend, bucket, **args)) == shown(moto_own(backend, bucket, **args)), args
    whole = ours(backend, bucket)
    assert len(whole[0]) == 8 and len(whole[2]) == 2
    assert [v.is_latest for v in whole[0] if v.name == "raw/s1/b1"] == [True, False, False]
    # the listing's views change nothing stored: the bodies are still there, each version readable
    oldest = whole[0][[v.name for v in whole[0]].index("raw/s1/b1") + 2].version_id
    body = s3.get_object(Bucket=bucket, Key="raw/s1/b1", VersionId=oldest)["Body"].read()
    assert body == b"raw/s1/b1 #0"
    listed = s3.list_object_versions(Bucket=bucket, Prefix="raw/s1/b1", MaxKeys=2)
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False] and listed["IsTruncated"]


def test_a_sweep_deleting_each_page_as_it_lists_reaches_every_version(aws_endpoint: str) -> None:
    """The retention sweep deletes each page while it paginates: the next page's VersionIdMarker is a
    version it has deleted. S3 goes on after it; moto stopped (one page of the whole centre's 12,041)."""
    s3 = boto3.client("s3")
    bucket = f"sweep-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(7):
        for n in range(1 + i % 2):
            s3.put_object(Bucket=bucket, Key=f"raw/b{i}", Body=b"x%d" % n)
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix="raw/", MaxKeys=2):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            deleted += len(doomed)
    assert deleted == 10 and not s3.list_object_versions(Bucket=bucket, Prefix="raw/").get("Versions")
