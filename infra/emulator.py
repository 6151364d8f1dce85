"""The embedded AWS emulator: moto's server on 127.0.0.1, on a free port, for the demo and the tests."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def _evaluate_bucket_policies_with_conditions() -> None:
    """moto ignores the conditions of a bucket policy, so a "deny unless TLS" statement denies every
    request. Evaluate bucket policies with :mod:`infra.policy_eval` instead, for a request made over
    TLS (every client reaches AWS over HTTPS; the emulator itself only listens on loopback HTTP).
    The policy's behaviour over plain HTTP is proven by the tests, with the same evaluator.
    """
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from infra.policy_eval import Request, evaluate

    def get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        request = Request(action, resource, {"aws:SecureTransport": "true"})
        decision = evaluate([json.loads(self.policy)], request)
        return {"deny": PermissionResult.DENIED, "allow": PermissionResult.PERMITTED}.get(
            decision, PermissionResult.NEUTRAL
        )

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _accept_aws_binary_media_type_patches() -> None:
    """AWS adds a binary media type with the type in the patch path (``/binaryMediaTypes/image~1png``);
    moto reads it from ``value``. Translate, so the deploy code sends AWS's form to both."""
    from moto.apigateway.models import RestAPI

    original = RestAPI.apply_patch_operations

    def apply_patch_operations(self: RestAPI, patch_operations: list[dict[str, Any]]) -> None:
        translated = []
        for op in patch_operations:
            path = op.get("path", "")
            if path.startswith("/binaryMediaTypes/") and op.get("op") in ("add", "remove") and "value" not in op:
                media_type = path.removeprefix("/binaryMediaTypes/").replace("~1", "/").replace("~0", "~")
                op = {**op, "path": "/binaryMediaTypes", "value": media_type}
            translated.append(op)
        original(self, translated)

    RestAPI.apply_patch_operations = apply_patch_operations  # type: ignore[method-assign]


def _back_up_only_the_items_a_transaction_touches() -> None:
    """moto makes ``TransactWriteItems`` all-or-nothing by deep-copying every table the transaction
    touches, once per action, before applying it: each transaction costs the size of the tables, and
    a day replayed batch by batch grows quadratic (the KPI oracle's third day took twice its first).
    Back up only the items the actions name and put those back when the transaction fails: the same
    all-or-nothing result, at the cost of the transaction itself.
    """
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    deepcopy = copy.deepcopy

    def copy_all_but_tables(obj: Any, memo: Any = None) -> Any:
        return obj if isinstance(obj, Table) else deepcopy(obj, memo)

    models.copy = types.SimpleNamespace(deepcopy=copy_all_but_tables)  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def touched(backend: Any, action: dict[str, Any]) -> tuple[Any, Any, Any] | None:
        """(table, hash key, range key) an action names; None for a malformed one (moto refuses it)."""
        op: Any = next(iter(action.values()), None)
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            return None
        names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        keys = op.get("Key") or {n: op.get("Item", {}).get(n) for n in names}
        if not all(keys.get(n) for n in names):
            return None
        hash_key, range_key = backend.get_keys_value(table, keys)
        return table, hash_key, range_key

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        keys = [k for k in (touched(self, a) for a in transact_items) if k is not None]
        saved = [(table, h, r, deepcopy(table.get_item(h, r))) for table, h, r in keys]
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                table.delete_item(hash_key, range_key)
                if item is not None and range_key is not None:
                    table.items[hash_key][range_key] = item
                elif item is not None:
                    table.items[hash_key] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _send_and_receive_sqs_messages_without_counting_the_queue() -> None:
    """moto's ``send_message`` reads the queue's attributes for one flag (content-based deduplication),
    and ``receive_message`` reads them again for the retention period of each message it returns;
    those attributes count the messages visible, delayed and in flight by scanning the whole queue
    with a clock read per message, so each message sent or received costs the queue's length. While
    a day's batches are uploaded faster than they are ingested the queue grows and both slow down
    quadratically (py-spy: 77 % of the whole-centre demo's replay in send, then 80 % of its ingest in
    receive). Skip the three counts inside those two calls (neither uses them); GetQueueAttributes
    still counts.
    """
    import threading

    from moto.sqs.models import Queue, SQSBackend

    busy = threading.local()
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        count = getattr(Queue, name).fget

        def skipped_when_busy(self: Queue, _count: Any = count) -> int:
            return 0 if getattr(busy, "active", False) else int(_count(self))

        setattr(Queue, name, property(skipped_when_busy))

    def uncounted(method: Any) -> Any:
        def call(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(busy, "active", False)
            busy.active = True
            try:
                return method(self, *args, **kwargs)
            finally:
                busy.active = outer

        return call

    SQSBackend.send_message = uncounted(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.receive_message = uncounted(SQSBackend.receive_message)  # type: ignore[method-assign]


_patched = False


def _check_a_new_items_size_once() -> None:
    """moto checks the 400 KB item limit on every attribute it adds to a new item by summing the sizes
    of all the attributes already there: quadratic in the attribute count (a KPI day item has ~400 flat
    counters: 27 ms of CPU per item written, most of a year of items' seeding). Build the attributes,
    then check the total once: sizes only grow while an item is built, so the same items are refused.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    limit = 405000  # moto's own figure (LimitedSizeDict.__setitem__)

    def __init__(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = LimitedSizeDict()
        for key, value in attrs.items():
            dict.__setitem__(built, key, DynamoType(value))
        if sum(bytesize(key) + value.size() for key, value in built.items()) > limit:
            raise ItemSizeTooLarge
        self.attrs = built

    Item.__init__ = __init__  # type: ignore[method-assign]


class _ListedVersion:
    """One version as a listing shows it: the stored version's attributes, with the listing's own
    ``is_latest`` (moto deep-copied each version, body included, only to set that flag on the copy)."""

    def __init__(self, version: Any, is_latest: bool) -> None:
        self._version = version
        self.is_latest = is_latest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._version, name)


def _list_versions_under_the_prefix_only() -> None:
    """moto's ``list_object_versions`` deep-copies every version of every key in the bucket (each body
    read and written into a new temporary file) before it filters by prefix, on every call, page or
    not. The ingest lists ``Prefix=<batch key>`` after each redaction (O(versions of that key) on S3):
    on the emulator each call cost the whole bucket, so a full day's ingest went quadratic (one
    invocation every 4 s and 19 GB after 14k batches). List the keys under the prefix only, each
    version seen through a light view carrying its ``is_latest``; same pages, markers and order.
    """
    from moto.s3.models import FakeKey, S3Backend

    original = S3Backend.list_object_versions

    def list_object_versions(
        self: Any,
        bucket_name: str,
        delimiter: str | None = None,
        key_marker: str | None = None,
        max_keys: int | None = 1000,
        prefix: str = "",
        version_id_marker: str | None = None,
    ) -> tuple[list[Any], list[str], list[Any], str | None, str | None]:
        bucket = self.get_bucket(bucket_name)
        prefix = prefix or ""
        # newest first within a key: a key's list is in write order (its current version last)
        listed = [
            _ListedVersion(version, is_latest=i == 0)
            for name, versions in sorted(item for item in list(dict.items(bucket.keys)) if item[0].startswith(prefix))
            for i, version in enumerate(reversed(versions))
        ]
        return _page_of_versions(listed, FakeKey, delimiter, key_marker, max_keys, prefix, version_id_marker)

    list_object_versions.moto_original = original  # type: ignore[attr-defined]  # (its test compares the two)
    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]


def _page_of_versions(
    listed: list[Any],
    key_type: type,
    delimiter: str | None,
    key_marker: str | None,
    max_keys: int | None,
    prefix: str,
    version_id_marker: str | None,
) -> tuple[list[Any], list[str], list[Any], str | None, str | None]:
    """moto 5.2.5's paging of a version listing (markers, delimiter, max keys) over versions already under
    the prefix and sorted by name, newest first; but a deleted marker version resumes the listing (S3)."""
    common_prefixes: set[str] = set()
    requested: list[Any] = []
    delete_markers: list[Any] = []
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    skip = True
    last_added: Any = None
    # S3 goes on after a marker version deleted since the last page (a sweep deleting each page as it
    # lists); moto found nothing to resume after. Resume at the marker key's remaining versions.
    marker_gone = bool(version_id_marker) and not any(
        v.name == key_marker and v.version_id == version_id_marker for v in listed
    )
    for version in listed:
        name = version.name
        if skip:
            if key_marker is None:
                skip = False
            elif not version_id_marker:
                skip = version.name < key_marker
                continue
            elif version.name == key_marker and version.version_id == version_id_marker:
                skip = False
                continue
            elif marker_gone and key_marker is not None and version.name >= key_marker:
                skip = False
            else:
                continue
        is_common_prefix = False
        if delimiter and delimiter in name[len(prefix) :]:
            end = len(prefix) + name[len(prefix) :].index(delimiter) + len(delimiter)
            name = name[:end]
            if name == key_marker:
                continue
            common_prefixes.add(name)
            is_common_prefix = True
        elif last_added is not None:
            name = last_added.name
        if max_keys is not None and len(requested) + len(delete_markers) + len(common_prefixes) >= max_keys:
            next_key_marker = name
            next_version_id_marker = None if is_common_prefix or last_added is None else last_added.version_id
            break
        if not is_common_prefix:
            last_added = version
            (requested if isinstance(version._version, key_type) else delete_markers).append(version)
    return requested, sorted(common_prefixes), delete_markers, next_key_marker, next_version_id_marker


def _patch_moto() -> None:
    global _patched
    if not _patched:
        _evaluate_bucket_policies_with_conditions()
        _accept_aws_binary_media_type_patches()
        _back_up_only_the_items_a_transaction_touches()
        _check_a_new_items_size_once()
        _send_and_receive_sqs_messages_without_counting_the_queue()
        _list_versions_under_the_prefix_only()
        _patched = True


@contextmanager
def local_aws(region: str = "eu-west-3") -> Iterator[str]:
    """Start moto's server, point this process's AWS clients at it, yield its URL; stop it on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION")}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": region, "AWS_REGION": region})
    try:
        yield url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
