"""Campaign lifecycle: create, edit, schedule, pause, resume, end.

The stored states are draft -> scheduled <-> paused -> ended; "active" is derived from the clock
(a scheduled campaign between its start and end, see :meth:`Campaign.status_at`), so no job has to
flip a flag at the right second. Once a campaign has been scheduled its measurement settings (control
share, coupon mode, trigger, shops) are frozen: changing them midway would mix two experiments.
"""

from __future__ import annotations

import secrets

from chalicelib.campaigns.calendar import local
from chalicelib.campaigns.coupons import new_salt
from chalicelib.campaigns.errors import CampaignError, Conflict
from chalicelib.campaigns.model import Campaign, CampaignSpec, Owner

FROZEN_ONCE_LAUNCHED = ("control_percent", "shop_ids")


def new_campaign_id() -> str:
    return "c-" + secrets.token_hex(8)


def create(spec: CampaignSpec, owner: Owner, by: str, now: float) -> Campaign:
    return Campaign(
        campaign_id=new_campaign_id(),
        owner=owner,
        spec=spec,
        status="draft",
        control_salt=new_salt(),
        created_at=now,
        updated_at=now,
        created_by=by,
    )


def edit(campaign: Campaign, spec: CampaignSpec, now: float) -> Campaign:
    """Replace the spec of a campaign that is not running (draft, scheduled not yet started, paused)."""
    status = campaign.status_at(now)
    if status in ("active", "ended"):
        raise Conflict(
            "campaign_running",
            "mettez la campagne en pause avant de la modifier" if status == "active" else "campagne terminée",
            "pause the campaign before editing it" if status == "active" else "the campaign has ended",
        )
    if campaign.started_at is not None:
        old = campaign.spec
        changed = [f for f in FROZEN_ONCE_LAUNCHED if getattr(old, f) != getattr(spec, f)]
        if old.content.coupon != spec.content.coupon:
            changed.append("coupon")
        if old.targeting.trigger != spec.targeting.trigger:
            changed.append("trigger")
        if changed:
            raise Conflict(
                "frozen_settings",
                f"réglages figés depuis le lancement : {', '.join(changed)}",
                f"settings frozen since launch: {', '.join(changed)}",
            )
    return campaign.model_copy(update={"spec": spec, "updated_at": now, "version": campaign.version + 1})


def schedule(campaign: Campaign, now: float) -> Campaign:
    """Launch (from draft) or resume (from paused): active at once if its start is past."""
    if campaign.status not in ("draft", "paused"):
        raise Conflict(
            "bad_transition",
            f"impossible de programmer une campagne « {campaign.status_at(now)} »",
            f"cannot schedule a campaign that is {campaign.status_at(now)}",
        )
    _check_ready(campaign, now)
    return campaign.model_copy(
        update={
            "status": "scheduled",
            "started_at": campaign.started_at or now,
            "updated_at": now,
            "version": campaign.version + 1,
        }
    )


def pause(campaign: Campaign, now: float) -> Campaign:
    if campaign.status_at(now) not in ("scheduled", "active"):
        raise Conflict(
            "bad_transition",
            "seule une campagne programmée ou active peut être mise en pause",
            "only a scheduled or active campaign can be paused",
        )
    return campaign.model_copy(update={"status": "paused", "updated_at": now, "version": campaign.version + 1})


def end(campaign: Campaign, now: float) -> Campaign:
    if campaign.status_at(now) == "ended":
        raise Conflict("bad_transition", "campagne déjà terminée", "the campaign has already ended")
    return campaign.model_copy(
        update={"status": "ended", "ended_at": now, "updated_at": now, "version": campaign.version + 1}
    )


def _check_ready(campaign: Campaign, now: float) -> None:
    spec = campaign.spec
    if spec.content.valid_until < local(now).date():
        raise CampaignError("offer_expired", "l'offre a déjà expiré", "the offer has already expired")
    if spec.end_at is not None and spec.end_at.timestamp() <= now:
        raise CampaignError("end_in_past", "la fin de campagne est passée", "the campaign's end is in the past")
    if spec.targeting.trigger == "scheduled":
        if spec.send_at is None:
            raise CampaignError("no_send_at", "date d'envoi requise", "a send time is required")
        if (spec.start_at and spec.send_at < spec.start_at) or (spec.end_at and spec.send_at >= spec.end_at):
            raise CampaignError(
                "send_at_outside", "l'envoi doit tomber pendant la campagne", "the send must fall within the campaign"
            )
