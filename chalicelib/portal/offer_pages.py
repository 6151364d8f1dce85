"""The consumer's side of "Link": a tracked short link and the offer page it opens.

``/l/{token}`` counts the click (on the send record) and redirects to ``/offre/{token}``, a small
public page (French first) with the offer, its code and validity: what the consumer shows at the till.
Tokens are 128 random bits; an unknown or malformed one gets a plain 404, whatever it looks like.
The page holds nothing personal: no first name, no contact, no pseudonym.
"""

from __future__ import annotations

import html
import time

from chalicelib.campaigns.calendar import local
from chalicelib.campaigns.coupons import TOKEN_RE
from chalicelib.campaigns.messages import french_date
from chalicelib.campaigns.service import OfferService
from chalicelib.campaigns.templating import render

PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
NOT_FOUND_PAGE = (
    '<!doctype html><html lang="fr"><meta charset="utf-8"><title>Offre introuvable</title>'
    "<p>Cette offre n'existe pas ou n'est plus disponible. <span lang=\"en\">This offer does not exist.</span></p>"
)


def click(service: OfferService, token: str) -> str | None:
    """Count a click; return where to send the browser, or None for an unknown link."""
    if not TOKEN_RE.match(token) or service.click(token) is None:
        return None
    return f"/offre/{token}"


def offer_page(service: OfferService, token: str) -> str | None:
    if not TOKEN_RE.match(token):
        return None
    record = service.ledger.by_token(token)
    campaign = service.campaigns.get(record.campaign_id) if record else None
    if record is None or campaign is None:
        return None
    content = campaign.spec.content
    shop = service.shop_name(campaign, None)
    values = {"first_name": "", "shop": shop, "expiry": french_date(content.valid_until), "code": record.code or ""}
    expired = local(time.time()).date() > content.valid_until or campaign.status_at(time.time()) == "ended"
    e = html.escape
    code = (
        f'<p class="code">Votre code <span lang="en">Your code</span><br><strong>{e(record.code)}</strong></p>'
        if record.code
        else ""
    )
    link = (
        f'<p><a href="{e(content.landing_url)}" rel="noopener">En savoir plus</a> <span lang="en">More</span></p>'
        if content.landing_url
        else ""
    )
    state = (
        '<p class="expired">Cette offre a expiré. <span lang="en">This offer has expired.</span></p>'
        if expired
        else f"<p>Valable jusqu'au {e(values['expiry'])} chez {e(shop)}. Présentez ce code en caisse. "
        f'<span lang="en">Valid until then; show this code at the till.</span></p>'
    )
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(render(content.title, values))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:1.5rem auto;padding:0 1rem;"
        "color:#1f2937}h1{font-size:1.5rem}.code strong{font-size:2rem;letter-spacing:.1em;display:inline-block;"
        "border:2px dashed #0b5cad;padding:.3rem .8rem;margin-top:.4rem}.expired{color:#b91c1c}"
        "[lang=en]{color:#4b5563;font-size:.9em}</style></head><body>"
        f"<h1>{e(render(content.title, values))}</h1>"
        f"<p>{e(render(content.body, values)).replace(chr(10), '<br>')}</p>"
        f"{code}{state}{link}"
        "<footer><small>Offre envoyée avec votre accord par les commerçants de Niort (wifivip). "
        '<span lang="en">Sent with your consent.</span></small></footer></body></html>'
    )
