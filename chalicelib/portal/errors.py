"""Errors the portal reports to users as 4xx with a clear message (in French first, then English)."""


class InvalidRequest(ValueError):
    """A parameter is missing or malformed (HTTP 400)."""


class NotFound(LookupError):
    """The thing asked for does not exist, or the caller may not know it does (HTTP 404)."""
