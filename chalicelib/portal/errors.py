"""Errors the portal reports to users as 4xx with a clear message (in French first, then English)."""


class InvalidRequest(ValueError):
    """A parameter is missing or malformed (HTTP 400)."""


class NotFound(LookupError):
    """The thing asked for does not exist, or the caller may not know it does (HTTP 404)."""


class Forbidden(PermissionError):
    """The caller is known but may not do this (HTTP 403)."""


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this e-mail or address (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"trop de tentatives, réessayez dans {retry_after} s / too many attempts, retry in {retry_after} s"
        )
        self.retry_after = retry_after
