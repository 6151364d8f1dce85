"""Opt-in Lambda behind API Gateway: the captive portal, RFC 8908, the probe URLs and the rights pages.

Routes only (Powertools' REST resolver, validated parameters, OpenAPI at ``/openapi.json``); the
logic is in :mod:`functions.optin.service`, the HTML in :mod:`functions.optin.pages`. Nothing here
logs a MAC, a contact, a device hash or a consumer pseudonym.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from functools import cache
from typing import Annotated, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Form, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.consent.holders import consumer_data_holders
from chalicelib.consent.keys import keys
from chalicelib.consent.records import PURPOSES, VIA_MANAGE_PAGE, VIA_MESSAGE_LINK
from chalicelib.consent.settings import settings
from chalicelib.consent.texts import consent_screen, pick_lang
from chalicelib.portal.errors import is_outage
from functions.observability import count, logger, tracer
from functions.optin import pages
from functions.optin.aws import (
    ConflictError,
    DynamoConsentStore,
    DynamoControllers,
    DynamoGrants,
    DynamoRateLimiter,
    S3TextArchive,
    SesSnsMessenger,
)
from functions.optin.captive import CAPTIVE_JSON, PROBES, captive_json
from functions.optin.service import (
    Choices,
    ErasureUnfinished,
    OptinDeps,
    OptinError,
    OptinService,
    PortalSession,
    RateLimited,
)
from functions.optin.triggers import allowlist_trigger
from functions.optin.unifi import ParameterControllerApi

app = APIGatewayRestResolver(enable_validation=True)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' "
    "http: https:; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


#: What each status means on this API (the OpenAPI document lists, per route, the ones it may answer).
STATUSES: dict[int, str] = {
    200: "La page / the page",
    204: "Accès Internet ouvert / Internet access granted",
    302: "Vers le portail (appareil pas encore autorisé) / to the portal (device not granted yet)",
    400: "Demande incomplète ou invalide / incomplete or invalid request",
    403: "Redirection, session ou lien refusés / redirect, session or link refused",
    404: "Lien sans objet / nothing behind this link",
    409: "Demande concurrente, réessayer / concurrent change, try again",
    429: "Trop de demandes, voir Retry-After / too many requests, see Retry-After",
    503: "Service momentanément indisponible, voir Retry-After / temporarily unavailable, see Retry-After",
}


def answers(*statuses: int, ok: bool = True) -> dict[int, OpenAPIResponse]:
    """The statuses a route may answer, for the generated OpenAPI document: 200 (unless ``ok`` is False),
    ``statuses``, and on every route 400 (parameters refused) and 503 (an AWS outage)."""
    codes = sorted({*((200,) if ok else ()), *statuses, 400, 503})
    return {code: {"description": STATUSES[code]} for code in codes}


def request_service() -> OptinService:
    """The service for this request: without a configured public URL, links point back at the API itself."""
    current = service()
    if "WIFIVIP_OPTIN_BASE_URL" not in os.environ:
        rc = app.current_event.request_context
        current.settings = replace(current.settings, base_url=f"https://{rc.domain_name}/{rc.stage}")
    return current


@cache
def service() -> OptinService:
    s = settings()
    deps = OptinDeps(
        store=DynamoConsentStore(),
        controllers=DynamoControllers(),
        grants=DynamoGrants(),
        limiter=DynamoRateLimiter(),
        messenger=SesSnsMessenger(boto3.client("ses"), boto3.client("sns"), s.sender, s.sms_sender_id),
        archive=S3TextArchive(boto3.client("s3"), s.bucket or os.environ.get("WIFIVIP_BUCKET", "")),
        allowlist=allowlist_trigger(),
        holders=consumer_data_holders(),
        controller_api=ParameterControllerApi(boto3.client("ssm")),
    )
    return OptinService(deps, keys(), s)


def html(body: str, status: int = 200) -> Response[str]:
    return Response(status, "text/html; charset=utf-8", body, dict(SECURITY_HEADERS))


def redirect(location: str) -> Response[str]:
    return Response(302, "text/plain", "", {**SECURITY_HEADERS, "Location": location})


def client_ip() -> str:
    return str(app.current_event.request_context.identity.source_ip or "unknown")


def single_params() -> dict[str, str]:
    """The query parameters; a repeated one makes the whole set unusable (a signature covers one value)."""
    multi = app.current_event.multi_value_query_string_parameters or {}
    if any(len(v) != 1 for v in multi.values()):
        return {}
    return {k: v[0] for k, v in multi.items()}


@app.exception_handler(OptinError)
def optin_error(exc: OptinError) -> Response[str]:
    count("OptinRefused")
    logger.info("request refused", extra={"reason": exc.reason})
    return html(pages.error_page(_lang(), exc.reason), exc.status)


@app.exception_handler(RateLimited)
def rate_limited(exc: RateLimited) -> Response[str]:
    """429 with Retry-After, in French then English whatever language was asked (a flood has no language)."""
    count("OptinRateLimited")
    body = pages.bilingual_page("err_title", "rate_limited", "retry_in", minutes=str(-(-exc.retry_after // 60)))
    return _retry_later(429, body, exc.retry_after)


@app.exception_handler(ErasureUnfinished)
def erasure_unfinished(_exc: ErasureUnfinished) -> Response[str]:
    count("ErasureUnfinished")
    logger.warning("erasure stopped by an outage; marked for the daily job")
    return _retry_later(503, pages.bilingual_page("err_title", "erase_unfinished"), 300)


@app.exception_handler(Exception)
def outage(exc: Exception) -> Response[str]:
    """DynamoDB, S3 or SSM down or throttling us (after botocore's retries): 503, not a crash."""
    if not is_outage(exc):
        raise exc
    count("OptinUnavailable")
    logger.warning("AWS outage", extra={"error": type(exc).__name__})
    return _retry_later(503, pages.bilingual_page("err_title", "unavailable"), 60)


def _retry_later(status: int, body: str, seconds: int) -> Response[str]:
    return Response(status, "text/html; charset=utf-8", body, {**SECURITY_HEADERS, "Retry-After": str(seconds)})


@app.exception_handler(ConflictError)
def conflict(_exc: ConflictError) -> Response[str]:
    return html(pages.error_page(_lang(), "conflict"), 409)


@app.exception_handler(RequestValidationError)
def invalid(_exc: RequestValidationError) -> Response[str]:
    return html(pages.error_page(_lang(), "bad_request"), 400)


@app.exception_handler(RecursionError)
def nested_too_deep(_exc: RecursionError) -> Response[str]:
    """A JSON body thousands of levels deep stops Powertools' body parser before validation can refuse it:
    the same 400 as any other malformed request, rather than a crashed invocation (502)."""
    logger.info("request refused", extra={"reason": "nested_too_deep"})
    return html(pages.error_page(_lang(), "bad_request"), 400)


def _lang() -> str:
    params = app.current_event.query_string_parameters or {}
    return pick_lang(params.get("lang"))


# ----- captive portal ---------------------------------------------------------------------------------


@app.get("/", responses=answers())
def home(lang: Annotated[str, Query(max_length=5)] = "fr") -> Response[str]:
    return html(pages.home_page(pick_lang(lang)))


@app.get("/portal", responses=answers(403))
def portal(lang: Annotated[str, Query(max_length=5)] = "fr") -> Response[str]:
    """Entry from the WiFi controller's signed redirect (vendor MAC parameter + wv_ctrl, wv_ts, wv_sig)."""
    params = single_params()
    if not params.get("wv_sig"):
        return html(pages.home_page(pick_lang(lang)))
    svc = request_service()
    session = svc.open_portal(params, pick_lang(lang))
    count("PortalOpened")
    return _form(svc, session)


@app.get("/portal/form", responses=answers(403))
def portal_form(
    s: Annotated[str, Query(max_length=4096)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    """The same form in another language (the session is resealed so the recorded text is the one shown)."""
    svc = request_service()
    session = svc.session(s)
    return _form(svc, PortalSession(**{**session.__dict__, "lang": pick_lang(lang)}))


def _form(
    svc: OptinService,
    session: PortalSession,
    errors: tuple[str, ...] = (),
    values: dict[str, str] | None = None,
    ticked: tuple[str, ...] = (),
) -> Response[str]:
    screen = consent_screen(session.lang, svc.settings)
    token = session.seal(svc.keys, svc.clock())
    return html(pages.portal_form(screen, token, session.venue, errors, values, ticked), 400 if errors else 200)


@app.post("/portal/submit", responses=answers(403, 409, 429))
def portal_submit(
    s: Annotated[str, Form(max_length=4096)],
    choice: Annotated[str, Form(max_length=10)] = "refuse",
    purpose: Annotated[list[str] | None, Form()] = None,
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    first_name: Annotated[str, Form(max_length=80)] = "",
) -> Response[str]:
    svc = request_service()
    session = svc.session(s)
    lang = session.lang
    if choice != "accept" or not purpose:
        granted = svc.refuse(session)
        count("PortalRefused")
        return _done(svc, session, (), False, None, granted)
    chosen = frozenset(p for p in purpose if p in PURPOSES)
    result = svc.submit(session, Choices(chosen, email, phone, first_name), client_ip())
    if result.errors:
        values = {"email": email, "phone": phone, "first_name": first_name}
        return _form(svc, session, result.errors, values, tuple(chosen))
    count("PortalConsented")
    token = result.session.seal(svc.keys, svc.clock())
    if result.needs_sms_code:
        return html(pages.sms_code_page(lang, token))
    notice = pages.t(lang, "send_failed") if result.undelivered else None
    return _done(svc, result.session, result.consented, result.email_sent, result.manage_token, result.granted, notice)


def _done(
    svc: OptinService,
    session: PortalSession,
    consented: tuple[str, ...],
    email_sent: bool,
    manage_token: str | None,
    granted: bool,
    notice: str | None = None,
) -> Response[str]:
    """The end page; when the controller could not be told (UniFi unreachable), 503 and "try again"."""
    if not granted:
        count("ControllerGrantFailed")
    retry = None if granted else session.seal(svc.keys, svc.clock())
    page = pages.done_page(
        session.lang, consented, email_sent, _manage_url(manage_token), session.next_url, notice=notice,
        retry_token=retry,
    )  # fmt: skip
    return html(page, 200 if granted else 503)


def _manage_url(token: str | None) -> str | None:
    return f"{settings().base_url}/me/manage?t={token}" if token else None


@app.post("/portal/sms", responses=answers(403, 409, 429))
def portal_sms(
    s: Annotated[str, Form(max_length=4096)],
    action: Annotated[str, Form(max_length=10)] = "confirm",
    code: Annotated[str, Form(max_length=12)] = "",
) -> Response[str]:
    svc = request_service()
    session = svc.session(s)
    if action == "skip":
        granted = svc.skip_sms_code(session)
    else:
        checked = svc.confirm_sms_code(session, code, client_ip())
        if checked.status != "confirmed":
            return html(pages.sms_code_page(session.lang, s, wrong=True), 400)
        granted = checked.granted
    done = svc.summary(session)
    return _done(svc, session, done.consented, done.email_sent, done.manage_token, granted)


@app.post("/portal/grant", responses=answers(403, 429))
def portal_grant(s: Annotated[str, Form(max_length=4096)]) -> Response[str]:
    """ "Try again" when the WiFi controller could not be told to let the device through."""
    svc = request_service()
    session = svc.session(s)
    granted = svc.retry_grant(session, client_ip())
    done = svc.summary(session)
    return _done(svc, session, done.consented, done.email_sent, done.manage_token, granted)


@app.get("/portal/sms", responses=answers(403))
def portal_sms_page(
    s: Annotated[str, Query(max_length=4096)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    """The code page in another language (the state stays in the sealed session)."""
    request_service().session(s)
    return html(pages.sms_code_page(pick_lang(lang), s))


@app.post("/portal/forget", responses=answers(403, 409))
def portal_forget(s: Annotated[str, Form(max_length=4096)]) -> Response[str]:
    svc = request_service()
    session = svc.session(s)
    svc.withdraw_device(session)
    return html(pages.message_page(session.lang, "withdraw_title", pages.t(session.lang, "device_forgotten")))


# ----- double opt-in ----------------------------------------------------------------------------------


@app.get("/confirm", responses=answers())
def confirm_landing(
    t: Annotated[str, Query(max_length=1024)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    return html(pages.button_page(pick_lang(lang), "confirm_title", "confirm_text", "/confirm", t, "confirm_button"))


@app.post("/confirm", responses=answers(409, 429))
def confirm(t: Annotated[str, Form(max_length=1024)], lang: Annotated[str, Form(max_length=5)] = "fr") -> Response[str]:
    lang = pick_lang(lang)
    result = request_service().confirm_link(t, client_ip())
    if result.status == "invalid":
        return html(pages.message_page(lang, "confirm_title", pages.t(lang, "link_invalid"), ok=False), 400)
    count("ContactConfirmed")
    text = pages.t(lang, "confirmed" if result.status == "confirmed" else "already")
    return html(pages.message_page(lang, "confirm_title", text))


# ----- withdrawal and rights --------------------------------------------------------------------------


@app.get("/w", responses=answers())
def withdraw_landing(
    t: Annotated[str, Query(max_length=1024)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    return html(pages.button_page(pick_lang(lang), "withdraw_title", "withdraw_text", "/w", t, "withdraw_button"))


@app.post("/w", responses=answers(403, 409, 429))
def withdraw_by_link(
    t: Annotated[str, Form(max_length=1024)], lang: Annotated[str, Form(max_length=5)] = "fr"
) -> Response[str]:
    lang = pick_lang(lang)
    svc = request_service()
    svc.limit_ip("manage-ip", client_ip())
    consumer_ids, purposes = svc.withdraw_scope(t)
    done = svc.withdraw(consumer_ids, purposes, VIA_MESSAGE_LINK)
    return html(pages.message_page(lang, "withdraw_title", pages.t(lang, "withdrawn_text" if done else "nothing")))


@app.get("/me", responses=answers())
def rights(lang: Annotated[str, Query(max_length=5)] = "fr") -> Response[str]:
    return html(pages.rights_request_page(pick_lang(lang)))


@app.post("/me/request", responses=answers(429))
def rights_request(
    contact: Annotated[str, Form(max_length=254)], lang: Annotated[str, Form(max_length=5)] = "fr"
) -> Response[str]:
    lang = pick_lang(lang)
    try:
        request_service().request_rights_link(contact, client_ip())
    except OptinError as exc:
        if exc.reason == "contact_invalid":
            return html(pages.rights_request_page(lang, "contact_invalid"), 400)
        raise
    return html(pages.message_page(lang, "rights_title", pages.t(lang, "rights_sent")))


@app.get("/me/manage", responses=answers(403, 404, 429))
def manage(
    t: Annotated[str, Query(max_length=1024)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    svc = request_service()
    svc.limit_ip("manage-ip", client_ip())
    ids = svc.manage_scope(t)
    if not ids:
        return html(
            pages.message_page(pick_lang(lang), "manage_title", pages.t(pick_lang(lang), "link_invalid"), ok=False), 404
        )
    return html(pages.manage_page(pick_lang(lang), t, svc.consumers(ids)))


@app.post("/me/withdraw", responses=answers(403, 409, 429))
def manage_withdraw(
    t: Annotated[str, Form(max_length=1024)],
    lang: Annotated[str, Form(max_length=5)] = "fr",
    c: Annotated[str, Form(max_length=64)] = "",
    purpose: Annotated[str, Form(max_length=20)] = "",
) -> Response[str]:
    lang = pick_lang(lang)
    svc = request_service()
    svc.limit_ip("manage-ip", client_ip())
    ids = svc.manage_scope(t)
    targets = [c] if c else ids
    done = svc.withdraw([i for i in targets if i in ids], [purpose] if purpose in PURPOSES else [], VIA_MANAGE_PAGE)
    remaining = svc.manage_scope(t)
    if remaining:
        return html(pages.manage_page(lang, t, svc.consumers(remaining)))
    return html(pages.message_page(lang, "withdraw_title", pages.t(lang, "withdrawn_text" if done else "nothing")))


@app.get("/me/data", responses=answers(403, 429))
def download(t: Annotated[str, Query(max_length=1024)]) -> Response[str]:
    svc = request_service()
    svc.limit_ip("manage-ip", client_ip())
    body = json.dumps(svc.export(svc.manage_scope(t)), ensure_ascii=False, indent=2)
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="mes-donnees-wifivip.json"'}
    return Response(200, "application/json; charset=utf-8", body, headers)


@app.get("/me/erase", responses=answers())
def erase_confirm(
    t: Annotated[str, Query(max_length=1024)], lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    return html(pages.erase_confirm_page(pick_lang(lang), t))


@app.post("/me/erase", responses=answers(403, 409, 429))
def erase(
    t: Annotated[str, Form(max_length=1024)],
    confirm: Annotated[str, Form(max_length=5)] = "",
    lang: Annotated[str, Form(max_length=5)] = "fr",
) -> Response[str]:
    lang = pick_lang(lang)
    if confirm != "yes":
        return html(pages.erase_confirm_page(lang, t), 400)
    svc = request_service()
    svc.limit_ip("manage-ip", client_ip())
    receipts = svc.erase(svc.manage_scope(t))
    count("ConsumerErased")
    return html(pages.message_page(lang, "manage_title", pages.t(lang, "erased" if receipts else "erased_no_receipt")))


# ----- RFC 8908 and the probe URLs --------------------------------------------------------------------


@app.get("/api/captive", responses=answers())
def captive_api() -> Response[str]:
    """RFC 8908: the client is known from the controller's signed parameters or a portal session ``s``."""
    svc = request_service()
    params = single_params()
    known = svc.device_from(params)
    base = svc.settings.base_url
    if known is None:
        body = captive_json(f"{base}/portal", None, None, known_client=False)
    else:
        controller_id, device = known
        session_url = _portal_url_for(svc, params)
        body = captive_json(
            session_url, f"{base}/venue?c={controller_id}", svc.seconds_remaining(controller_id, device), True
        )
    return Response(
        200, CAPTIVE_JSON, json.dumps(body), {"Cache-Control": "private", "X-Content-Type-Options": "nosniff"}
    )


def _portal_url_for(svc: OptinService, params: dict[str, str]) -> str:
    base = svc.settings.base_url
    if params.get("s"):
        return f"{base}/portal/form?s={params['s']}"
    query = app.current_event.raw_event.get("multiValueQueryStringParameters") or {}
    from urllib.parse import urlencode

    return f"{base}/portal?{urlencode({k: v[0] for k, v in query.items()})}"


@app.get("/venue", responses=answers())
def venue(
    c: Annotated[str, Query(max_length=64)] = "", lang: Annotated[str, Query(max_length=5)] = "fr"
) -> Response[str]:
    controller = request_service().controller(c) if c else None
    name = controller.venue_name if controller else "wifivip Niort"
    return html(pages.venue_page(pick_lang(lang), name, controller.venue_info_url if controller else None))


def _probe(path: str) -> Response[str]:
    svc = request_service()
    params = single_params()
    known = svc.device_from(params)
    if known is not None and svc.seconds_remaining(*known) is not None:
        answer = PROBES[path]
        return Response(answer.status, answer.content_type, answer.body, {"Cache-Control": "no-store"})
    return redirect(_portal_url_for(svc, params) if known else f"{svc.settings.base_url}/portal")


def _register_probe(path: str) -> None:
    app.get(path, responses=answers(PROBES[path].status, 302, ok=False))(lambda: _probe(path))


for _path in PROBES:
    _register_probe(_path)


@app.get("/openapi.json", responses=answers())
def openapi() -> Response[str]:
    return Response(200, "application/json", app.get_openapi_json_schema(title="wifivip opt-in", version="1"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


@logger.inject_lambda_context
def expiry_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Daily (EventBridge): end confirmations never made and audience consents older than 13 months."""
    ended = service().expire()
    count("ConsentsExpired", sum(ended.values()))
    return ended
