"""Sign-in, sign-out and password reset against the Cognito user pool, with a sign-in rate limit.

The portal signs users in through its own API (``USER_PASSWORD_AUTH``) rather than a hosted page so
that failed attempts can be counted per e-mail and per client address (:class:`Throttle`) and refused
with 429 before Cognito is asked again. Messages never tell whether an e-mail is registered.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.portal.errors import InvalidRequest, TooManyAttempts, Unavailable, is_outage
from chalicelib.portal.settings import PortalSettings
from chalicelib.portal.tokens import Principal, verify_id_token

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 30
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
BAD_CREDENTIALS = "e-mail ou mot de passe incorrect / wrong e-mail or password"


class BadCredentials(Exception):
    """Wrong e-mail or password, or an account that may not sign in (HTTP 401, one message for all)."""


class Throttle(Protocol):
    def failures(self, key: str, window: int) -> int: ...
    def record_failure(self, key: str, window: int) -> None: ...


class DynamoThrottle:
    """Failure counters in ``SignInAttempt`` (atomic ADD, expiring after the window)."""

    def failures(self, key: str, window: int) -> int:
        from chalicelib.models.signin_attempt import SignInAttempt

        try:
            return int(SignInAttempt.get(key, window).failures or 0)
        except SignInAttempt.DoesNotExist:
            return 0

    def record_failure(self, key: str, window: int) -> None:
        from chalicelib.models.signin_attempt import SignInAttempt

        SignInAttempt(key, window).update(
            actions=[
                SignInAttempt.failures.add(1),
                SignInAttempt.expires.set(datetime.fromtimestamp(window + 2 * WINDOW_SECONDS, UTC)),
            ]
        )


@dataclass(frozen=True)
class SignInKeys:
    email: str
    address: str

    def limits(self) -> list[tuple[str, int]]:
        return [(f"email#{self.email}", MAX_FAILURES_PER_EMAIL), (f"ip#{self.address}", MAX_FAILURES_PER_ADDRESS)]


def normalize_email(value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL_RE.match(value.strip()):
        raise InvalidRequest("adresse e-mail invalide / invalid e-mail address")
    return value.strip().lower()


def require_text(body: dict[str, Any], name: str, max_len: int = 256) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise InvalidRequest(f"« {name} » manquant ou invalide / {name} missing or invalid")
    return value


class Accounts:
    """The Cognito calls behind the sign-in routes."""

    def __init__(self, idp: Any, conf: PortalSettings, throttle: Throttle, clock: Any = time.time) -> None:
        self.idp = idp
        self.conf = conf
        self.throttle = throttle
        self.clock = clock

    def _window(self) -> int:
        now = int(self.clock())
        return now - now % WINDOW_SECONDS

    def _check(self, who: SignInKeys) -> None:
        window = self._window()
        for key, limit in who.limits():
            if self.throttle.failures(key, window) >= limit:
                raise TooManyAttempts(window + WINDOW_SECONDS - int(self.clock()))

    def _fail(self, who: SignInKeys) -> None:
        window = self._window()
        for key, _ in who.limits():
            self.throttle.record_failure(key, window)

    def sign_in(self, email: str, password: str, address: str) -> dict[str, Any]:
        """Tokens, or a NEW_PASSWORD_REQUIRED challenge for an account created with a temporary password."""
        who = SignInKeys(email, address)
        self._check(who)
        try:
            reply = self.idp.initiate_auth(
                ClientId=self.conf.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as exc:
            if is_outage(exc):
                raise Unavailable() from None
            code = exc.response["Error"]["Code"]
            if code in ("NotAuthorizedException", "UserNotFoundException", "PasswordResetRequiredException"):
                self._fail(who)
                raise BadCredentials(BAD_CREDENTIALS) from None
            raise
        if reply.get("ChallengeName"):
            return {"challenge": reply["ChallengeName"], "session": reply.get("Session")}
        return self._tokens(reply["AuthenticationResult"])

    def new_password(self, email: str, session: str, new_password: str, address: str) -> dict[str, Any]:
        who = SignInKeys(email, address)
        self._check(who)
        try:
            reply = self.idp.respond_to_auth_challenge(
                ClientId=self.conf.client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=session,
                ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": new_password},
            )
        except ClientError as exc:
            if is_outage(exc):
                raise Unavailable() from None
            if exc.response["Error"]["Code"] == "InvalidPasswordException":
                raise InvalidRequest("mot de passe trop faible / password too weak") from None
            self._fail(who)
            raise BadCredentials(BAD_CREDENTIALS) from None
        return self._tokens(reply["AuthenticationResult"])

    def _tokens(self, result: dict[str, Any]) -> dict[str, Any]:
        principal = verify_id_token(result["IdToken"])
        record_activity(principal, datetime.now(UTC))
        return {
            "id_token": result["IdToken"],
            "access_token": result["AccessToken"],
            "refresh_token": result.get("RefreshToken"),
            "expires_in": result.get("ExpiresIn", 3600),
            "role": principal.role,
        }

    def sign_out(self, principal: Principal) -> None:
        """Revoke the caller's access and refresh tokens everywhere. Its ID token stays verifiable until
        it expires (at most an hour: a signed JWT is checked offline); the page forgets it at once."""
        self.idp.admin_user_global_sign_out(UserPoolId=self.conf.user_pool_id, Username=principal.email)

    def forgot(self, email: str, address: str) -> None:
        """Send a reset code; the same answer whether or not the e-mail is registered."""
        who = SignInKeys(email, address)
        self._check(who)
        try:
            self.idp.forgot_password(ClientId=self.conf.client_id, Username=email)
        except ClientError as exc:
            if is_outage(exc):
                raise Unavailable() from None
            self._fail(who)

    def reset(self, email: str, code: str, new_password: str, address: str) -> None:
        who = SignInKeys(email, address)
        self._check(who)
        try:
            self.idp.confirm_forgot_password(
                ClientId=self.conf.client_id, Username=email, ConfirmationCode=code, Password=new_password
            )
        except ClientError as exc:
            if is_outage(exc):
                raise Unavailable() from None
            self._fail(who)
            if exc.response["Error"]["Code"] == "InvalidPasswordException":
                raise InvalidRequest("mot de passe trop faible / password too weak") from None
            raise InvalidRequest("code invalide ou expiré / invalid or expired code") from None


def record_activity(principal: Principal, at: datetime) -> None:
    """One item per user and month: the adoption page's "active users"."""
    from chalicelib.models.portal_activity import PortalActivity

    PortalActivity(
        at.strftime("%Y-%m"),
        principal.sub,
        role=principal.role,
        merchant_id=principal.merchant_id,
        union_id=principal.union_id,
        last_seen=at,
    ).save()
