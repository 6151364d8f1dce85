"""What the portal's and the opt-in function's API tests share: hostile inputs schemathesis would not think
of (oversized, deeply nested, wrongly typed and unicode-hostile values, path segments and bodies) and the
way schemathesis cases are generated and sent."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

DEEP = "[" * 5000 + "]" * 5000
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    2**64,
    1e308,
    "",
    "x" * 100_000,
    "\u202e\u0000\ud83d",
    "🙂" * 500,
    "../../../etc/passwd",
    "' OR '1'='1",
    "=cmd|' /C calc'!A0",
    [],
    {"$ne": None},
]
HOSTILE_PATH = ["x" * 2000, "%00", "%2e%2e%2f%2e%2e", "%F0%9F%99%82", "shop-a%2Fshop-b", "NaN", "-1"]


def hostile_bodies(fields: tuple[str, ...] = ("email", "password", "name", "shop_id")) -> Iterator[bytes]:
    """JSON bodies: empty, cut, not UTF-8, 5,000 levels deep, 1 MB, and each hostile value alone and in
    every one of ``fields``."""
    yield b""
    yield b"{"
    yield b"\xff\xfe\x00"
    yield DEEP.encode()
    yield json.dumps({"a": "x" * 1_000_000}).encode()  # 1 MB
    for value in HOSTILE_VALUES:
        yield json.dumps(value).encode()
        yield json.dumps(dict.fromkeys(fields, value)).encode()


def as_text(value: Any) -> str:
    """A hostile value as a form field or query parameter carries it (strings as they are, others as JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def fuzz_operation(
    operation: Any, mode: GenerationMode, examples: int, seen: Counter[str], send: Callable[[Any], None]
) -> None:
    """Send ``examples`` schemathesis cases of ``operation`` in ``mode`` through ``send`` (which checks the
    reply). Hypothesis' settings are the same for every API: no deadline, no example database, all health
    checks off. An operation without inputs has no invalid request: counted, not a failure."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        send(case)

    try:
        run()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE
        seen["no invalid input possible"] += 1
