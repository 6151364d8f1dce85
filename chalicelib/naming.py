"""Names of the deployed resources: the one place deploy scripts, models and functions agree on them.

Everything is named ``wifivip-{stage}-{what}``; the stage comes from ``WIFIVIP_STAGE`` (default
``dev``), so a demo, a test run and production live side by side in one account.
"""

from __future__ import annotations

import os

DEFAULT_STAGE = "dev"


def stage() -> str:
    return os.environ.get("WIFIVIP_STAGE", DEFAULT_STAGE)


def resource_name(what: str, stage_name: str | None = None) -> str:
    """``wifivip-{stage}-{what}``, e.g. the KPI table of the demo stage: ``wifivip-demo-kpi``."""
    return f"wifivip-{stage_name or stage()}-{what}"


def bucket_name(account_id: str, region: str, stage_name: str | None = None) -> str:
    """S3 names are global: the account and region make the data bucket's name unique."""
    return f"wifivip-{stage_name or stage()}-data-{account_id}-{region}"


def master_secret_name(stage_name: str | None = None) -> str:
    """The SSM parameter (SecureString) holding the pseudonym master secret (deploy creates it, the key
    job reads it)."""
    return f"/wifivip/{stage_name or stage()}/pseudonym-master"
