"""The portal's pages: mobile-first HTML that works inside a phone's captive-portal sheet.

Captive sheets (iOS CNA, Android's captive portal login) may block JavaScript, external files and new
windows, and drop cookies between visits. So: no script, CSS inline, no external resource, no
``target``, every link and form in the same sheet, and the state in a sealed field or a signed link.
French first; every page links to its English version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import urlencode

from chalicelib.consent.records import OFFERS_EMAIL, OFFERS_SMS, PURPOSES, ConsumerRecord
from chalicelib.consent.texts import ConsentScreen
from functions.optin.contacts import mask

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1d2330;background:#f4f6f8}main{max-width:34rem;margin:0 auto;padding:1rem 1rem 2.5rem}
header{display:flex;justify-content:space-between;align-items:center;gap:.5rem;margin-bottom:.5rem}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}.lang{font-size:.9rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin:.75rem 0;box-shadow:0 1px 3px #0002}
.purpose{display:flex;gap:.75rem;align-items:flex-start;padding:.6rem 0;border-top:1px solid #e3e7ec}
.purpose:first-of-type{border-top:0}.purpose input[type=checkbox]{width:1.5rem;height:1.5rem;flex:none;
margin-top:.15rem}.purpose b{display:block}.purpose small,.fine{color:#4a5568;font-size:.88rem}
.field{display:block;margin:.5rem 0 0 2.25rem}.field input{width:100%;padding:.6rem;font-size:1rem;
border:1px solid #aab4c0;border-radius:.4rem}.buttons{display:grid;grid-template-columns:1fr 1fr;gap:.6rem;
margin:1rem 0}button,.button{display:block;width:100%;min-height:3.2rem;padding:.7rem .5rem;font-size:1rem;
font-weight:600;border-radius:.5rem;border:2px solid #1f4e8c;background:#1f4e8c;color:#fff;text-align:center;
text-decoration:none;cursor:pointer}button.alt,.button.alt{background:#fff;color:#1f4e8c}
.error{background:#fde8e8;color:#8a1c1c;border-radius:.5rem;padding:.6rem .8rem}.ok{background:#e6f4ea;
color:#1e5631;border-radius:.5rem;padding:.6rem .8rem}code{word-break:break-all;font-size:.85rem}
ul.state{padding-left:1.1rem}ul.state li{margin:.4rem 0}button.small{display:inline;width:auto;min-height:0;
padding:.3rem .7rem;margin-left:.4rem}footer{margin-top:1.5rem;font-size:.85rem;color:#4a5568}
"""

T: dict[str, dict[str, str]] = {
    "fr": {
        "other": "English",
        "wifi": "WiFi gratuit",
        "choices": "Vos choix",
        "email_ph": "votre@email.fr",
        "phone_ph": "06 12 34 56 78",
        "email_hint": "Adresse email (seulement si la case est cochée)",
        "phone_hint": "Numéro de mobile (seulement si la case est cochée)",
        "first_name": "Prénom (facultatif, pour personnaliser les offres)",
        "accept": "Valider mes choix et me connecter",
        "refuse": "Tout refuser et me connecter",
        "about": "En clair",
        "forget": "Arrêter la mesure d'audience de cet appareil",
        "my_data": "Mes données",
        "email_required": "Indiquez votre email pour recevoir les offres par email, ou décochez la case.",
        "email_invalid": "Cette adresse email n'est pas valide.",
        "phone_required": "Indiquez votre numéro pour recevoir les offres par SMS, ou décochez la case.",
        "phone_invalid": "Ce numéro de téléphone n'est pas valide.",
        "sms_title": "Confirmez votre numéro",
        "sms_text": "Nous venons d'envoyer un code à 6 chiffres par SMS. Tapez-le ici :",
        "sms_code": "Code reçu par SMS",
        "sms_ok": "Confirmer",
        "sms_later": "Plus tard (le lien du SMS confirmera)",
        "sms_wrong": "Ce code n'est pas le bon ou n'est plus valable.",
        "done_title": "Vous êtes connecté·e",
        "done_none": "Vous n'avez rien accepté : rien n'est conservé à votre sujet.",
        "done_some": "Vos choix sont enregistrés :",
        "email_sent": "Un email de confirmation a été envoyé : aucune offre avant votre confirmation.",
        "continue": "Accéder à Internet",
        "grant_title": "Connexion en attente",
        "grant_failed": "Vos choix sont enregistrés, mais le réseau WiFi n'a pas encore ouvert votre accès "
        "(le boîtier WiFi ne répond pas). Réessayez dans un instant.",
        "grant_retry": "Réessayer la connexion",
        "manage": "Votre lien personnel pour consulter, retirer ou effacer vos données (gardez-le, par exemple "
        "en capture d'écran) :",
        "audience": "mesure d'audience de cet appareil",
        "offers_email": "offres par email",
        "offers_sms": "offres par SMS",
        "pending": "en attente de confirmation",
        "active": "actif",
        "withdrawn": "retiré",
        "confirm_title": "Confirmer votre inscription",
        "confirm_text": "Appuyez sur le bouton pour confirmer que vous souhaitez recevoir les offres.",
        "confirm_button": "Je confirme",
        "confirmed": "C'est confirmé. Vous pouvez retirer votre accord à tout moment par le lien présent dans "
        "chaque message.",
        "already": "C'était déjà confirmé.",
        "link_invalid": "Ce lien n'est pas valable ou a expiré.",
        "rights_title": "Mes données",
        "rights_text": "Indiquez l'email ou le numéro donné au WiFi : si vous êtes inscrit·e, vous recevrez un lien "
        "(valable 1 heure) pour consulter, télécharger, retirer vos accords ou tout effacer.",
        "rights_field": "Email ou numéro de mobile",
        "rights_button": "Recevoir mon lien",
        "rights_sent": "Si cette adresse ou ce numéro est inscrit, un lien vient d'y être envoyé. Pensez à "
        "regarder vos courriers indésirables.",
        "contact_invalid": "Ce n'est ni un email ni un numéro de téléphone valide.",
        "manage_title": "Mes données",
        "manage_state": "Vos accords",
        "withdraw": "Retirer",
        "withdraw_all": "Tout retirer",
        "download": "Télécharger toutes mes données (JSON)",
        "erase": "Effacer toutes mes données",
        "erase_title": "Effacer toutes vos données ?",
        "erase_text": "Profil, coordonnées, accords, empreinte de l'appareil et statistiques de visite seront "
        "effacés tout de suite et définitivement. Seule la preuve de vos retraits d'accord est gardée 5 ans, "
        "sans vos coordonnées. Un dernier message vous confirmera l'effacement.",
        "erase_button": "Oui, tout effacer",
        "cancel": "Annuler",
        "erased": "Vos données ont été effacées. Un message de confirmation vous a été envoyé si vous aviez "
        "donné un email ou un numéro.",
        "withdraw_title": "Retirer votre accord",
        "withdraw_text": "Appuyez sur le bouton : c'est effectif immédiatement pour les offres, et dans l'heure "
        "pour les capteurs.",
        "withdraw_button": "Retirer mon accord",
        "withdrawn_text": "C'est fait : votre accord est retiré.",
        "nothing": "Rien à retirer : aucun accord en cours.",
        "device_forgotten": "C'est fait : si cet appareil était inscrit à la mesure d'audience, il ne l'est plus "
        "(effectif dans l'heure sur les capteurs).",
        "back": "Retour",
        "err_title": "Oups",
        "session_expired": "La page a expiré. Reconnectez-vous au WiFi pour la rouvrir.",
        "redirect": "Cette page doit être ouverte depuis le WiFi du commerce. Déconnectez-vous puis reconnectez-"
        "vous au réseau WiFi.",
        "rate_limited": "Trop de demandes en peu de temps. Réessayez dans quelques minutes.",
        "conflict": "Une autre demande a été traitée en même temps. Réessayez.",
        "unavailable": "Le service est momentanément indisponible. Réessayez dans quelques minutes.",
        "retry_in": "Vous pourrez réessayer dans {minutes} min.",
        "send_failed": "Le message de confirmation n'a pas pu être envoyé pour l'instant. Aucune offre ne vous sera "
        "envoyée sans votre confirmation ; vous pourrez recommencer plus tard depuis le WiFi d'un commerce.",
        "erase_unfinished": "L'effacement n'a pas pu aller jusqu'au bout : le service est momentanément "
        "indisponible. Il sera terminé automatiquement dans les 24 heures ; vous pouvez aussi réessayer dans "
        "quelques minutes avec le même lien.",
        "erased_no_receipt": "Vos données ont été effacées. Le message de confirmation n'a pas pu être envoyé : "
        "cette page en tient lieu.",
        "bad_request": "La demande est incomplète.",
        "venue_title": "Informations",
        "home_text": "Le WiFi gratuit des commerces du centre-ville de Niort. Pour vous connecter, choisissez le "
        "réseau WiFi d'un commerce participant : cette page s'ouvrira d'elle-même.",
    },
    "en": {
        "other": "Français",
        "wifi": "Free WiFi",
        "choices": "Your choices",
        "email_ph": "you@example.com",
        "phone_ph": "+33 6 12 34 56 78",
        "email_hint": "Email address (only if the box is ticked)",
        "phone_hint": "Mobile number (only if the box is ticked)",
        "first_name": "First name (optional, to personalise offers)",
        "accept": "Save my choices and connect",
        "refuse": "Refuse all and connect",
        "about": "In plain words",
        "forget": "Stop audience measurement of this device",
        "my_data": "My data",
        "email_required": "Give your email to receive offers by email, or untick the box.",
        "email_invalid": "This email address is not valid.",
        "phone_required": "Give your number to receive offers by SMS, or untick the box.",
        "phone_invalid": "This phone number is not valid.",
        "sms_title": "Confirm your number",
        "sms_text": "We have just sent a 6-digit code by SMS. Type it here:",
        "sms_code": "Code received by SMS",
        "sms_ok": "Confirm",
        "sms_later": "Later (the link in the SMS will confirm)",
        "sms_wrong": "This code is wrong or no longer valid.",
        "done_title": "You are connected",
        "done_none": "You accepted nothing: nothing is kept about you.",
        "done_some": "Your choices are saved:",
        "email_sent": "A confirmation email has been sent: no offer before you confirm.",
        "continue": "Go to the Internet",
        "grant_title": "Connection pending",
        "grant_failed": "Your choices are saved, but the WiFi network has not opened your access yet (the WiFi "
        "box does not answer). Try again in a moment.",
        "grant_retry": "Try the connection again",
        "manage": "Your personal link to see, withdraw or erase your data (keep it, e.g. as a screenshot):",
        "audience": "audience measurement of this device",
        "offers_email": "offers by email",
        "offers_sms": "offers by SMS",
        "pending": "awaiting confirmation",
        "active": "active",
        "withdrawn": "withdrawn",
        "confirm_title": "Confirm your subscription",
        "confirm_text": "Press the button to confirm you want to receive the offers.",
        "confirm_button": "I confirm",
        "confirmed": "Confirmed. You can withdraw at any time with the link in every message.",
        "already": "This was already confirmed.",
        "link_invalid": "This link is not valid or has expired.",
        "rights_title": "My data",
        "rights_text": "Give the email or number you gave on the WiFi: if you are registered, you will receive a link "
        "(valid 1 hour) to see, download, withdraw your consents or erase everything.",
        "rights_field": "Email or mobile number",
        "rights_button": "Send me my link",
        "rights_sent": "If this address or number is registered, a link has just been sent to it. Check your spam "
        "folder too.",
        "contact_invalid": "This is neither a valid email nor a valid phone number.",
        "manage_title": "My data",
        "manage_state": "Your consents",
        "withdraw": "Withdraw",
        "withdraw_all": "Withdraw all",
        "download": "Download all my data (JSON)",
        "erase": "Erase all my data",
        "erase_title": "Erase all your data?",
        "erase_text": "Profile, contact details, consents, device fingerprint and visit statistics will be erased at "
        "once and for good. Only the proof of your withdrawals is kept for 5 years, without your contact details. "
        "A last message will confirm the erasure.",
        "erase_button": "Yes, erase everything",
        "cancel": "Cancel",
        "erased": "Your data has been erased. A confirmation was sent to you if you had given an email or number.",
        "withdraw_title": "Withdraw your consent",
        "withdraw_text": "Press the button: it takes effect at once for offers, and within the hour on the sensors.",
        "withdraw_button": "Withdraw my consent",
        "withdrawn_text": "Done: your consent is withdrawn.",
        "nothing": "Nothing to withdraw: no consent in force.",
        "device_forgotten": "Done: if this device was registered for audience measurement, it no longer is "
        "(effective within the hour on the sensors).",
        "back": "Back",
        "err_title": "Oops",
        "session_expired": "This page has expired. Reconnect to the WiFi to open it again.",
        "redirect": "This page must be opened from the shop's WiFi. Disconnect from the WiFi network and connect "
        "again.",
        "rate_limited": "Too many requests in a short time. Try again in a few minutes.",
        "conflict": "Another request was handled at the same time. Try again.",
        "unavailable": "The service is temporarily unavailable. Try again in a few minutes.",
        "retry_in": "You can try again in {minutes} min.",
        "send_failed": "The confirmation message could not be sent for now. No offer will be sent to you without "
        "your confirmation; you can start again later from a shop's WiFi.",
        "erase_unfinished": "The erasure could not finish: the service is temporarily unavailable. It will be "
        "finished automatically within 24 hours; you can also try again in a few minutes with the same link.",
        "erased_no_receipt": "Your data has been erased. The confirmation message could not be sent: this page "
        "stands for it.",
        "bad_request": "The request is incomplete.",
        "venue_title": "Information",
        "home_text": "The free WiFi of the shops of Niort town centre. To connect, pick the WiFi network of a "
        "participating shop: this page will open by itself.",
    },
}


def t(lang: str, key: str) -> str:
    return T["en" if lang == "en" else "fr"][key]


def other(lang: str) -> str:
    return "fr" if lang == "en" else "en"


def href(path: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return escape(f"{path}?{query}" if query else path)


def layout(lang: str, title: str, body: str, other_url: str | None) -> str:
    switch = f'<a class="lang" href="{other_url}" hreflang="{other(lang)}">{t(lang, "other")}</a>' if other_url else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{escape(title)}</h1>{switch}</header>{body}"
        f'<footer><a href="{href("/me", lang=lang)}">{t(lang, "my_data")}</a></footer></main></body></html>'
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{escape(value)}">'


def portal_form(
    screen: ConsentScreen,
    session_token: str,
    venue: str,
    errors: Sequence[str] = (),
    values: Mapping[str, str] | None = None,
    ticked: Sequence[str] = (),
) -> str:
    """The consent page: one unticked box per purpose, refusing as easy as accepting."""
    lang, values = screen.lang, values or {}
    rows = []
    for purpose in screen.purposes:
        checked = " checked" if purpose.purpose in ticked else ""
        extra = ""
        if purpose.purpose == OFFERS_EMAIL:
            extra = _field(lang, "email", "email", "email_hint", "email_ph", values.get("email", ""))
        elif purpose.purpose == OFFERS_SMS:
            extra = _field(lang, "phone", "tel", "phone_hint", "phone_ph", values.get("phone", ""))
        rows.append(
            f'<label class="purpose"><input type="checkbox" name="purpose" value="{purpose.purpose}"{checked}>'
            f"<span><b>{escape(purpose.label)}</b><small>{escape(purpose.detail)}</small></span></label>{extra}"
        )
    first = (
        f'<label class="field fine">{t(lang, "first_name")}<input name="first_name" autocomplete="given-name" '
        f'maxlength="40" value="{escape(values.get("first_name", ""))}"></label>'
    )
    error_html = "".join(f'<p class="error" role="alert">{t(lang, e)}</p>' for e in errors)
    body = (
        f"<p>{escape(screen.intro)}</p>{error_html}"
        f'<form method="post" action="/portal/submit">{_hidden("s", session_token)}'
        f'<div class="card"><h2>{t(lang, "choices")}</h2>{"".join(rows)}{first}</div>'
        f'<div class="card fine"><h2>{t(lang, "about")}</h2><p>{escape(screen.controller)}</p>'
        f"<p>{escape(screen.kept)}</p><p>{escape(screen.rights)}</p></div>"
        f'<div class="buttons"><button type="submit" name="choice" value="refuse" class="alt" formnovalidate>'
        f'{t(lang, "refuse")}</button><button type="submit" name="choice" value="accept">{t(lang, "accept")}'
        "</button></div></form>"
        f'<form method="post" action="/portal/forget">{_hidden("s", session_token)}'
        f'<button type="submit" class="alt fine">{t(lang, "forget")}</button></form>'
    )
    title = f"{t(lang, 'wifi')} · {venue}"
    return layout(lang, title, body, href("/portal/form", s=session_token, lang=other(lang)))


def _field(lang: str, name: str, kind: str, hint: str, placeholder: str, value: str) -> str:
    auto = "email" if kind == "email" else "tel"
    return (
        f'<label class="field fine">{t(lang, hint)}<input type="{kind}" name="{name}" autocomplete="{auto}" '
        f'placeholder="{t(lang, placeholder)}" value="{escape(value)}" maxlength="254"></label>'
    )


def sms_code_page(lang: str, session_token: str, wrong: bool = False) -> str:
    error = f'<p class="error" role="alert">{t(lang, "sms_wrong")}</p>' if wrong else ""
    body = (
        f'<p>{t(lang, "sms_text")}</p>{error}<form method="post" action="/portal/sms" class="card">'
        f"{_hidden('s', session_token)}"
        f'<label>{t(lang, "sms_code")}<input name="code" inputmode="numeric" autocomplete="one-time-code" '
        'pattern="[0-9]{6}" maxlength="6" style="width:100%;font-size:1.4rem;padding:.5rem;letter-spacing:.3rem">'
        f'</label><div class="buttons"><button type="submit" name="action" value="skip" class="alt" formnovalidate>'
        f'{t(lang, "sms_later")}</button><button type="submit" name="action" value="confirm">{t(lang, "sms_ok")}'
        "</button></div></form>"
    )
    return layout(lang, t(lang, "sms_title"), body, href("/portal/sms", s=session_token, lang=other(lang)))


def done_page(
    lang: str,
    consented: Sequence[str],
    email_sent: bool,
    manage_url: str | None,
    next_url: str | None,
    other_url: str | None = None,
    notice: str | None = None,
    retry_token: str | None = None,
) -> str:
    """The end page; with ``retry_token`` (the controller could not be told to let the device through)
    it says so first and offers to try again with the same sealed session."""
    if consented:
        items = "".join(f"<li>{t(lang, p)}</li>" for p in PURPOSES if p in consented)
        body = f'<div class="ok"><p>{t(lang, "done_some")}</p><ul>{items}</ul></div>'
    else:
        body = f'<p class="ok">{t(lang, "done_none")}</p>'
    if email_sent:
        body += f"<p>{t(lang, 'email_sent')}</p>"
    if notice:
        body += f'<p class="error" role="alert">{escape(notice)}</p>'
    if retry_token:
        body = (
            f'<p class="error" role="alert">{t(lang, "grant_failed")}</p><form method="post" action="/portal/grant">'
            f'{_hidden("s", retry_token)}<button type="submit">{t(lang, "grant_retry")}</button></form>{body}'
        )
    elif next_url:
        body += f'<p><a class="button" href="{escape(next_url)}">{t(lang, "continue")}</a></p>'
    if manage_url:
        body += f'<div class="card fine"><p>{t(lang, "manage")}</p><p><a href="{escape(manage_url)}"><code>'
        body += f"{escape(manage_url)}</code></a></p></div>"
    return layout(lang, t(lang, "grant_title" if retry_token else "done_title"), body, other_url)


def message_page(lang: str, title_key: str, text: str, ok: bool = True, other_url: str | None = None) -> str:
    css = "ok" if ok else "error"
    return layout(lang, t(lang, title_key), f'<p class="{css}">{escape(text)}</p>', other_url)


def bilingual_page(title_key: str, text_key: str, extra_key: str | None = None, **values: str) -> str:
    """A page both languages read at once (French first): what a refusal or an outage says, whatever
    language the request asked for, so nobody is left with a status code alone."""
    blocks = []
    for lang in ("fr", "en"):
        text = t(lang, text_key) + (" " + t(lang, extra_key).format(**values) if extra_key else "")
        blocks.append(f'<p class="error" lang="{lang}">{escape(text)}</p>')
    return layout("fr", f"{t('fr', title_key)} / {t('en', title_key)}", "".join(blocks), None)


def error_page(lang: str, reason: str) -> str:
    key = "redirect" if reason.startswith("redirect_") else reason
    text = t(lang, key) if key in T["fr"] else t(lang, "bad_request")
    return message_page(lang, "err_title", text, ok=False)


def button_page(lang: str, title_key: str, text_key: str, action: str, token: str, button_key: str) -> str:
    """A landing page whose only effect is a POST button: link scanners that open mail links change nothing."""
    body = (
        f'<p>{t(lang, text_key)}</p><form method="post" action="{action}">{_hidden("t", token)}'
        f'{_hidden("lang", lang)}<button type="submit">{t(lang, button_key)}</button></form>'
    )
    return layout(lang, t(lang, title_key), body, href(action, t=token, lang=other(lang)))


def rights_request_page(lang: str, error: str | None = None) -> str:
    err = f'<p class="error" role="alert">{t(lang, error)}</p>' if error else ""
    body = (
        f'<p>{t(lang, "rights_text")}</p>{err}<form method="post" action="/me/request" class="card">'
        f'{_hidden("lang", lang)}<label>{t(lang, "rights_field")}<input name="contact" required maxlength="254" '
        'autocomplete="email" style="width:100%;padding:.6rem;font-size:1rem"></label>'
        f'<p><button type="submit">{t(lang, "rights_button")}</button></p></form>'
    )
    return layout(lang, t(lang, "rights_title"), body, href("/me", lang=other(lang)))


def manage_page(lang: str, token: str, consumers: Sequence[ConsumerRecord]) -> str:
    """Each consent with its own withdraw button; download; erase."""
    blocks = []
    for c in consumers:
        contacts = ", ".join(mask(x) for x in (c.email, c.phone) if x)
        rows = []
        for purpose in PURPOSES:
            state = c.consents.get(purpose)
            if not state:
                continue
            button = ""
            if state in ("pending", "active"):
                button = (
                    f'<form method="post" action="/me/withdraw" style="display:inline">{_hidden("t", token)}'
                    f"{_hidden('lang', lang)}{_hidden('c', c.consumer_id)}{_hidden('purpose', purpose)}"
                    f'<button type="submit" class="alt small">'
                    f"{t(lang, 'withdraw')}</button></form>"
                )
            rows.append(f"<li>{t(lang, purpose)} : <b>{t(lang, state)}</b> {button}</li>")
        blocks.append(
            f'<div class="card"><p class="fine">{escape(contacts)}</p><h2>{t(lang, "manage_state")}</h2>'
            f'<ul class="state">{"".join(rows)}</ul></div>'
        )
    body = (
        "".join(blocks)
        + f'<p><a class="button alt" href="{href("/me/data", t=token)}">{t(lang, "download")}</a></p>'
        + f'<form method="post" action="/me/withdraw">{_hidden("t", token)}{_hidden("lang", lang)}'
        + f'<button type="submit" class="alt">{t(lang, "withdraw_all")}</button></form>'
        + f'<p><a class="button alt" href="{href("/me/erase", t=token, lang=lang)}">{t(lang, "erase")}</a></p>'
    )
    return layout(lang, t(lang, "manage_title"), body, href("/me/manage", t=token, lang=other(lang)))


def erase_confirm_page(lang: str, token: str) -> str:
    body = (
        f'<p>{t(lang, "erase_text")}</p><form method="post" action="/me/erase">{_hidden("t", token)}'
        f'{_hidden("lang", lang)}<div class="buttons">'
        f'<a class="button alt" href="{href("/me/manage", t=token, lang=lang)}">'
        f'{t(lang, "cancel")}</a><button type="submit" name="confirm" value="yes">{t(lang, "erase_button")}'
        "</button></div></form>"
    )
    return layout(lang, t(lang, "erase_title"), body, href("/me/erase", t=token, lang=other(lang)))


def venue_page(lang: str, venue: str, info_url: str | None) -> str:
    more = f'<p><a href="{escape(info_url)}">{escape(info_url)}</a></p>' if info_url else ""
    return layout(
        lang, t(lang, "venue_title"), f"<p><b>{escape(venue)}</b></p><p>{t(lang, 'home_text')}</p>{more}", None
    )


def home_page(lang: str) -> str:
    return layout(lang, t(lang, "wifi"), f"<p>{t(lang, 'home_text')}</p>", href("/", lang=other(lang)))
