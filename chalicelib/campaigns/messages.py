"""The messages consumers receive: rendered from the campaign's templates, with the tracked link, the
coupon, the validity, and always the way out (unsubscribe link; STOP for SMS), which the template
cannot remove. Also what each message costs (SMS by GSM-7 or UCS-2 segments).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

from chalicelib.campaigns.model import Campaign, Channel
from chalicelib.campaigns.policy import Prices
from chalicelib.campaigns.templating import render

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
SMS_STOP = "STOP : répondez STOP ou"


@dataclass(frozen=True)
class Personalization:
    first_name: str
    shop: str
    code: str
    link: str
    unsubscribe_url: str


@dataclass(frozen=True)
class OfferMessage:
    channel: Channel
    subject: str
    text: str
    html: str
    segments: int
    cost_ueur: int
    unsubscribe_url: str = ""


def french_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def sms_segments(text: str) -> int:
    """Segments an SMS takes: GSM-7 (160, or 153 per part) unless a character needs UCS-2 (70/67)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        return 1 if units <= 160 else -(-units // 153)
    units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return 1 if units <= 70 else -(-units // 67)


def compose(campaign: Campaign, channel: Channel, p: Personalization, prices: Prices) -> OfferMessage:
    """The message one consumer gets on one channel."""
    content = campaign.spec.content
    values = {
        "first_name": p.first_name,
        "shop": p.shop,
        "expiry": french_date(content.valid_until),
        "code": p.code,
        "link": p.link,
    }
    validity = f"Valable jusqu'au {values['expiry']}"
    if channel == "sms":
        text = render(content.sms, values)
        if p.link not in text:
            text = f"{text} {p.link}"
        text = f"{text}\n{SMS_STOP} {p.unsubscribe_url}"
        segments = sms_segments(text)
        return OfferMessage("sms", "", text, "", segments, segments * prices.sms_segment_ueur, p.unsubscribe_url)
    subject = " ".join(render(content.subject, values).split())
    body = render(content.body, values)
    code_line = f"Votre code : {p.code}\n" if p.code else ""
    text = (
        f"{body}\n\n{code_line}{validity}.\nVoir l'offre / See the offer: {p.link}\n\n"
        f"Vous recevez cet e-mail car vous avez accepté les offres des commerçants de Niort.\n"
        f"Se désabonner / Unsubscribe: {p.unsubscribe_url}\n"
    )
    body_html = render(content.body, values, as_html=True).replace("\n", "<br>")
    code_html = f"<p>Votre code : <strong>{html.escape(p.code)}</strong></p>" if p.code else ""
    page = (
        f'<!doctype html><html lang="fr"><body><h1>{html.escape(render(content.title, values))}</h1>'
        f"<p>{body_html}</p>{code_html}<p>{validity}.</p>"
        f'<p><a href="{html.escape(p.link)}">Voir l\'offre</a> / See the offer</p>'
        f"<hr><p><small>Vous recevez cet e-mail car vous avez accepté les offres des commerçants de Niort. "
        f'<a href="{html.escape(p.unsubscribe_url)}">Se désabonner</a> / Unsubscribe</small></p></body></html>'
    )
    return OfferMessage("email", subject, text, page, 1, prices.email_ueur, p.unsubscribe_url)
