"""A small S3 client for the sensor: PutObject and GetObject, signed with AWS Signature Version 4.

Why not boto3: the sensor needs two calls, and boto3 costs about 24 MB of RSS once its S3 client is
built (measured, ``bench/edge_memory.py``), a quarter of the agent's 96 MB budget on a Pi Zero 2 W.
This module uses only the standard library (http.client, hmac, hashlib, configparser).

Credentials, in order: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``) in
the environment; else the shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``, default
``~/.aws/credentials``), profile ``AWS_PROFILE`` or ``default``: what ``infra enroll-sensor`` writes.
Requests go to ``https://{bucket}.s3.{region}.amazonaws.com`` (TLS, certificates verified), or path
style to a configured endpoint (the local emulator).
"""

from __future__ import annotations

import configparser
import hashlib
import hmac
import http.client
import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

SERVICE = "s3"
ALGORITHM = "AWS4-HMAC-SHA256"


class S3Error(Exception):
    """S3 refused the request or could not be reached; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(access_key_id={self.access_key_id!r}, ...)"


def find_credentials(environ: dict[str, str] | None = None) -> Credentials:
    """The environment's keys, else the shared credentials file's profile; S3Error when there are none."""
    env = os.environ if environ is None else environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN"))
    path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials").expanduser()
    profile = env.get("AWS_PROFILE") or "default"
    parser = configparser.ConfigParser()
    if parser.read(path) and parser.has_section(profile):
        section = parser[profile]
        if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
            return Credentials(
                section["aws_access_key_id"], section["aws_secret_access_key"], section.get("aws_session_token")
            )
    raise S3Error(0, "NoCredentials", f"no AWS credentials in the environment nor in {path} [{profile}]")


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature_v4(
    creds: Credentials,
    region: str,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: dict[str, str],
    payload_sha256: str,
    amz_date: str,
) -> dict[str, str]:
    """The request's headers with SigV4's ``Authorization`` (``headers`` holds the ones to sign)."""
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed.update({"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date})
    if creds.session_token:
        signed["x-amz-security-token"] = creds.session_token
    names = sorted(signed)
    canonical = "\n".join(
        [method, path, query, *(f"{n}:{signed[n]}" for n in names), "", ";".join(names), payload_sha256]
    )
    day = amz_date[:8]
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(("AWS4" + creds.secret_access_key).encode(), day), region), SERVICE), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = (
        f"{ALGORITHM} Credential={creds.access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**signed, "authorization": auth}


@dataclass(frozen=True)
class Fetched:
    """A conditional GET's answer: ``changed`` (``body``, its ``etag``), ``unchanged`` (304) or ``missing``."""

    status: Literal["changed", "unchanged", "missing"]
    body: bytes = b""
    etag: str | None = None


class S3Client:
    """PutObject and GetObject on one bucket; each call a fresh connection with timeouts.

    ``last_date`` is the Date of S3's last answer (its clock, for the heartbeat's clock offset).
    """

    def __init__(
        self,
        bucket: str,
        region: str = "eu-west-3",
        endpoint_url: str | None = None,
        credentials: Credentials | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.timeout_s = timeout_s
        self._credentials = credentials
        self.last_date: str | None = None
        if endpoint_url:
            url = urlsplit(endpoint_url)
            self._tls = url.scheme == "https"
            self._host = url.netloc
            self._prefix = f"{url.path.rstrip('/')}/{bucket}"
        else:
            self._tls = True
            self._host = f"{bucket}.s3.{region}.amazonaws.com"
            self._prefix = ""

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = find_credentials()
        return self._credentials

    def put_object(self, key: str, body: bytes, content_type: str, content_md5: str | None = None) -> None:
        headers = {"content-type": content_type, "content-length": str(len(body))}
        if content_md5:
            headers["content-md5"] = content_md5
        self._request("PUT", key, body, headers)

    def get_object(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        try:
            return self._request("GET", key, b"", {})
        except S3Error as exc:
            if exc.status == 404:
                return None
            raise

    def get_object_if_changed(self, key: str, etag: str | None) -> Fetched:
        """GET with ``If-None-Match: etag``: S3 answers 304 without the body when the object has not
        changed, so polling an unchanged object costs a request and no transfer."""
        headers = {"if-none-match": etag} if etag else {}
        status, reason, data, etag_now = self._send("GET", key, b"", headers)
        if status == 304:
            return Fetched("unchanged", etag=etag)
        if status == 404:
            return Fetched("missing")
        if not 200 <= status < 300:
            raise S3Error(status, _error_code(data) or reason, f"GET {key}")
        return Fetched("changed", data, etag_now)

    def _request(self, method: str, key: str, body: bytes, headers: dict[str, str]) -> bytes:
        status, reason, data, _etag = self._send(method, key, body, headers)
        if not 200 <= status < 300:
            raise S3Error(status, _error_code(data) or reason, f"{method} {key}")
        return data

    def _send(self, method: str, key: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes, str | None]:
        """One signed request: (status, reason, body, ETag)."""
        path = quote(f"{self._prefix}/{key}", safe="/-_.~")
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        signed = signature_v4(
            self.credentials, self.region, method, self._host, path, "", headers,
            hashlib.sha256(body).hexdigest(), amz_date,
        )  # fmt: skip
        conn: http.client.HTTPConnection
        if self._tls:
            conn = http.client.HTTPSConnection(self._host, timeout=self.timeout_s, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._host, timeout=self.timeout_s)
        try:
            conn.request(method, path, body=body or None, headers=signed)
            answer = conn.getresponse()
            data = answer.read()
            self.last_date = answer.getheader("Date") or self.last_date
        except (OSError, http.client.HTTPException) as exc:
            raise S3Error(0, type(exc).__name__, str(exc)) from None
        finally:
            conn.close()
        return answer.status, answer.reason, data, answer.getheader("ETag")


def _error_code(xml: bytes) -> str:
    start, end = xml.find(b"<Code>"), xml.find(b"</Code>")
    return xml[start + 6 : end].decode(errors="replace") if 0 <= start < end else ""
