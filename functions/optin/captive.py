"""RFC 8908 (Captive Portal API) and the URLs phones probe to detect a captive portal.

The API answers ``application/captive+json`` with ``captive`` and, for a known client, the portal
and venue URLs, ``can-extend-session`` and, once access is granted, ``seconds-remaining``. The
probe URLs answer exactly what each OS expects once the device is let through, and send it to the
portal before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CAPTIVE_JSON = "application/captive+json"


@dataclass(frozen=True)
class ProbeAnswer:
    status: int
    content_type: str
    body: str


# path -> what the OS's connectivity check expects when the Internet is reachable
PROBES: dict[str, ProbeAnswer] = {
    # Apple (captive.apple.com)
    "/hotspot-detect.html": ProbeAnswer(
        200, "text/html", "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
    ),
    "/library/test/success.html": ProbeAnswer(
        200, "text/html", "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
    ),
    # Android / Chrome OS (connectivitycheck.gstatic.com, clients3.google.com)
    "/generate_204": ProbeAnswer(204, "text/plain", ""),
    "/gen_204": ProbeAnswer(204, "text/plain", ""),
    # Windows NCSI (www.msftconnecttest.com, www.msftncsi.com)
    "/connecttest.txt": ProbeAnswer(200, "text/plain", "Microsoft Connect Test"),
    "/ncsi.txt": ProbeAnswer(200, "text/plain", "Microsoft NCSI"),
    "/redirect": ProbeAnswer(204, "text/plain", ""),
    # Firefox (detectportal.firefox.com)
    "/success.txt": ProbeAnswer(200, "text/plain", "success\n"),
    "/canonical.html": ProbeAnswer(
        200, "text/html", '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'
    ),
    # NetworkManager (Fedora, GNOME: nmcheck.gnome.org)
    "/check_network_status.txt": ProbeAnswer(200, "text/plain", "NetworkManager is online\n"),
}


def captive_json(
    portal_url: str, venue_url: str | None, seconds_remaining: int | None, known_client: bool
) -> dict[str, Any]:
    """The RFC 8908 object: ``seconds-remaining`` only when not captive, as section 5 asks."""
    body: dict[str, Any] = {"captive": seconds_remaining is None, "user-portal-url": portal_url}
    if venue_url:
        body["venue-info-url"] = venue_url
    if known_client:
        body["can-extend-session"] = True
    if seconds_remaining is not None:
        body["seconds-remaining"] = seconds_remaining
    return body
