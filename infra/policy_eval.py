"""A small IAM policy evaluator: does this set of policy documents allow this action on this resource?

Why: moto does not enforce IAM, and its own evaluator ignores most conditions, so neither can prove
what a sensor's credentials may do. This follows AWS's documented logic for one account: an explicit
``Deny`` wins, then any ``Allow``, otherwise the request is implicitly denied. Actions match
case-insensitively, resources case-sensitively, both with ``*`` and ``?`` wildcards; policy
variables (``${aws:username}``) are substituted from the request context. Condition operators it
does not know raise :class:`UnsupportedCondition` rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny", "implicit-deny"]
ContextValue = str | list[str]


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not implement: the caller must not trust a verdict."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    principal: str | None = None  # for resource policies: the caller's ARN, or a service name


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """AWS's single-account evaluation over identity and resource policies together."""
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"


def allows(policies: Iterable[Mapping[str, Any]], action: str, resource: str, **context: ContextValue) -> bool:
    return evaluate(list(policies), Request(action, resource, context)) == "allow"


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    ctx = request.context
    if "Action" in statement:
        if not any(_glob(p, request.action, ignore_case=True) for p in _as_list(statement["Action"])):
            return False
    elif any(_glob(p, request.action, ignore_case=True) for p in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_glob(_substitute(p, ctx), request.resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(
        _glob(_substitute(p, ctx), request.resource) for p in _as_list(statement["NotResource"])
    ):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal):
        return False
    return all(
        _condition(operator, key, _as_list(expected), ctx)
        for operator, entries in statement.get("Condition", {}).items()
        for key, expected in entries.items()
    )


def _principal_matches(principal: Any, caller: str | None) -> bool:
    if principal == "*":
        return True
    if caller is None:
        return False
    values = [v for group in principal.values() for v in _as_list(group)]
    return any(v == "*" or v == caller for v in values)


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _substitute(text: str, ctx: Mapping[str, ContextValue]) -> str:
    def value(match: re.Match[str]) -> str:
        found = ctx.get(match.group(1))
        if found is None or isinstance(found, list):
            return "\x00unresolved\x00"  # an unresolved variable matches nothing
        return found

    return re.sub(r"\$\{([^}]+)\}", value, text)


_STRING_OPS = {
    "StringEquals": lambda e, a: a == e,
    "StringLike": lambda e, a: _glob(e, a),
    "ArnEquals": lambda e, a: a == e,
    "ArnLike": lambda e, a: _glob(e, a),
    "Bool": lambda e, a: a.lower() == str(e).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition(operator: str, key: str, expected: list[Any], ctx: Mapping[str, ContextValue]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    op = _STRING_OPS.get(_NEGATED.get(base, base))
    if op is None:
        raise UnsupportedCondition(f"condition operator {operator} is not implemented by this evaluator")
    actual = ctx.get(key)
    if actual is None:
        return if_exists or negated
    expected_values = [_substitute(str(e), ctx) for e in expected]
    matched = any(op(e, a) for a in _as_list(actual) for e in expected_values)
    return not matched if negated else matched
