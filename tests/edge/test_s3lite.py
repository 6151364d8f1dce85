"""The sensor's S3 client: SigV4 as AWS documents it, and real calls against the emulator."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import boto3
import pytest
from wifivip_edge.s3lite import Credentials, S3Client, S3Error, find_credentials, signature_v4


def test_signature_matches_the_aws_documentation_example() -> None:
    """'Signature Calculations for the Authorization Header', example GET Object (us-east-1, 2013-05-24)."""
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    headers = signature_v4(
        creds, "us-east-1", "GET", "examplebucket.s3.amazonaws.com", "/test.txt", "", {"Range": "bytes=0-9"},
        hashlib.sha256(b"").hexdigest(), "20130524T000000Z",
    )  # fmt: skip
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert "wJalr" not in repr(creds)


def test_credentials_from_the_shared_file_as_enroll_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AKIAPI\naws_secret_access_key = s3cr3t\n")
    creds = find_credentials({"AWS_SHARED_CREDENTIALS_FILE": str(path)})
    assert (creds.access_key_id, creds.secret_access_key) == ("AKIAPI", "s3cr3t")
    assert find_credentials({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"}).access_key_id == "A"
    with pytest.raises(S3Error, match="no AWS credentials"):
        find_credentials({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})


def test_put_get_missing_and_refused_against_the_emulator(aws_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="eu-west-3")
    bucket = f"s3lite-{os.getpid()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    client = S3Client(bucket, "eu-west-3", aws_endpoint, Credentials("testing", "testing"))
    body = os.urandom(5000)
    key = "raw/vh-mode-s1/2026/11/21/10/a b+c.jsonl.gz"  # a space and a plus: encoded as S3 expects
    client.put_object(key, body, "application/gzip", content_md5=None)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert client.get_object(key) == body and client.last_date
    assert client.get_object("keys/2001-01-01") is None
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - moto does not check it; S3 does
    client.put_object("raw/x", body, "application/gzip", content_md5=md5)
    assert client.get_object("raw/x") == body
    with pytest.raises(S3Error) as no_bucket:
        S3Client("no-such-bucket-xyz", "eu-west-3", aws_endpoint, Credentials("t", "t")).put_object("k", b"1", "x")
    assert no_bucket.value.status == 404
    with pytest.raises(S3Error) as unreachable:
        S3Client(bucket, "eu-west-3", "http://127.0.0.1:9", Credentials("t", "t")).get_object("k")
    assert unreachable.value.status == 0


def test_agent_s3_path_does_not_load_boto3() -> None:
    import subprocess

    code = (
        "import sys; from wifivip_edge.runner import run_agent; from wifivip_edge.upload import S3ObjectStore;"
        "S3ObjectStore('b', 'eu-west-3', 'http://127.0.0.1:9');"
        "print('boto3' in sys.modules or 'botocore' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_conditional_get_answers_304_while_the_object_is_unchanged(aws_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="eu-west-3")
    bucket = f"s3lite-etag-{os.getpid()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    client = S3Client(bucket, "eu-west-3", aws_endpoint, Credentials("testing", "testing"))
    assert client.get_object_if_changed("allowlist/latest.json", None).status == "missing"
    s3.put_object(Bucket=bucket, Key="allowlist/latest.json", Body=b'{"v": 1}')
    first = client.get_object_if_changed("allowlist/latest.json", None)
    assert first.status == "changed" and first.body == b'{"v": 1}' and first.etag
    again = client.get_object_if_changed("allowlist/latest.json", first.etag)
    assert again.status == "unchanged" and again.body == b"" and again.etag == first.etag
    s3.put_object(Bucket=bucket, Key="allowlist/latest.json", Body=b'{"v": 2}')
    changed = client.get_object_if_changed("allowlist/latest.json", first.etag)
    assert changed.status == "changed" and changed.body == b'{"v": 2}' and changed.etag != first.etag
    with pytest.raises(S3Error) as unreachable:
        S3Client(bucket, "eu-west-3", "http://127.0.0.1:9", Credentials("t", "t")).get_object_if_changed("k", "e")
    assert unreachable.value.status == 0
