"""The venue's redirect signer: the captive portal believes a MAC only when this gateway vouches for it.

Meraki and UniFi send the phone's browser to an external splash page with the client MAC in a query
parameter that the phone itself could have typed. Pointed at this small server instead (on the
venue's gateway, in the walled garden, on the clients' own network segment), the redirect is
checked and re-issued signed:

1. the request's source address is looked up in the gateway's ARP table (``/proc/net/arp``): the MAC
   the network itself sees for that client;
2. a vendor MAC parameter that is missing, ambiguous or different from it is refused (a forged or
   replayed URL, or a client behind a router): 403, a French then English page, nothing signed;
3. otherwise the parameters are signed (:func:`wifivip_edge.redirect.sign_redirect`, the controller's
   secret) and the browser is sent to ``{portal}/portal?...`` with a 302.

Standard library only; runs on the sensor's Raspberry Pi OS or any Linux gateway:
``python -m wifivip_edge.portal_signer --controller-id ID --secret-file PATH --portal https://...``.
The server never logs a request line nor writes a MAC anywhere.
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from wifivip_edge.redirect import CTRL_PARAM, MAC_PARAMS, SIG_PARAM, TS_PARAM, mac_digits, sign_redirect

ARP_TABLE = Path("/proc/net/arp")
MAX_QUERY = 8192
REFUSED_PAGE = (
    '<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
    "<title>Accès WiFi</title><p>Cet appareil n'a pas pu être reconnu sur le réseau WiFi. Déconnectez-vous puis "
    'reconnectez-vous au réseau.</p><p lang="en">This device could not be recognised on the WiFi network. '
    "Disconnect from the network and join it again.</p></html>"
)


def arp_lookup(table: Path = ARP_TABLE) -> Callable[[str], bytes | None]:
    """The MAC the gateway's ARP table holds for an IPv4 address (a complete entry only), read per request."""

    def lookup(ip: str) -> bytes | None:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            # IP address, HW type, Flags (0x2: complete), HW address, Mask, Device
            if len(fields) >= 4 and fields[0] == ip and int(fields[2], 16) & 0x2:
                return mac_digits(fields[3])
        return None

    return lookup


@dataclass(frozen=True)
class Decision:
    status: int  # 302 or 403
    location: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class RedirectSigner:
    """Decides, for one request, whether to sign the redirect (pure: the ARP lookup is passed in)."""

    controller_id: str
    secret: bytes
    portal_url: str  # https://portal.example/prod
    mac_of: Callable[[str], bytes | None]

    def decide(self, client_ip: str, params: Mapping[str, str]) -> Decision:
        if any(k in params for k in (CTRL_PARAM, TS_PARAM, SIG_PARAM)):
            return Decision(403, reason="presigned")  # the client must not choose the signed fields
        claimed = {mac_digits(params[name]) for name in MAC_PARAMS if params.get(name)}
        if len(claimed) != 1 or None in claimed:
            return Decision(403, reason="no_mac" if not claimed else "ambiguous_mac")
        seen = self.mac_of(client_ip)
        if seen is None:
            return Decision(403, reason="not_on_segment")
        if claimed.pop() != seen:
            return Decision(403, reason="mac_mismatch")
        signed = sign_redirect(params, self.controller_id, self.secret)
        return Decision(302, f"{self.portal_url.rstrip('/')}/portal?{urlencode(signed)}")


def handler_for(signer: RedirectSigner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # request lines hold the client's MAC: never logged
            return None

        def do_GET(self) -> None:
            query = urlsplit(self.path).query
            pairs = parse_qsl(query[:MAX_QUERY], keep_blank_values=True)
            params = dict(pairs)
            decision = (
                Decision(403, reason="repeated")
                if len(params) != len(pairs)
                else signer.decide(self.client_address[0], params)
            )
            if decision.status == 302 and decision.location:
                self.send_response(302)
                self.send_header("Location", decision.location)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = REFUSED_PAGE.encode()
            self.send_response(403)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Refused", html.escape(decision.reason))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def serve(signer: RedirectSigner, host: str, port: int) -> ThreadingHTTPServer:
    """A server ready to ``serve_forever()`` (port 0: a free one, see ``server_address``)."""
    return ThreadingHTTPServer((host, port), handler_for(signer))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wifivip_edge.portal_signer", description=__doc__.split("\n")[0])
    parser.add_argument("--controller-id", required=True)
    parser.add_argument(
        "--secret-file", required=True, help="the hex secret 'python -m infra.optin add-controller' printed"
    )
    parser.add_argument("--portal", required=True, help="the captive portal's base URL (https://...)")
    parser.add_argument("--listen", default="0.0.0.0:8080", help="host:port on the clients' network segment")
    args = parser.parse_args(argv)
    secret = bytes.fromhex(Path(args.secret_file).read_text().strip())
    host, _, port = args.listen.rpartition(":")
    server = serve(RedirectSigner(args.controller_id, secret, args.portal, arp_lookup()), host, int(port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
