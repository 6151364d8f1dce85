"""Deployment on a Raspberry Pi: the install script, the systemd unit, the configuration template.

The script runs for real into a temporary root (no apt, no systemctl: those need the Pi), builds the
agent's virtual environment and installs the unit and the configuration; systemd checks the unit.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from wifivip_edge.config import ConfigError, load_config

DEPLOY = Path(__file__).resolve().parents[2] / "edge-agent" / "deploy"


def install(root: Path, source: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["--root", str(root), "--source", str(source), "--skip-apt", "--skip-systemd", "--pip-args", "--no-deps"]
    return subprocess.run(
        ["bash", str(DEPLOY / "install.sh"), *args, *extra], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_install_script_into_a_temporary_root(tmp_path: Path) -> None:
    root = tmp_path / "pi"
    source = tmp_path / "edge-agent"  # a copy: pip's build leaves files beside the sources
    shutil.copytree(DEPLOY.parent, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    credentials = tmp_path / "s1.credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIA\naws_secret_access_key = x\n")
    done = install(root, source, "--credentials", str(credentials))
    assert done.returncode == 0, done.stderr[-3000:]
    agent = root / "opt/wifivip-edge/venv/bin/wifivip-edge"
    assert subprocess.run([str(agent), "--version"], capture_output=True, text=True).stdout.startswith("wifivip-edge")
    config = root / "etc/wifivip-edge/wifivip-edge.toml"
    assert config.stat().st_mode & 0o777 == 0o600, "the config holds the bucket and settings: root only"
    assert (root / "etc/wifivip-edge/credentials").stat().st_mode & 0o777 == 0o600
    unit = (root / "etc/systemd/system/wifivip-edge.service").read_text()
    assert f"ExecStart={agent} -v run --config {config}" in unit
    assert f"AWS_SHARED_CREDENTIALS_FILE={root}/etc/wifivip-edge/credentials" in unit
    if shutil.which("systemd-analyze"):
        check = subprocess.run(
            ["systemd-analyze", "verify", str(root / "etc/systemd/system/wifivip-edge.service")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
    again = install(root, source)
    assert again.returncode == 0, "running the installer twice is fine (an upgrade)"


def test_install_script_refuses_a_missing_config(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(DEPLOY / "install.sh"), "--root", str(tmp_path), "--config", str(tmp_path / "nope.toml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and "config not found" in done.stderr


def test_config_template_must_be_completed_then_loads(tmp_path: Path) -> None:
    template = (DEPLOY / "wifivip-edge.toml").read_text()
    path = tmp_path / "c.toml"
    path.write_text(template)
    with pytest.raises(ConfigError, match="sensor_id"):
        load_config(path, environ={})
    path.write_text(template.replace('sensor_id = "CHANGE-ME"', 'sensor_id = "vh-mode-s1"'))
    config = load_config(
        path, environ={"WIFIVIP_EDGE_UPLOAD_BUCKET": "wifivip-prod-data", "WIFIVIP_EDGE_CAPTURE_CHANNELS": "1,6"}
    )
    assert config.upload.bucket == "wifivip-prod-data" and config.capture.channels == [1, 6]
    assert config.privacy.mode == "pseudonymous-24h" and config.pseudonym_bits == 32
    assert config.spool_dir == Path("/var/lib/wifivip-edge/spool")


@pytest.mark.parametrize(
    "override,error",
    [
        ({"WIFIVIP_EDGE_CAPTURE_CHANNELS": "1,x"}, "not a valid"),
        ({"WIFIVIP_EDGE_KEYS_HOLD_S": "600"}, "5 minutes"),
        ({"WIFIVIP_EDGE_PRIVACY_MODE": "anonymous", "WIFIVIP_EDGE_PRIVACY_PSEUDONYM_BITS": "32"}, "at most 16"),
        ({"WIFIVIP_EDGE_PRIVACY_MODE": "open"}, "mode must be"),
    ],
)
def test_bad_overrides_are_clear_errors(override: dict[str, str], error: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('sensor_id = "vh-mode-s1"\n')
    with pytest.raises(ConfigError, match=error):
        load_config(path, environ=override)
