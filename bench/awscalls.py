"""Count every AWS API call a process makes, by service and operation, with DynamoDB's billed units.

Why: the monthly bill is calls x prices, so the calls must be counted where they are made, not
estimated. Every botocore session this process creates (boto3's default session, PynamoDB's, the
edge agent's uploader) gets ``before-parameter-build`` / ``after-call`` hooks; :func:`recording` installs them
for a block of code. DynamoDB's request units follow its billing rules: a write costs one unit per
started KB of the larger of the item before and after (two for a transactional write, condition
checks included); a read one unit per started 4 KB (half for an eventually consistent read, two
for a transactional one), a Query or Scan the sum of its items rounded up once. Item sizes of
writes are read from the in-process emulator (moto's tables) around the call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

WRITE_KB = 1024
READ_KB = 4096


def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in its wire form (``{"S": "x"}``, ``{"N": "1"}``...)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(v) if isinstance(v, bytes | bytearray) else math.ceil(len(v) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(number_size(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(x) for k, x in v.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def number_size(text: str) -> int:
    """A number's size: one byte per two significant digits, plus one (DynamoDB's documented rule)."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Bytes of an item: its attribute names (UTF-8) and values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size_bytes: int, transactional: bool = False) -> int:
    return max(1, math.ceil(size_bytes / WRITE_KB)) * (2 if transactional else 1)


def read_units(size_bytes: int, consistent: bool = False, transactional: bool = False) -> float:
    units = max(1, math.ceil(size_bytes / READ_KB))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


@dataclass
class Recorder:
    """What was called: counts by ``service.Operation``, DynamoDB units by table, S3 bytes put."""

    calls: Counter[str] = field(default_factory=Counter)
    wru: Counter[str] = field(default_factory=Counter)
    rru: Counter[str] = field(default_factory=Counter)
    s3_bytes_put: int = 0
    total: int = 0  # every call, for per-invocation deltas
    table_calls: Counter[str] = field(default_factory=Counter)  # "table|Operation" (first table of the call)

    def by_service(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, n in sorted(self.calls.items()):
            service, op = key.split(".", 1)
            out.setdefault(service, {})[op] = n
        return out

    def snapshot(self) -> Recorder:
        return Recorder(
            Counter(self.calls),
            Counter(self.wru),
            Counter(self.rru),
            self.s3_bytes_put,
            self.total,
            Counter(self.table_calls),
        )

    def minus(self, earlier: Recorder) -> Recorder:
        return Recorder(
            self.calls - earlier.calls,
            self.wru - earlier.wru,
            self.rru - earlier.rru,
            self.s3_bytes_put - earlier.s3_bytes_put,
            self.total - earlier.total,
            self.table_calls - earlier.table_calls,
        )

    def count(self, service: str, operation: str, body_bytes: int = 0) -> None:
        """A call made by a client that is not botocore (the sensor's own small S3 client)."""
        self.calls[f"{service}.{operation}"] += 1
        self.total += 1
        if (service, operation) == ("s3", "PutObject"):
            self.s3_bytes_put += body_bytes

    # --- hooks ---

    def before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: the call's API parameters, before serialization."""
        service = model.service_model.service_name
        self.calls[f"{service}.{model.name}"] += 1
        self.total += 1
        if service == "s3" and model.name == "PutObject":
            self.s3_bytes_put += body_size(params.get("Body", b""))
        if service == "dynamodb":
            self.table_calls[f"{_first_table(params)}|{model.name}"] += 1
            context["wifivip_params"] = params
            keys = _written_keys(model.name, params)
            if keys:
                context["wifivip_sizes"] = [(table, key, _stored_size(table, key)) for table, key, _t in keys]
                context["wifivip_transact"] = model.name == "TransactWriteItems"

    def after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context.pop("wifivip_params", None)
        if model.service_model.service_name != "dynamodb" or params is None or parsed.get("Error"):
            return
        op = model.name
        for table, key, before in context.pop("wifivip_sizes", []):
            size = max(before, _stored_size(table, key))
            self.wru[table] += write_units(size, context.get("wifivip_transact", False))
        consistent = bool(params.get("ConsistentRead"))
        if op == "GetItem" and "Item" in parsed:
            self.rru[params["TableName"]] += read_units(item_size(parsed["Item"]), consistent)
        elif op == "GetItem":
            self.rru[params["TableName"]] += read_units(0, consistent)
        elif op in ("Query", "Scan"):
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.rru[params["TableName"]] += read_units(size, consistent)
        elif op == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                self.rru[table] += sum(read_units(item_size(i), consistent) for i in items) or 0.5
        elif op == "TransactGetItems":
            for item, request in zip(parsed.get("Responses", []), params["TransactItems"], strict=False):
                table = request["Get"]["TableName"]
                self.rru[table] += read_units(item_size(item.get("Item", {})), transactional=True)


def _first_table(params: dict[str, Any]) -> str:
    """The table a DynamoDB call is about (the first one, for batches and transactions; "" for none)."""
    if "TableName" in params:
        return str(params["TableName"])
    if params.get("RequestItems"):
        return str(next(iter(params["RequestItems"])))
    for action in params.get("TransactItems", []):
        ((_kind, body),) = action.items()
        return str(body.get("TableName", ""))
    return ""


def body_size(body: Any) -> int:
    """Bytes of an S3 body: botocore has already wrapped bytes into a file-like object at this point."""
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    if hasattr(body, "getbuffer"):
        return len(body.getbuffer())
    if hasattr(body, "seek") and hasattr(body, "tell"):
        here = body.tell()
        end = body.seek(0, 2)
        body.seek(here)
        return int(end - here)
    return 0


def _written_keys(op: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(table, key attributes, transactional) of every item a write request touches."""
    if op == "PutItem":
        return [(params["TableName"], params["Item"], False)]
    if op in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], False)]
    if op == "BatchWriteItem":
        out = []
        for table, requests in params["RequestItems"].items():
            for r in requests:
                if "PutRequest" in r:
                    out.append((table, r["PutRequest"]["Item"], False))
                else:
                    out.append((table, r["DeleteRequest"]["Key"], False))
        return out
    if op == "TransactWriteItems":
        out = []
        for action in params["TransactItems"]:
            ((_kind, body),) = action.items()
            out.append((body["TableName"], body.get("Key") or body.get("Item", {}), True))
        return out
    return []


def _stored_size(table_name: str, key: dict[str, Any]) -> int:
    """The item's current size in the in-process emulator (0 when absent or not emulated here)."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
    except ImportError:  # pragma: no cover - moto is a dev dependency
        return 0
    for region in ("eu-west-3", "us-east-1"):
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        table = backend.tables.get(table_name)
        if table is None:
            continue
        names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        try:
            hash_key, range_key = backend.get_keys_value(table, {n: key[n] for n in names})
            item = table.get_item(hash_key, range_key)
        except Exception:  # a malformed key: DynamoDB refuses it, nothing is billed
            return 0
        if item is None:
            return 0
        return item_size(item.to_json()["Attributes"])
    return 0


@contextmanager
def recording() -> Iterator[Recorder]:
    """Count the AWS calls of every botocore session created or used in this block."""
    import botocore.session
    import pynamodb.connection.base as pynamodb_base

    from chalicelib.models import ALL_MODELS

    recorder = Recorder()
    sessions: list[Any] = []

    def hook(session: botocore.session.Session) -> botocore.session.Session:
        session.register("before-parameter-build", recorder.before)
        session.register("after-call", recorder.after)
        sessions.append(session)
        return session

    import boto3

    original_get_session = pynamodb_base.get_session
    original_create = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        if self not in sessions:
            hook(self)
        return original_create(self, *args, **kwargs)

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    pynamodb_base.get_session = lambda: hook(original_get_session())
    boto3.DEFAULT_SESSION = None
    for model in ALL_MODELS:
        model._connection = None
    try:
        yield recorder
    finally:
        botocore.session.Session.create_client = original_create  # type: ignore[method-assign]
        pynamodb_base.get_session = original_get_session
        for session in sessions:
            session.unregister("before-parameter-build", recorder.before)
            session.unregister("after-call", recorder.after)
        for model in ALL_MODELS:
            model._connection = None
