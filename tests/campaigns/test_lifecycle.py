"""Campaign lifecycle: create, edit, schedule, pause, resume, end; derived status; frozen settings."""

from __future__ import annotations

import pytest

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.errors import CampaignError, Conflict
from chalicelib.campaigns.model import Owner
from tests.campaigns.world import WEDNESDAY_10H, paris, spec

OWNER = Owner(kind="merchant", id="vh-mode")
NOW = WEDNESDAY_10H


def test_full_lifecycle() -> None:
    c = lifecycle.create(spec(start_at="2026-11-20T09:00", end_at="2026-11-30T19:00"), OWNER, "u1", NOW)
    assert c.status_at(NOW) == "draft" and c.campaign_id.startswith("c-") and len(c.control_salt) == 32
    c = lifecycle.edit(c, spec(name="Nouveau nom", start_at="2026-11-20T09:00", end_at="2026-11-30T19:00"), NOW)
    assert c.spec.name == "Nouveau nom" and c.version == 2
    c = lifecycle.schedule(c, NOW)
    assert c.status_at(NOW) == "scheduled"
    assert c.status_at(paris(2026, 11, 20, 9)) == "active"
    assert c.status_at(paris(2026, 11, 30, 19)) == "ended"
    during = paris(2026, 11, 21, 12)
    c = lifecycle.pause(c, during)
    assert c.status_at(during) == "paused" and c.status_at(paris(2026, 12, 5)) == "paused"
    c = lifecycle.schedule(c, during)  # resume
    assert c.status_at(during) == "active"
    c = lifecycle.end(c, during)
    assert c.status_at(during) == "ended" and c.ended_at == during
    with pytest.raises(Conflict):
        lifecycle.schedule(c, during)
    with pytest.raises(Conflict):
        lifecycle.end(c, during)


def test_no_edit_while_running_and_frozen_settings_after_launch() -> None:
    c = lifecycle.schedule(lifecycle.create(spec(), OWNER, "u1", NOW), NOW)
    with pytest.raises(Conflict, match="pause"):
        lifecycle.edit(c, spec(name="x"), NOW)
    c = lifecycle.pause(c, NOW)
    assert lifecycle.edit(c, spec(name="Texte corrigé"), NOW).spec.name == "Texte corrigé"
    with pytest.raises(Conflict, match="control_percent"):
        lifecycle.edit(c, spec(control_percent=20), NOW)
    with pytest.raises(Conflict, match="coupon"):
        lifecycle.edit(c, spec(content={"coupon": "none"}), NOW)
    with pytest.raises(Conflict, match="shop_ids"):
        lifecycle.edit(c, spec(shop_ids=("vh-cafe",)), NOW)


def test_bad_transitions_and_readiness() -> None:
    draft = lifecycle.create(spec(), OWNER, "u1", NOW)
    with pytest.raises(Conflict):
        lifecycle.pause(draft, NOW)
    expired = lifecycle.create(spec(content={"valid_from": "2026-01-01", "valid_until": "2026-02-01"}), OWNER, "u", NOW)
    with pytest.raises(CampaignError, match="expiré"):
        lifecycle.schedule(expired, NOW)
    no_time = lifecycle.create(spec(targeting={"trigger": "scheduled"}), OWNER, "u1", NOW)
    with pytest.raises(CampaignError, match="date d'envoi"):
        lifecycle.schedule(no_time, NOW)
    outside = spec(targeting={"trigger": "scheduled"}, send_at="2026-12-24T10:00", end_at="2026-12-20T10:00")
    with pytest.raises(CampaignError, match="pendant la campagne"):
        lifecycle.schedule(lifecycle.create(outside, OWNER, "u1", NOW), NOW)


def test_spec_validation_messages() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finir après"):
        spec(start_at="2026-11-20T09:00", end_at="2026-11-20T08:00")
    with pytest.raises(ValidationError, match="send_at"):
        spec(send_at="2026-11-20T09:00")
    with pytest.raises(ValidationError):
        spec(targeting={"channels": ()})
    with pytest.raises(ValidationError):
        spec(targeting={"channels": ("fax",)})
    with pytest.raises(ValidationError):
        spec(control_percent=80)
    with pytest.raises(ValidationError):
        spec(shop_ids=("../etc",))
    with pytest.raises(ValidationError):
        spec(content={"landing_url": "javascript:alert(1)"})
