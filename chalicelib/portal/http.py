"""What the routes share: the caller, the view context, error mapping and CSV/JSON responses.

Kept out of app.py so that app.py stays a list of routes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import boto3
from chalice import BadRequestError, ConflictError, ForbiddenError, NotFoundError, Response, UnauthorizedError

from chalicelib.portal.accounts import BadCredentials
from chalicelib.portal.csv_export import to_csv
from chalicelib.portal.directory import DynamoDirectory
from chalicelib.portal.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooManyAttempts,
    Unavailable,
    is_outage,
)
from chalicelib.portal.kpi_source import default_source
from chalicelib.portal.settings import settings
from chalicelib.portal.tokens import Principal
from chalicelib.portal.views import ViewContext

F = TypeVar("F", bound=Callable[..., Any])
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
JSON_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
}


def mapped_errors(view: F) -> F:
    """Turn the portal's errors into HTTP answers with a French-first message."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except InvalidRequest as exc:
            raise BadRequestError(str(exc)) from None
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except Forbidden as exc:
            raise ForbiddenError(str(exc)) from None
        except Conflict as exc:
            raise ConflictError(str(exc)) from None
        except BadCredentials as exc:
            raise UnauthorizedError(str(exc)) from None
        except TooManyAttempts as exc:
            return Response(
                body={"Code": "TooManyRequests", "Message": str(exc)},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after), **JSON_HEADERS},
            )
        except Unavailable as exc:
            return _unavailable(exc)
        except Exception as exc:
            if is_outage(exc):  # Cognito, DynamoDB or S3 down or throttling: a clear 503, not a crash
                return _unavailable(Unavailable())
            raise

    return wrapper  # type: ignore[return-value]


def _unavailable(exc: Unavailable) -> Response:
    return Response(
        body={"Code": "ServiceUnavailable", "Message": str(exc)},
        status_code=503,
        headers={"Retry-After": str(exc.retry_after), **JSON_HEADERS},
    )


def principal(request: Any) -> Principal:
    """The caller as the built-in authorizer verified it (never from anything the client sends)."""
    ctx = (request.context or {}).get("authorizer") or {}
    if "role" not in ctx:
        raise Forbidden("non authentifié / not signed in")
    return Principal.from_context(ctx)


def view_context(request: Any) -> ViewContext:
    return ViewContext(principal(request), DynamoDirectory(), default_source(), settings().now())


def query(request: Any, name: str) -> str | None:
    value = (request.query_params or {}).get(name)
    return None if value is None else str(value)


def body(request: Any) -> Any:
    try:
        return request.json_body
    except (BadRequestError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise InvalidRequest("corps JSON invalide / invalid JSON body") from None


def client_address(request: Any) -> str:
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")


def respond(request: Any, payload: dict[str, Any], name: str) -> Any:
    """JSON, or with ``?format=csv`` the payload's table as a CSV download."""
    fmt = query(request, "format") or "json"
    if fmt == "json":
        return Response(body=json.dumps(payload, ensure_ascii=False), status_code=200, headers=JSON_HEADERS)
    if fmt != "csv":
        raise InvalidRequest("format inconnu / unknown format (json, csv)")
    if "table" not in payload:
        raise InvalidRequest("pas de tableau à exporter / nothing to export")
    return Response(
        body=to_csv(payload["table"]),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="wifivip-{_SAFE.sub("-", name)[:100]}.csv"',
            "Cache-Control": "no-store",
        },
    )


def rows_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    return {"columns": [{"key": k, "label": v} for k, v in labels.items()], "rows": rows}


@lru_cache(maxsize=4)
def _client(service: str, region: str, endpoint: str | None) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)  # type: ignore[call-overload]


def aws(service: str) -> Any:
    conf = settings()
    return _client(service, conf.region, conf.endpoint_url)
