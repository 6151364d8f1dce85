"""Errors of the campaign domain, reported to users in French first, then English."""

from __future__ import annotations


class CampaignError(ValueError):
    """A request the campaign rules refuse (HTTP 400 or 409): ``code`` is stable, the message bilingual."""

    def __init__(self, code: str, fr: str, en: str) -> None:
        super().__init__(f"{fr} / {en}")
        self.code = code
        self.fr = fr
        self.en = en


class Conflict(CampaignError):
    """The request is valid but the campaign's state forbids it now (HTTP 409)."""
