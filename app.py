"""The wifivip portal (Chalice): this file only wires routes; the logic lives in chalicelib/portal/.

Every route but the public ones (pages, OpenAPI, sign-in) runs behind ``portal_auth``, a built-in
authorizer that verifies the Cognito ID token; each view then decides access from the verified
claims (chalicelib/portal/access.py). ``tests/portal/test_tenancy.py`` walks every route with every role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import AuthResponse, Chalice, Response

from chalicelib.portal import (
    access,
    adoption,
    campaigns,
    kpi_queries,
    management,
    offer_pages,
    periods,
    report,
    schemas,
    tokens,
    views,
)
from chalicelib.portal.accounts import Accounts, DynamoThrottle, normalize_email
from chalicelib.portal.errors import NotFound
from chalicelib.portal.http import (
    aws,
    body,
    client_address,
    mapped_errors,
    principal,
    query,
    respond,
    rows_table,
    view_context,
)
from chalicelib.portal.offers import offer_service
from chalicelib.portal.openapi import document
from chalicelib.portal.settings import settings
from chalicelib.portal.static import static_file

app = Chalice(app_name="wifivip-portal")
app.api.binary_types.append("application/pdf")


@app.authorizer()
def portal_auth(auth_request: Any) -> AuthResponse:
    """Cognito ID token check (signature against the pool's JWKS, issuer, audience, expiry)."""
    try:
        who = tokens.verify_id_token(tokens.bearer(auth_request.token))
    except tokens.InvalidToken:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=who.sub, context=who.context())


def _req() -> Any:
    return app.current_request


def _accounts() -> Accounts:
    return Accounts(aws("cognito-idp"), settings(), DynamoThrottle())


def _admin() -> views.ViewContext:
    ctx = view_context(_req())
    access.require_role(ctx.principal, "admin")
    return ctx


# Pages and documentation (public) ---------------------------------------------------------------


@app.route("/")
def index() -> Response:
    """The portal's single page (French first); it signs in and loads each area on demand."""
    return static_file("index.html")


@app.route("/static/{name}")
def static(name: str) -> Response:
    """Scripts, styles and the vendored Chart.js."""
    return static_file(name)


BODIES = {
    ("/api/auth/signin", "POST"): schemas.SignIn,
    ("/api/auth/new-password", "POST"): schemas.NewPassword,
    ("/api/auth/forgot", "POST"): schemas.Forgot,
    ("/api/auth/reset", "POST"): schemas.Reset,
    ("/api/me/settings", "PUT"): schemas.MerchantSettings,
    ("/api/admin/merchants", "POST"): schemas.MerchantIn,
    ("/api/admin/merchants/{merchant_id}", "PUT"): schemas.MerchantUpdate,
    ("/api/admin/unions", "POST"): schemas.UnionIn,
    ("/api/admin/shops", "POST"): schemas.ShopIn,
    ("/api/admin/sensors", "POST"): schemas.SensorIn,
    ("/api/admin/users", "POST"): schemas.UserIn,
    ("/api/admin/users/{username}", "PUT"): schemas.UserUpdate,
}


@app.route("/api/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI document of this API, for those who want their data."""
    return document(app, BODIES)


# Sign-in (public, rate-limited) ---------------------------------------------------------------


@app.route("/api/auth/signin", methods=["POST"])
@mapped_errors
def sign_in() -> dict[str, Any]:
    """Sign in with e-mail and password; returns the tokens (or a new-password challenge)."""
    data = schemas.parse(schemas.SignIn, body(_req()))
    return _accounts().sign_in(normalize_email(data.email), data.password, client_address(_req()))


@app.route("/api/auth/new-password", methods=["POST"])
@mapped_errors
def new_password() -> dict[str, Any]:
    """Answer the first sign-in's challenge with a permanent password."""
    data = schemas.parse(schemas.NewPassword, body(_req()))
    return _accounts().new_password(
        normalize_email(data.email), data.session, data.new_password, client_address(_req())
    )


@app.route("/api/auth/forgot", methods=["POST"])
@mapped_errors
def forgot_password() -> Response:
    """Send a password reset code by e-mail (same answer whether or not the address is known)."""
    data = schemas.parse(schemas.Forgot, body(_req()))
    _accounts().forgot(normalize_email(data.email), client_address(_req()))
    return Response(body={"sent": True}, status_code=202)


@app.route("/api/auth/reset", methods=["POST"])
@mapped_errors
def reset_password() -> dict[str, Any]:
    """Set a new password with the code received by e-mail."""
    data = schemas.parse(schemas.Reset, body(_req()))
    _accounts().reset(normalize_email(data.email), data.code, data.new_password, client_address(_req()))
    return {"reset": True}


@app.route("/api/auth/signout", methods=["POST"], authorizer=portal_auth)
@mapped_errors
def sign_out() -> dict[str, Any]:
    """Sign out everywhere: the user's refresh and access tokens are revoked."""
    _accounts().sign_out(principal(_req()))
    return {"signed_out": True}


# The caller ------------------------------------------------------------------------------------


@app.route("/api/me", authorizer=portal_auth)
@mapped_errors
def me() -> dict[str, Any]:
    """Who I am, the shops and areas I may see, and the pages of my role."""
    return views.me(view_context(_req()))


@app.route("/api/me/settings", methods=["PUT"], authorizer=portal_auth)
@mapped_errors
def my_settings() -> dict[str, Any]:
    """Merchant: give or revoke the operator's delegation and the union's view of my figures."""
    return management.merchant_settings(principal(_req()), body(_req()))


@app.route("/api/operator/merchants", authorizer=portal_auth)
@mapped_errors
def delegating_merchants() -> dict[str, Any]:
    """Operator: the merchants who currently delegate to the operator, with their shops."""
    return views.delegating_merchants(view_context(_req()))


# KPIs ------------------------------------------------------------------------------------------


@app.route("/api/shops/{shop_id}/today", authorizer=portal_auth)
@mapped_errors
def shop_today(shop_id: str) -> Response:
    """Today so far (visitors now, figures by hour) against the same weekday last week."""
    day = query(_req(), "day")
    parsed = periods.parse_day(day, "day", periods.today_local()) if day else None
    return respond(_req(), views.today(view_context(_req()), shop_id, parsed), f"today-{shop_id}")


@app.route("/api/shops/{shop_id}/sensors", authorizer=portal_auth)
@mapped_errors
def shop_sensors(shop_id: str) -> Response:
    """Health of the shop's sensors: last contact, frames/s, spool depth, losses, silent warning."""
    ctx = view_context(_req())
    shop = access.shop_for(ctx.principal, ctx.directory, shop_id)
    return respond(_req(), views.sensor_health(ctx, [shop]), f"sensors-{shop_id}")


@app.route("/api/kpis/{kind}/{scope_id}", authorizer=portal_auth)
@mapped_errors
def kpi_trends(kind: str, scope_id: str) -> Response:
    """Trends of a shop, street, zone, union or the city: series, previous period, benchmark."""
    lo, hi = periods.parse_range(query(_req(), "from"), query(_req(), "to"))
    granularity = periods.parse_granularity(query(_req(), "granularity"))
    payload = views.trends(view_context(_req()), kind, unquote(scope_id), lo, hi, granularity)
    return respond(_req(), payload, f"trends-{kind}-{scope_id}")


@app.route("/api/kpis/{kind}/{scope_id}/heatmap", authorizer=portal_auth)
@mapped_errors
def kpi_heatmap(kind: str, scope_id: str) -> Response:
    """Influence by time slot: hour of day x weekday (Paris time)."""
    lo, hi = periods.parse_range(query(_req(), "from"), query(_req(), "to"), default_days=28)
    metric = query(_req(), "metric") or "visitors"
    payload = views.heatmap(view_context(_req()), kind, unquote(scope_id), lo, hi, metric)
    return respond(_req(), payload, f"heatmap-{kind}-{scope_id}")


@app.route("/api/sensors", authorizer=portal_auth)
@mapped_errors
def sensors() -> dict[str, Any]:
    """The sensors of the shops I may see."""
    return {"sensors": views.visible_sensors(view_context(_req()), kpi_queries.list_sensors())}


@app.route("/api/sensors/{sensor_id}/kpis", authorizer=portal_auth)
@mapped_errors
def sensor_kpis(sensor_id: str) -> dict[str, Any]:
    """Raw hourly figures of one sensor (UTC hours): probe requests and distinct devices."""
    ctx = view_context(_req())
    if sensor_id not in access.visible_sensor_ids(ctx.principal, ctx.directory):
        raise NotFound(f"capteur inconnu / unknown sensor: {sensor_id}")
    return kpi_queries.sensor_hours(sensor_id, query(_req(), "from"), query(_req(), "to"))


# Admin: the whole centre, adoption, the period report -----------------------------------------


@app.route("/api/admin/centre", authorizer=portal_auth)
@mapped_errors
def admin_centre() -> Response:
    """Admin: KPIs per street and zone, and the plan of shops and sensors."""
    lo, hi = periods.parse_range(query(_req(), "from"), query(_req(), "to"))
    return respond(_req(), views.centre(_admin(), lo, hi), "centre")


@app.route("/api/admin/adoption", authorizer=portal_auth)
@mapped_errors
def admin_adoption() -> Response:
    """Admin: merchants and unions enrolled and active, sensors installed and healthy, per month."""
    ctx = _admin()
    lo_default, hi_default = adoption.default_months(periods.today_local())
    lo = adoption.parse_month(query(_req(), "from"), "from", lo_default)
    hi = adoption.parse_month(query(_req(), "to"), "to", hi_default)
    return respond(_req(), adoption.adoption(ctx, lo, hi), "adoption")


@app.route("/api/admin/report", authorizer=portal_auth)
@mapped_errors
def admin_report() -> Response:
    """Admin: the period report ("bilan d'opération") as a PDF."""
    ctx = _admin()
    lo, hi = periods.parse_range(query(_req(), "from"), query(_req(), "to"), default_days=30)
    pdf = report.build_report(ctx, lo, hi, aws("s3"), settings().bucket)
    return Response(
        body=pdf,
        status_code=200,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="wifivip-bilan-{lo}-{hi}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# Admin: management ------------------------------------------------------------------------------

MERCHANT_COLUMNS = {
    "merchant_id": "Identifiant / Id",
    "name": "Nom / Name",
    "union_id": "Union",
    "delegated_to_operator": "Délègue à l'opérateur / Delegates",
    "shares_with_union": "Partage avec l'union / Shares",
}
SHOP_COLUMNS = {
    "shop_id": "Identifiant / Id",
    "name": "Nom / Name",
    "merchant_id": "Commerçant / Merchant",
    "street": "Rue / Street",
    "zone": "Zone",
    "status": "Statut / Status",
}
SENSOR_COLUMNS = {
    "sensor_id": "Capteur / Sensor",
    "shop_id": "Boutique / Shop",
    "street": "Rue / Street",
    "status": "Statut / Status",
    "enrolled_at": "Inscrit le / Enrolled",
}
UNION_COLUMNS = {"union_id": "Identifiant / Id", "name": "Nom / Name", "street": "Rue / Street", "zone": "Zone"}
USER_COLUMNS = {
    "email": "E-mail",
    "role": "Rôle / Role",
    "merchant_id": "Commerçant / Merchant",
    "union_id": "Union",
    "phone": "Portable (tests SMS) / Mobile (SMS tests)",
    "enabled": "Actif / Enabled",
    "status": "État / Status",
}


@app.route("/api/admin/merchants", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def admin_merchants() -> Any:
    """Admin: list merchants (GET) or enroll one (POST)."""
    _admin()
    if _req().method == "POST":
        return Response(body=management.create_merchant(body(_req())), status_code=201)
    rows = management.list_merchants()
    return respond(_req(), {"merchants": rows, "table": rows_table(rows, MERCHANT_COLUMNS)}, "merchants")


@app.route("/api/admin/merchants/{merchant_id}", methods=["PUT"], authorizer=portal_auth)
@mapped_errors
def admin_merchant(merchant_id: str) -> dict[str, Any]:
    """Admin: change a merchant (name, union, delegation, sharing)."""
    _admin()
    return management.update_merchant(merchant_id, body(_req()))


@app.route("/api/admin/unions", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def admin_unions() -> Any:
    """Admin: list commercial unions (GET) or enroll one (POST)."""
    _admin()
    if _req().method == "POST":
        return Response(body=management.create_union(body(_req())), status_code=201)
    rows = management.list_unions()
    return respond(_req(), {"unions": rows, "table": rows_table(rows, UNION_COLUMNS)}, "unions")


@app.route("/api/admin/shops", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def admin_shops() -> Any:
    """Admin: list shops (GET) or enroll one for a merchant (POST)."""
    _admin()
    if _req().method == "POST":
        return Response(body=management.create_shop(body(_req())), status_code=201)
    rows = management.list_shops()
    return respond(_req(), {"shops": rows, "table": rows_table(rows, SHOP_COLUMNS)}, "shops")


@app.route("/api/admin/sensors", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def admin_sensors() -> Any:
    """Admin: list sensors (GET) or enroll one in a shop (POST)."""
    _admin()
    if _req().method == "POST":
        return Response(body=management.enroll_sensor(body(_req())), status_code=201)
    rows = management.list_sensors()
    return respond(_req(), {"sensors": rows, "table": rows_table(rows, SENSOR_COLUMNS)}, "sensors")


@app.route("/api/admin/sensors/{sensor_id}/revoke", methods=["POST"], authorizer=portal_auth)
@mapped_errors
def admin_revoke_sensor(sensor_id: str) -> dict[str, Any]:
    """Admin: revoke a sensor at once (its later batches are quarantined)."""
    _admin()
    return management.revoke_sensor(sensor_id)


@app.route("/api/admin/users", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def admin_users() -> Any:
    """Admin: list portal users with their roles (GET) or invite one (POST)."""
    _admin()
    if _req().method == "POST":
        return Response(body=management.create_user(aws("cognito-idp"), settings(), body(_req())), status_code=201)
    rows = management.list_users(aws("cognito-idp"), settings())
    return respond(_req(), {"users": rows, "table": rows_table(rows, USER_COLUMNS)}, "users")


@app.route("/api/admin/users/{username}", methods=["PUT"], authorizer=portal_auth)
@mapped_errors
def admin_user(username: str) -> dict[str, Any]:
    """Admin: change a user's role or tenant, disable or enable it (signs it out everywhere)."""
    _admin()
    return management.update_user(aws("cognito-idp"), settings(), username, body(_req()))


# Campaigns and "Link" (chalicelib/portal/campaigns.py, offer_pages.py) -------------------------


def _campaigns() -> campaigns.CampaignViews:
    ctx = view_context(_req())

    def own_phone() -> str | None:
        return management.user_phone(aws("cognito-idp"), settings(), ctx.principal)

    return campaigns.CampaignViews(ctx.principal, ctx.directory, offer_service(), own_phone=own_phone)


@app.route("/api/campaigns", methods=["GET", "POST"], authorizer=portal_auth)
@mapped_errors
def campaign_list() -> Any:
    """The campaigns the caller manages and the owners and shops it may target (GET); create one (POST)."""
    if _req().method == "POST":
        return Response(body=_campaigns().create(body(_req())), status_code=201)
    return respond(_req(), _campaigns().listing(), "campaigns")


@app.route("/api/campaigns/{campaign_id}", methods=["GET", "PUT"], authorizer=portal_auth)
@mapped_errors
def campaign_detail(campaign_id: str) -> dict[str, Any]:
    """One campaign (GET); edit it while not running (PUT, optionally with the version it was read at)."""
    if _req().method == "PUT":
        return _campaigns().update(campaign_id, body(_req()))
    return _campaigns().get(campaign_id)


@app.route("/api/campaigns/{campaign_id}/status", methods=["POST"], authorizer=portal_auth)
@mapped_errors
def campaign_status(campaign_id: str) -> dict[str, Any]:
    """Schedule (launch), pause, resume or end a campaign: {"action": "schedule|pause|resume|end"}."""
    return _campaigns().transition(campaign_id, body(_req()))


@app.route("/api/campaigns/{campaign_id}/preview", authorizer=portal_auth)
@mapped_errors
def campaign_preview(campaign_id: str) -> dict[str, Any]:
    """The message a sample consumer would get (``?channel=email|sms``); nothing is sent."""
    return _campaigns().preview(campaign_id, query(_req(), "channel"))


@app.route("/api/campaigns/{campaign_id}/test-send", methods=["POST"], authorizer=portal_auth)
@mapped_errors
def campaign_test_send(campaign_id: str) -> dict[str, Any]:
    """Send the preview to my own e-mail address (20 a day at most)."""
    return _campaigns().test_send(campaign_id, body(_req()))


@app.route("/api/campaigns/{campaign_id}/results", authorizer=portal_auth)
@mapped_errors
def campaign_results(campaign_id: str) -> Response:
    """Targeted, sent, delivered, clicked, redeemed, visits after the offer, uplift vs control, costs."""
    return respond(_req(), _campaigns().results(campaign_id), f"campaign-{campaign_id}")


@app.route("/api/coupons/redeem", methods=["POST"], authorizer=portal_auth)
@mapped_errors
def coupon_redeem() -> dict[str, Any]:
    """A shop validates a code typed at the till (once; shared codes are counted per campaign)."""
    return _campaigns().redeem(body(_req()))


@app.route("/l/{token}")
def tracked_link(token: str) -> Response:
    """A tracked link of an offer (public): the click is counted, then the offer page."""
    target = offer_pages.click(offer_service(), token)
    if target is None:
        return Response(body=offer_pages.NOT_FOUND_PAGE, status_code=404, headers=offer_pages.PAGE_HEADERS)
    return Response(body="", status_code=302, headers={**offer_pages.PAGE_HEADERS, "Location": target})


@app.route("/offre/{token}")
def offer_page(token: str) -> Response:
    """The offer as the consumer shows it at the till (public, by its unguessable token)."""
    page = offer_pages.offer_page(offer_service(), token)
    if page is None:
        return Response(body=offer_pages.NOT_FOUND_PAGE, status_code=404, headers=offer_pages.PAGE_HEADERS)
    return Response(body=page, status_code=200, headers=offer_pages.PAGE_HEADERS)
