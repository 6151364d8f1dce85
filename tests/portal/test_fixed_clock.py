"""The demo's fixed clock (``WIFIVIP_PORTAL_NOW``): the portal's "now" when set, refused when ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.portal.settings import reload_settings, settings


def test_the_portal_reads_the_fixed_clock_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIFIVIP_PORTAL_NOW", raising=False)
    try:
        before = datetime.now(UTC)
        assert before <= reload_settings().now() <= datetime.now(UTC)  # the real clock
        monkeypatch.setenv("WIFIVIP_PORTAL_NOW", "2026-11-25T15:00:00+01:00")
        assert reload_settings().now() == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
        for bad in ("2026-11-25T15:00", "hier 15h"):  # no offset: whose 15:00? / not a time
            monkeypatch.setenv("WIFIVIP_PORTAL_NOW", bad)
            settings.cache_clear()
            with pytest.raises(ValueError, match="WIFIVIP_PORTAL_NOW"):
                settings()
    finally:
        monkeypatch.delenv("WIFIVIP_PORTAL_NOW", raising=False)
        settings.cache_clear()
