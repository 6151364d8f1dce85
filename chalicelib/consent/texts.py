"""The consent texts, French first then English, and their versions.

The ledger records, for every consent, the SHA-256 of the exact text the consumer was shown
(:attr:`ConsentScreen.version`); the page renders these very strings and the text is archived under
its hash, so an audit can show word for word what was agreed to. Change a word and the version
changes; that is the point.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.consent.records import AUDIENCE, OFFERS_EMAIL, OFFERS_SMS
from chalicelib.consent.settings import OptinSettings

LANGS = ("fr", "en")


@dataclass(frozen=True)
class PurposeText:
    purpose: str
    label: str
    detail: str


@dataclass(frozen=True)
class ConsentScreen:
    """Everything the consent part of the portal page says, in one language."""

    lang: str
    intro: str
    purposes: tuple[PurposeText, ...]
    controller: str
    kept: str
    rights: str

    def canonical_text(self) -> str:
        lines = [f"[{self.lang}]", self.intro]
        for p in self.purposes:
            lines += [f"[ ] {p.label}", p.detail]
        lines += [self.controller, self.kept, self.rights]
        return "\n".join(lines) + "\n"

    @property
    def version(self) -> str:
        return hashlib.sha256(self.canonical_text().encode()).hexdigest()

    def purpose(self, purpose: str) -> PurposeText:
        return next(p for p in self.purposes if p.purpose == purpose)


def consent_screen(lang: str, settings: OptinSettings) -> ConsentScreen:
    """The consent text in ``lang`` (French unless English is asked for)."""
    s = settings
    if lang == "en":
        return ConsentScreen(
            lang="en",
            intro=(
                "The WiFi is free and stays free whatever you choose below. Every box is optional: "
                "tick only what you agree to."
            ),
            purposes=(
                PurposeText(
                    AUDIENCE,
                    "Audience measurement of my device",
                    "The sensors of the participating shops in the town centre recognise this phone by an "
                    "encrypted fingerprint of its WiFi address (never the address itself) and count my "
                    "passages, visits and their length under a random identifier. Kept 13 months at most, "
                    "then you will be asked again.",
                ),
                PurposeText(
                    OFFERS_EMAIL,
                    "Offers from the shops by email",
                    f"At most {s.offers_per_week} offers a week from Niort shops I pass by. A confirmation link "
                    "is sent to the address given: nothing is sent before you confirm, and the address is "
                    "erased after 7 days without confirmation.",
                ),
                PurposeText(
                    OFFERS_SMS,
                    "Offers from the shops by text message (SMS)",
                    "Same by SMS: a confirmation code is sent to the number given. No SMS between 8 pm and "
                    "8 am, on Sundays or public holidays.",
                ),
            ),
            controller=(
                f"Data controller: {s.controller_name}, {s.controller_address}. Contact about your data: {s.dpo_email}."
            ),
            kept=(
                "What we keep: your choices and their proof (date, version of this text, how you confirmed), "
                "your email or number if you give them, the device fingerprint if you accept audience "
                "measurement. Never your device's WiFi address. Everything is erased when you withdraw or ask "
                "for erasure; only the proof of a withdrawal is kept for 5 years, with an encrypted "
                "fingerprint of your contact instead of the contact itself."
            ),
            rights=(
                "Your rights: withdraw each consent at any time, as easily as you gave it (a link in every "
                "message, or the “My data” page), see and download your data, have it erased, object. "
                "You may also complain to the CNIL (cnil.fr)."
            ),
        )
    return ConsentScreen(
        lang="fr",
        intro=(
            "Le WiFi est gratuit et le reste, quels que soient vos choix ci-dessous. Chaque case est "
            "facultative : ne cochez que ce que vous acceptez."
        ),
        purposes=(
            PurposeText(
                AUDIENCE,
                "Mesure d'audience de mon appareil",
                "Les capteurs des commerces participants du centre-ville reconnaissent ce téléphone grâce à "
                "une empreinte chiffrée de son adresse WiFi (jamais l'adresse elle-même) et comptent mes "
                "passages, mes visites et leur durée sous un identifiant aléatoire. Gardé 13 mois au plus, "
                "ensuite votre accord vous sera redemandé.",
            ),
            PurposeText(
                OFFERS_EMAIL,
                "Offres des commerçants par email",
                f"Au plus {s.offers_per_week} offres par semaine des commerces de Niort près desquels je passe. "
                "Un lien de confirmation est envoyé à l'adresse indiquée : rien n'est envoyé avant votre "
                "confirmation, et l'adresse est effacée sous 7 jours sans confirmation.",
            ),
            PurposeText(
                OFFERS_SMS,
                "Offres des commerçants par SMS",
                "Même principe par SMS : un code de confirmation est envoyé au numéro indiqué. Pas de SMS "
                "entre 20 h et 8 h, ni le dimanche et les jours fériés.",
            ),
        ),
        controller=(
            f"Responsable du traitement : {s.controller_name}, {s.controller_address}. Contact pour vos "
            f"données : {s.dpo_email}."
        ),
        kept=(
            "Ce que nous gardons : vos choix et leur preuve (date, version de ce texte, moyen de confirmation), "
            "votre email ou votre numéro si vous les donnez, l'empreinte de l'appareil si vous acceptez la "
            "mesure d'audience. Jamais l'adresse WiFi de votre appareil. Tout est effacé quand vous retirez "
            "votre accord ou demandez l'effacement ; seule la preuve d'un retrait est gardée 5 ans, avec une "
            "empreinte chiffrée de vos coordonnées au lieu des coordonnées elles-mêmes."
        ),
        rights=(
            "Vos droits : retirer chaque accord à tout moment, aussi simplement qu'il a été donné (un lien "
            "dans chaque message, ou la page « Mes données »), consulter et télécharger vos données, les "
            "faire effacer, vous opposer. Vous pouvez aussi saisir la CNIL (cnil.fr)."
        ),
    )


def pick_lang(value: str | None) -> str:
    return "en" if (value or "").lower().startswith("en") else "fr"
