"""Lambda code, packaged without Docker: the project's source as one zip, its dependencies as one layer.

- ``source_zip()``: ``functions/``, ``chalicelib/`` and the edge modules the cloud shares with the
  sensors (``wifivip_edge.batch``, the one wire format). Every function ships the same zip, so one
  change is one upload per function and nothing drifts between them.
- ``portal_zip()``: ``chalice package`` output (app.py, chalicelib/, chalice's runtime), deployed by
  the script as a plain Lambda function behind an API Gateway REST API.
- ``dependency_layer()``: the third-party packages for Lambda's arm64 Python, fetched by pip as
  manylinux aarch64 wheels (``--platform``, ``--only-binary``) at the versions pinned in
  constraints.txt; boto3/botocore are left out (the runtime has them).

Zips are deterministic (sorted entries, fixed timestamps), so an unchanged tree has an unchanged
SHA-256 and deploy sees no change. Results are cached in memory and under ``build/``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
RUNTIME = "python3.11"
ARCHITECTURE = "arm64"
#: Edge-agent modules the cloud imports (pure standard library): add one here when the cloud needs it.
EDGE_MODULES = ("__init__.py", "batch.py", "heartbeat.py", "daykeys.py")
#: Third-party packages the functions and the portal import at run time (versions: constraints.txt).
LAYER_REQUIREMENTS = ("aws-lambda-powertools[parser,tracer]", "pynamodb", "pyjwt[crypto]", "tzdata")
#: Provided by the Lambda runtime: never shipped.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    """A zip ready to upload, with the hashes AWS reports back (CodeSha256 is base64 SHA-256)."""

    name: str
    data: bytes

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def code_sha256(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    return buffer.getvalue()


def _tree(folder: Path, prefix: str) -> dict[str, bytes]:
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def source_entries() -> dict[str, bytes]:
    entries = {**_tree(ROOT / "functions", "functions"), **_tree(ROOT / "chalicelib", "chalicelib")}
    edge = ROOT / "edge-agent" / "src" / "wifivip_edge"
    for module in EDGE_MODULES:
        entries[f"wifivip_edge/{module}"] = (edge / module).read_bytes()
    return entries


@cache
def _source_zip(digest: str) -> Artifact:
    return Artifact("source", _zip(source_entries()))


def source_zip() -> Artifact:
    """The functions' code; rebuilt only when a file changed."""
    entries = source_entries()
    digest = hashlib.sha256(json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}).encode())
    return _source_zip(digest.hexdigest())


def _portal_digest() -> str:
    entries = {**_tree(ROOT / "chalicelib", "chalicelib"), "app.py": (ROOT / "app.py").read_bytes()}
    entries[".chalice/config.json"] = (ROOT / ".chalice" / "config.json").read_bytes()
    return hashlib.sha256(
        json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}).encode()
    ).hexdigest()


@dataclass(frozen=True)
class PortalPackage:
    """What ``chalice package`` produced: the code, its handler and the API's binary media types."""

    artifact: Artifact
    handler: str
    binary_types: tuple[str, ...]


@cache
def _portal_zip(digest: str) -> PortalPackage:
    with tempfile.TemporaryDirectory(prefix="wifivip-chalice-") as out:
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-3")}
        chalice = Path(sys.executable).with_name("chalice")
        subprocess.run(
            [str(chalice), "package", "--stage", "dev", out],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        template = json.loads((Path(out) / "sam.json").read_text())
        handler = template["Resources"]["APIHandler"]["Properties"]["Handler"]
        body = template["Resources"]["RestAPI"]["Properties"].get("DefinitionBody", {})
        binary = tuple(body.get("x-amazon-apigateway-binary-media-types", []))
        # Chalice's zip has fixed timestamps already; re-zip the same entries to make the order fixed too.
        with zipfile.ZipFile(Path(out) / "deployment.zip") as zf:
            entries = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    return PortalPackage(Artifact("portal", _zip(entries)), str(handler), binary)


def portal_package() -> PortalPackage:
    """``chalice package`` output for the portal (rebuilt only when app.py, chalicelib/ or its config change)."""
    return _portal_zip(_portal_digest())


def dependency_layer() -> Artifact:
    """The arm64 dependency layer (``python/...``), built by pip once per constraints.txt."""
    constraints = (ROOT / "constraints.txt").read_bytes()
    key = hashlib.sha256(constraints + repr(LAYER_REQUIREMENTS).encode()).hexdigest()[:16]
    cached = BUILD / f"layer-{ARCHITECTURE}-{key}.zip"
    if not cached.exists():
        BUILD.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="wifivip-layer-") as tmp:
            target = Path(tmp) / "python"
            subprocess.run(
                [
                    sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--target", str(target), "--platform", "manylinux2014_aarch64", "--implementation", "cp",
                    "--python-version", RUNTIME.removeprefix("python"), "--only-binary=:all:",
                    "-c", str(ROOT / "constraints.txt"), *LAYER_REQUIREMENTS,
                ],
                check=True,
            )  # fmt: skip
            for path in list(target.iterdir()):
                base = path.name.split("-")[0].split(".")[0].lower()
                if base in RUNTIME_PROVIDED or path.name in ("bin", "__pycache__"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            tmp_zip = cached.with_suffix(".tmp")
            tmp_zip.write_bytes(_zip(_tree(target, "python")))
            tmp_zip.rename(cached)
    return Artifact("dependencies", cached.read_bytes())
