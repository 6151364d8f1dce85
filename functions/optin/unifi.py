"""UniFi's external portal: the controller lets a guest through only when told so over its API.

Meraki, openNDS and nodogsplash open the network when the browser follows their grant URL; a UniFi
controller waits for ``authorize-guest`` from the portal: log in (``POST /api/login``, or
``/api/auth/login`` on UniFi OS consoles, whose Network API sits under ``/proxy/network``), then
``POST /api/s/{site}/cmd/stamgr`` with ``{"cmd": "authorize-guest", "mac": ..., "minutes": ...}``
carrying the session cookie (and the CSRF token the login handed out, which recent versions
require). Each controller's URL, site and portal account are an SSM SecureString parameter
(:func:`controller_secret_name`), never in the table or the code.

Standard library only (urllib with a cookie jar). Every failure becomes :class:`GrantError`:
``unreachable`` (network, timeout, 5xx), ``refused`` (login or command answered an error),
``not_configured`` (no secret): the portal then tells the consumer, in French and English, that
access will open on a retry.
"""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from chalicelib.consent.keys import secret_name
from chalicelib.parameters import read_secret
from functions.optin.controller import ControllerRecord, GrantError

TIMEOUT_S = 4.0
SECRET_CACHE_S = 300


def controller_secret_name(controller_id: str, stage: str | None = None) -> str:
    """``/wifivip/{stage}/controllers/{id}``: one parameter per controller that grants over an API."""
    return secret_name(f"controllers/{controller_id}", stage)


class UnifiSettings(BaseModel):
    """The secret's JSON: where the controller is and the portal's own (least-privileged) account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl  # e.g. https://unifi.venue.example:8443
    site: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)
    unifi_os: bool = False  # a UniFi OS console (UDM, Cloud Key Gen2+): other login, /proxy/network prefix
    ca_pem: str | None = None  # the controller's own CA (self-signed certificates), else the system's


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


@dataclass
class UnifiClient:
    """One controller: log in, authorize a guest. A new cookie jar per grant (no shared session state)."""

    settings: UnifiSettings
    timeout_s: float = TIMEOUT_S

    def authorize_guest(self, mac: bytes, minutes: int) -> None:
        jar = http.cookiejar.CookieJar()
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(jar)]
        if self.settings.ca_pem:
            handlers.append(
                urllib.request.HTTPSHandler(context=ssl.create_default_context(cadata=self.settings.ca_pem))
            )
        opener = urllib.request.build_opener(*handlers)
        base = str(self.settings.url).rstrip("/")
        login_path = "/api/auth/login" if self.settings.unifi_os else "/api/login"
        api = f"{base}/proxy/network" if self.settings.unifi_os else base
        credentials = {"username": self.settings.username, "password": self.settings.password}
        headers = self._post(opener, f"{base}{login_path}", credentials, {})
        csrf = headers.get("X-CSRF-Token") or _cookie(jar, "csrf_token")
        command = {"cmd": "authorize-guest", "mac": _mac_text(mac), "minutes": max(1, minutes)}
        self._post(
            opener, f"{api}/api/s/{self.settings.site}/cmd/stamgr", command, {"X-CSRF-Token": csrf} if csrf else {}
        )

    def _post(
        self, opener: urllib.request.OpenerDirector, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, str]:
        request = urllib.request.Request(  # noqa: S310 (UnifiSettings.url is an http(s) URL)
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        )
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                answer = response.read(65536)
                reply_headers = dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            reason = "unreachable" if exc.code >= 500 else "refused"
            raise GrantError(reason, f"HTTP {exc.code} from {url.split('/api/')[-1]}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GrantError("unreachable", type(exc).__name__) from None
        try:
            rc = json.loads(answer or b"{}").get("meta", {}).get("rc", "ok")
        except (ValueError, AttributeError):
            rc = "error"
        if rc != "ok":
            raise GrantError("refused", f"controller answered rc={rc}")
        return reply_headers


def _cookie(jar: http.cookiejar.CookieJar, name: str) -> str | None:
    return next((c.value for c in jar if c.name == name), None)


@dataclass
class ParameterControllerApi:
    """The grant port in AWS: the controller's settings from Parameter Store (cached a few minutes)."""

    ssm: Any  # boto3 ssm client
    stage: str | None = None
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, UnifiSettings]] = field(default_factory=dict)

    def authorize(self, controller: ControllerRecord, mac: bytes, seconds: int) -> None:
        if controller.vendor != "unifi":
            raise GrantError("not_configured", f"no API grant for vendor {controller.vendor}")
        UnifiClient(self._settings(controller.controller_id)).authorize_guest(mac, -(-seconds // 60))

    def _settings(self, controller_id: str) -> UnifiSettings:
        cached = self._cache.get(controller_id)
        if cached and self.clock() - cached[0] < SECRET_CACHE_S:
            return cached[1]
        name = controller_secret_name(controller_id, self.stage)
        try:
            raw = read_secret(self.ssm, name)
            settings = UnifiSettings.model_validate_json(raw)
        except ValidationError as exc:
            raise GrantError("not_configured", f"secret {name}: {exc.error_count()} invalid field(s)") from None
        except Exception as exc:  # ParameterNotFound, AccessDenied, throttling: no grant now, a retry may do
            raise GrantError("not_configured", f"secret {name}: {type(exc).__name__}") from None
        self._cache[controller_id] = (self.clock(), settings)
        return settings
