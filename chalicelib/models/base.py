"""What every table model shares: its stage-prefixed name and its region."""

from __future__ import annotations

import os

from chalicelib.naming import resource_name


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-3"


def table_name_for(suffix: str) -> str:
    """A model's table in the current stage; each model's ``Meta.suffix`` names it across stages."""
    return resource_name(suffix)
