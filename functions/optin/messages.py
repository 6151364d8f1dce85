"""The messages the opt-in side sends (SES email, SNS SMS), French first then English.

Every message about a consent carries a withdrawal link (withdrawing is as easy as consenting); the
"my data" link opens the page where each consent has its own Retirer button; after an erasure there
is nothing left to withdraw.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    subject: str
    text: str


def confirm_email(venue: str, confirm_url: str, withdraw_url: str) -> Email:
    return Email(
        "Confirmez votre inscription aux offres / Confirm your subscription",
        f"""Bonjour,

Depuis le WiFi de {venue}, vous avez demandé à recevoir par email les offres des commerçants de Niort.
Pour confirmer, ouvrez ce lien puis appuyez sur « Je confirme » :
{confirm_url}

Si ce n'est pas vous, ignorez ce message : rien ne vous sera envoyé et votre adresse sera effacée sous 7 jours.
Retirer votre accord à tout moment : {withdraw_url}

---
Hello,

From the WiFi of {venue}, you asked to receive offers from Niort shops by email.
To confirm, open this link and press "I confirm":
{confirm_url}

If this was not you, ignore this message: nothing will be sent and your address will be erased within 7 days.
Withdraw your consent at any time: {withdraw_url}
""",
    )


def confirm_sms(code: str, confirm_url: str, withdraw_url: str) -> str:
    return (
        f"wifivip Niort : code {code} pour confirmer les offres par SMS. Ou : {confirm_url} "
        f"STOP/retrait : {withdraw_url}"
    )


def rights_link(manage_url: str) -> Email:
    return Email(
        "Vos données wifivip / Your wifivip data",
        f"""Bonjour,

Voici le lien pour consulter, télécharger, modifier vos choix ou effacer vos données (valable 1 heure) :
{manage_url}

Si vous n'avez rien demandé, ignorez ce message.

---
Hello,

Here is the link to see, download, change your choices or erase your data (valid for 1 hour):
{manage_url}

If you did not ask for it, ignore this message.
""",
    )


def rights_link_sms(manage_url: str) -> str:
    return f"wifivip : vos données / your data (1 h) : {manage_url}"


def erasure_done(erased_at: str) -> Email:
    return Email(
        "Vos données ont été effacées / Your data has been erased",
        f"""Bonjour,

Comme vous l'avez demandé, toutes vos données wifivip ont été effacées le {erased_at} (UTC) : profil, coordonnées,
accords, empreinte de l'appareil et statistiques de visite. Seule la preuve de vos retraits d'accord est
conservée 5 ans, avec une empreinte chiffrée de vos coordonnées, comme la loi le permet.
Vous ne recevrez plus rien de notre part ; ce message est le dernier.

---
Hello,

As you asked, all your wifivip data was erased on {erased_at} (UTC): profile, contact details, consents,
device fingerprint and visit statistics. Only the proof of your withdrawals is kept for 5 years, with an
encrypted fingerprint of your contact details, as the law allows.
You will receive nothing more from us; this is the last message.
""",
    )


def erasure_done_sms(erased_at: str) -> str:
    return f"wifivip : vos données ont été effacées le {erased_at} UTC. Your data was erased. Dernier message."
