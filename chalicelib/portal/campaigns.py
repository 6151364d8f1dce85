"""The portal's campaign views: who may manage which campaign, and what each campaign route returns.

Access, decided from the verified claims and the directory on every request (a revoked delegation
stops the operator at once):

- a merchant manages the campaigns of its own merchant account, for its own shops;
- the operator manages those of merchants who currently delegate to it;
- a union manager manages its union's union-wide campaigns, for the union's member shops. Member
  shops are the union's business, not the manager's to see one by one: a union manager is never
  shown a member's shop id or name (the campaign says "all member shops", and the results are the
  whole campaign's, never one shop's);
- the admin (CCI, city) manages every campaign.

A campaign the caller may not manage is reported as not found. Coupons are validated by the shops'
side: a merchant (or the operator for it, or the admin) validates codes of the campaigns that cover
its shops, union campaigns included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.errors import CampaignError
from chalicelib.campaigns.errors import Conflict as CampaignConflict
from chalicelib.campaigns.model import Campaign, CampaignSpec, Channel, Owner
from chalicelib.campaigns.ports import SendFailure
from chalicelib.campaigns.results import campaign_results
from chalicelib.campaigns.service import OfferService
from chalicelib.portal.directory import Directory
from chalicelib.portal.errors import Conflict, Forbidden, InvalidRequest, NotFound
from chalicelib.portal.tokens import Principal

ACTIONS = ("schedule", "resume", "pause", "end")
UNION_SHOPS = "union-members"


class CampaignIn(BaseModel):
    """What the campaign form sends. ``merchant_id`` names the owner when the caller acts for a
    merchant (operator, admin); a union manager's campaigns are its union's; shops of a union campaign
    are always all its members (set by the server)."""

    model_config = ConfigDict(extra="forbid")

    merchant_id: str | None = Field(default=None, max_length=64)
    union_id: str | None = Field(default=None, max_length=64)
    spec: dict[str, Any]
    version: int | None = None  # optimistic lock on edit: the version the form was loaded with


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = "email"


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=3, max_length=40)


def parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        raise InvalidRequest(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err["loc"])
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "données invalides / invalid data — " + " ; ".join(parts)


@dataclass
class CampaignViews:
    principal: Principal
    directory: Directory
    service: OfferService
    clock: Callable[[], float] = time.time
    own_phone: Callable[[], str | None] = lambda: None  # the signed-in user's mobile (SMS test sends)

    # --- who may do what ------------------------------------------------------------------------

    def owners(self) -> list[dict[str, Any]]:
        """The owners the caller may manage campaigns for, with the shops each may target."""
        p, d = self.principal, self.directory
        merchants = d.merchants()
        shops = d.shops()
        out: list[dict[str, Any]] = []
        if p.role in ("merchant", "operator", "admin"):
            for m in merchants:
                if (
                    p.role == "admin"
                    or (p.role == "merchant" and m.merchant_id == p.merchant_id)
                    or (p.role == "operator" and m.delegated_to_operator)
                ):
                    own = [{"shop_id": s.shop_id, "name": s.name} for s in shops if s.merchant_id == m.merchant_id]
                    out.append({"kind": "merchant", "id": m.merchant_id, "name": m.name, "shops": own})
        if p.role in ("union", "admin"):
            for u in d.unions():
                if p.role == "admin" or u.union_id == p.union_id:
                    members = self._union_shops(u.union_id)
                    shown = [{"shop_id": UNION_SHOPS, "name": f"Tous les membres ({len(members)}) / All members"}]
                    out.append({"kind": "union", "id": u.union_id, "name": u.name, "shops": shown})
        return out

    def _union_shops(self, union_id: str) -> tuple[str, ...]:
        members = {m.merchant_id for m in self.directory.merchants() if m.union_id == union_id}
        return tuple(s.shop_id for s in self.directory.shops() if s.merchant_id in members)

    def _may_manage(self, owner: Owner) -> bool:
        return any(o["kind"] == owner.kind and o["id"] == owner.id for o in self.owners())

    def _campaign(self, campaign_id: str) -> Campaign:
        campaign = self.service.campaigns.get(campaign_id)
        if campaign is None or not self._may_manage(campaign.owner):
            raise NotFound(f"campagne inconnue / unknown campaign: {campaign_id}")
        return campaign

    def _owner_for(self, data: CampaignIn) -> Owner:
        p = self.principal
        if data.union_id or (p.role == "union" and not data.merchant_id):
            owner = Owner(kind="union", id=data.union_id or p.union_id or "none")
        elif data.merchant_id or p.role == "merchant":
            owner = Owner(kind="merchant", id=data.merchant_id or p.merchant_id or "none")
        else:
            raise InvalidRequest("« merchant_id » ou « union_id » requis / merchant_id or union_id required")
        if not self._may_manage(owner):
            raise NotFound("commerçant ou union inconnu / unknown merchant or union")
        return owner

    def _spec(self, owner: Owner, raw: dict[str, Any]) -> CampaignSpec:
        raw = dict(raw)
        if owner.kind == "union":
            raw["shop_ids"] = list(self._union_shops(owner.id))
            if not raw["shop_ids"]:
                raise InvalidRequest("cette union n'a pas de boutique membre / this union has no member shop")
        try:
            spec = CampaignSpec.model_validate(raw)
        except ValidationError as exc:
            raise InvalidRequest(_explain(exc)) from None
        if owner.kind == "merchant":
            allowed = {s.shop_id for s in self.directory.shops() if s.merchant_id == owner.id}
            if not set(spec.shop_ids) <= allowed:
                raise NotFound("boutique inconnue / unknown shop")
        with _domain_errors():
            self.service.policy.check_rules(spec.rules)
        return spec

    # --- views ----------------------------------------------------------------------------------

    def listing(self) -> dict[str, Any]:
        owners = self.owners()
        keys = [f"{o['kind']}:{o['id']}" for o in owners]
        now = self.clock()
        campaigns = [self.to_json(c, now) for c in self.service.campaigns.for_owners(keys)]
        return {"campaigns": campaigns, "owners": owners, "table": self._table(campaigns), "policy": self.policy()}

    def policy(self) -> dict[str, Any]:
        """The platform's caps, quiet hours and prices, as the form states them to the merchant (one
        definition: the rules the offers function applies)."""
        p = self.service.policy
        return {
            "caps": dict(vars(p.caps)),
            "quiet": {ch: p.quiet_hours(ch).model_dump() for ch in ("email", "sms")},
            "prices_eur": {
                "email": p.prices.email_ueur / 1_000_000,
                "sms_segment": p.prices.sms_segment_ueur / 1_000_000,
            },
        }

    def create(self, body: Any) -> dict[str, Any]:
        data = parse(CampaignIn, body)
        owner = self._owner_for(data)
        campaign = lifecycle.create(self._spec(owner, data.spec), owner, self.principal.sub, self.clock())
        self.service.campaigns.put(campaign, expected_version=None)
        return self.to_json(campaign, self.clock())

    def get(self, campaign_id: str) -> dict[str, Any]:
        return self.to_json(self._campaign(campaign_id), self.clock())

    def update(self, campaign_id: str, body: Any) -> dict[str, Any]:
        data = parse(CampaignIn, body)
        campaign = self._campaign(campaign_id)
        if data.version is not None and data.version != campaign.version:
            raise Conflict(
                "la campagne a été modifiée entre-temps, rechargez la page / the campaign changed meanwhile, reload"
            )
        with _domain_errors():
            edited = lifecycle.edit(campaign, self._spec(campaign.owner, data.spec), self.clock())
            self.service.campaigns.put(edited, expected_version=campaign.version)
        return self.to_json(edited, self.clock())

    def transition(self, campaign_id: str, body: Any) -> dict[str, Any]:
        action = parse(StatusIn, body).action
        if action not in ACTIONS:
            raise InvalidRequest(f"action inconnue / unknown action ({', '.join(ACTIONS)})")
        campaign = self._campaign(campaign_id)
        now = self.clock()
        step = {"schedule": lifecycle.schedule, "resume": lifecycle.schedule, "pause": lifecycle.pause}
        with _domain_errors():
            changed = step.get(action, lifecycle.end)(campaign, now)
            self.service.campaigns.put(changed, expected_version=campaign.version)
        return self.to_json(changed, now)

    def preview(self, campaign_id: str, channel: str | None) -> dict[str, Any]:
        chosen = parse(ChannelIn, {"channel": channel or "email"}).channel
        message = self.service.preview(self._campaign(campaign_id), chosen)
        return {
            "channel": message.channel,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "segments": message.segments,
            "cost_eur": message.cost_ueur / 1_000_000,
        }

    def test_send(self, campaign_id: str, body: Any) -> dict[str, Any]:
        """The preview to the signed-in user: by e-mail to their own address, or as an SMS to their
        own mobile number (the one the admin recorded on their account), never to anyone else."""
        chosen = parse(ChannelIn, body).channel
        campaign = self._campaign(campaign_id)
        if chosen == "email":
            to = self.principal.email
            if not to:
                raise InvalidRequest("pas d'e-mail sur ce compte / no e-mail on this account")
        else:
            to = self.own_phone() or ""
            if not to:
                raise InvalidRequest(
                    "pas de numéro de portable sur ce compte : l'administrateur l'ajoute dans Gestion > "
                    "Utilisateurs / no mobile number on this account: the admin adds it under Management > Users"
                )
        try:
            message_id = self.service.test_send(campaign, chosen, to, self.principal.sub)
        except SendFailure as exc:
            if exc.code == "test_send_limit":
                raise Conflict("trop d'envois de test aujourd'hui / too many test sends today") from None
            if exc.code == "opted_out":
                raise InvalidRequest(
                    "ce numéro a répondu STOP : plus aucun SMS ne lui est envoyé / this number replied STOP"
                ) from None
            raise InvalidRequest(f"envoi refusé / send refused: {exc.code}") from None
        return {"sent_to": to, "message_id": message_id, "channel": chosen}

    def results(self, campaign_id: str) -> dict[str, Any]:
        campaign = self._campaign(campaign_id)
        ledger = self.service.ledger
        result = campaign_results(
            campaign,
            ledger.for_campaign(campaign_id),
            self.service.visits,
            ledger.budget_use(campaign_id),
            self.clock(),
        ).to_dict()
        result["title"] = campaign.spec.name
        result["table"] = {
            "columns": [
                {"key": "day", "label": "Jour / Day"},
                {"key": "targeted", "label": "Ciblés / Targeted"},
                {"key": "sent", "label": "Envoyés / Sent"},
                {"key": "clicked", "label": "Cliqués / Clicked"},
                {"key": "redeemed", "label": "Utilisés / Redeemed"},
            ],
            "rows": result["by_day"],
        }
        return result

    def redeem(self, body: Any) -> dict[str, Any]:
        if self.principal.role == "union":
            raise Forbidden("la validation se fait en boutique / codes are validated by the shops")
        code = parse(CodeIn, body).code
        mine = self._redeemable()
        outcome = self.service.redeem(code, mine, self.principal.sub)
        if outcome.status == "unknown":
            raise NotFound("code inconnu / unknown code")
        return {"status": outcome.status, "campaign_id": outcome.campaign_id, "title": outcome.title}

    def _redeemable(self) -> dict[str, Campaign]:
        """Campaigns whose codes the caller's shops take: their merchants' and their unions'."""
        shops = {s["shop_id"] for o in self.owners() if o["kind"] == "merchant" for s in o["shops"]}
        merchants = {o["id"] for o in self.owners() if o["kind"] == "merchant"}
        unions = {m.union_id for m in self.directory.merchants() if m.merchant_id in merchants and m.union_id}
        keys = [f"merchant:{m}" for m in merchants] + [f"union:{u}" for u in unions]
        return {
            c.campaign_id: c
            for c in self.service.campaigns.for_owners(keys)
            if c.owner.kind == "merchant" or set(c.spec.shop_ids) & shops
        }

    # --- serialization --------------------------------------------------------------------------

    def to_json(self, campaign: Campaign, now: float) -> dict[str, Any]:
        data = campaign.model_dump(mode="json", exclude={"control_salt"})
        data["status"] = campaign.status_at(now)
        data["stored_status"] = campaign.status
        if campaign.owner.kind == "union":
            # Member shops are not the union manager's to see one by one (nor anyone's but the admin's).
            data["spec"]["shop_ids"] = [UNION_SHOPS] if self.principal.role != "admin" else data["spec"]["shop_ids"]
            data["member_shops"] = len(campaign.spec.shop_ids)
        return data

    @staticmethod
    def _table(campaigns: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "columns": [
                {"key": "name", "label": "Campagne / Campaign"},
                {"key": "status", "label": "État / Status"},
                {"key": "trigger", "label": "Déclencheur / Trigger"},
                {"key": "valid_until", "label": "Valable jusqu'au / Valid until"},
            ],
            "rows": [
                {
                    "name": c["spec"]["name"],
                    "status": c["status"],
                    "trigger": c["spec"]["targeting"]["trigger"],
                    "valid_until": c["spec"]["content"]["valid_until"],
                }
                for c in campaigns
            ],
        }


@contextmanager
def _domain_errors() -> Iterator[None]:
    """The campaign domain's refusals as the portal's HTTP errors (409 for state, 400 otherwise)."""
    try:
        yield
    except CampaignConflict as exc:
        raise Conflict(str(exc)) from None
    except CampaignError as exc:
        raise InvalidRequest(str(exc)) from None
