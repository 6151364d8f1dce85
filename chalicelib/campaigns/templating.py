"""Safe personalization: ``{{prenom}}``-style placeholders replaced by plain values, nothing else.

No expression language on purpose: merchants write the templates, so a template can name one of a
few known fields (with an optional fallback, ``{{prenom|cher client}}``) and that is all. Values are
cleaned of control characters and, for HTML, escaped; a template naming an unknown field is refused
when the campaign is saved, not when the message goes out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

FIELDS: dict[str, str] = {
    "prenom": "first_name",
    "first_name": "first_name",
    "commerce": "shop",
    "shop": "shop",
    "expiration": "expiry",
    "expiry": "expiry",
    "code": "code",
    "lien": "link",
    "link": "link",
}
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_INNER = re.compile(r"^\s*([a-z_]+)\s*(?:\|([^{}|]{0,40}))?\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MAX_VALUE = 60


class TemplateError(ValueError):
    """A template that names an unknown field or has unbalanced braces."""


def check_template(text: str) -> set[str]:
    """Validate a template; return the canonical fields it uses (``first_name``, ``shop``...)."""
    used = set()
    for match in _PLACEHOLDER.finditer(text):
        inner = _INNER.match(match.group(1))
        if inner is None or inner.group(1) not in FIELDS:
            raise TemplateError(
                f"champ inconnu {match.group(0)!r} (connus : {{{{prenom}}}}, {{{{commerce}}}}, "
                f"{{{{expiration}}}}, {{{{code}}}}, {{{{lien}}}}) / unknown field {match.group(0)!r}"
            )
        used.add(FIELDS[inner.group(1)])
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise TemplateError("accolades non fermées / unbalanced braces")
    return used


def clean_value(value: str) -> str:
    """A personal value as it may appear in a message: one line, no control or bidi characters."""
    return _CONTROL.sub("", value).strip()[:MAX_VALUE]


def render(text: str, values: Mapping[str, str], *, as_html: bool = False) -> str:
    """Fill the placeholders of a checked template; the surrounding text is escaped for HTML too."""

    def fill(match: re.Match[str]) -> str:
        inner = _INNER.match(match.group(1))
        assert inner is not None, "templates are checked when saved"
        value = clean_value(values.get(FIELDS[inner.group(1)], ""))
        if not value:
            value = clean_value(inner.group(2) or "")
        return html.escape(value) if as_html else value

    if not as_html:
        return _PLACEHOLDER.sub(fill, text)
    parts = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        parts.append(fill(match))
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)
