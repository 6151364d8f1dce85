"""Errors the portal reports to users as 4xx with a clear message (in French first, then English)."""


class InvalidRequest(ValueError):
    """A parameter is missing or malformed (HTTP 400)."""


class NotFound(LookupError):
    """The thing asked for does not exist, or the caller may not know it does (HTTP 404)."""


class Forbidden(PermissionError):
    """The caller is known but may not do this (HTTP 403)."""


class Conflict(Exception):
    """The request is valid but the current state forbids it (HTTP 409), e.g. a campaign edited
    meanwhile or not in a state that allows the action."""


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this e-mail or address (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"trop de tentatives, réessayez dans {retry_after} s / too many attempts, retry in {retry_after} s"
        )
        self.retry_after = retry_after


class Unavailable(Exception):
    """A service the portal depends on (Cognito, DynamoDB, S3) failed or throttled us: retry later (HTTP 503).

    Never counted as a failed sign-in: an outage must not lock users out."""

    def __init__(self, retry_after: int = 30) -> None:
        super().__init__(
            f"service momentanément indisponible, réessayez dans {retry_after} s / "
            f"temporarily unavailable, retry in {retry_after} s"
        )
        self.retry_after = retry_after


#: Error codes of AWS services that mean "not your fault, try again later".
OUTAGE_CODES = frozenset(
    {
        "InternalErrorException",  # Cognito
        "InternalServerError",  # DynamoDB
        "InternalError",  # S3
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
    }
)


def is_outage(exc: BaseException) -> bool:
    """Whether an AWS error (botocore's, or PynamoDB's wrapping one) is an outage or throttling."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, BotoCoreError):  # could not connect, timed out, no answer
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return exc.response.get("Error", {}).get("Code") in OUTAGE_CODES or status >= 500
    cause = getattr(exc, "cause", None)  # PynamoDB's exceptions keep botocore's as their cause
    return cause is not None and cause is not exc and is_outage(cause)
