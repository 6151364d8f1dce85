"""docs/privacy.md states the code's actual privacy settings: each row of its settings table is
compared with the value the code uses (a change on either side without the other fails here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wifivip_edge import config as edge_config
from wifivip_edge.daykeys import KEY_BYTES

from chalicelib.models import consumer_visit, device_state, kpi_item, offer_send
from chalicelib.models.device_state import DeviceState
from infra import functions, stack
from infra.core import Context
from infra.resources import dynamodb, parameters, s3, sqs

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def lifecycle_days(mode: str, rule_id: str) -> int:
    (rule,) = [r for r in stack.bucket_lifecycle(mode) if r["ID"] == rule_id]
    return int(rule["Expiration"]["Days"])


def code_settings() -> dict[str, Any]:
    """What the code says, under the names the document's table uses."""
    (rotation,) = [s for s in functions.PRIVACY.schedules if s[0] == "rotate-keys"]
    return {
        "pseudonym bits, anonymous": edge_config.DEFAULT_BITS["anonymous"],
        "pseudonym bits, pseudonymous-24h": edge_config.DEFAULT_BITS["pseudonymous-24h"],
        "pseudonym bits, consent": edge_config.DEFAULT_BITS["consent"],
        "widest anonymous pseudonym, bits": edge_config.MAX_ANONYMOUS_BITS,
        "raw MAC held in memory at most, seconds": edge_config.MAX_RAW_HOLD_S,
        "day key length, bytes": KEY_BYTES,
        "key rotation schedule": rotation[1],
        "raw batches kept, anonymous, days": lifecycle_days("anonymous", "raw-batches"),
        "raw batches kept, pseudonymous-24h, days": lifecycle_days("pseudonymous-24h", "raw-batches"),
        "raw batches kept, consent, days": lifecycle_days("consent", "raw-batches"),
        "quarantined batches kept, pseudonymous-24h, days": lifecycle_days("pseudonymous-24h", "quarantine"),
        "day keys kept in S3 at most, days": lifecycle_days("pseudonymous-24h", "day-keys"),
        "heartbeats kept, days": lifecycle_days("pseudonymous-24h", "heartbeats"),
        "presence events kept, days": lifecycle_days("pseudonymous-24h", "presence"),
        "consent panel kept, days": device_state.PANEL_TTL_DAYS,
        "unique-device sketches kept, days": kpi_item.SKETCH_TTL_DAYS,
        "consumer visits kept, days": consumer_visit.VISIT_TTL_DAYS,
        "offer sends kept, days": offer_send.OFFER_SEND_TTL_DAYS,
        "function logs kept, days": stack.LOG_RETENTION_DAYS,
        "per-device table TTL attribute": DeviceState.expires.attr_name,
        "tables encrypted at rest with": dynamodb.AT_REST,
        "queues encrypted at rest with": sqs.AT_REST,
        "secret parameters encrypted with": parameters.AWS_MANAGED_KEY,
        "data bucket encrypted with": data_bucket().desired(planning_context())["encryption"]["SSEAlgorithm"],
        "customer KMS keys in the stage": len([r for r in declared_stage() if r.kind.startswith("kms")]),
    }


def planning_context() -> Context:
    target = stack.StackTarget("doc", package_dependencies=False)
    ctx = Context(target.region, None, target.stage, planning=True)
    ctx._account = "000000000000"  # no AWS call: the account is set by hand
    return ctx


def declared_stage() -> list[Any]:
    """The stage as declared."""
    return stack.stage_resources(planning_context(), stack.StackTarget("doc", package_dependencies=False))


def data_bucket() -> Any:
    (bucket,) = [r for r in declared_stage() if r.kind == s3.Bucket.kind]
    return bucket


def doc_settings() -> dict[str, str]:
    text = DOC.read_text()
    block = text[text.index("<!-- settings") : text.index("<!-- /settings -->")]
    rows = [r for r in block.splitlines() if r.startswith("| ") and not r.startswith(("| setting", "|---"))]
    out = {}
    for row in rows:
        name, value, _where = (cell.strip() for cell in row.strip("|").split("|"))
        out[name] = value
    return out


def test_the_privacy_document_states_the_codes_settings() -> None:
    stated, actual = doc_settings(), code_settings()
    assert set(stated) == set(actual), f"rows without a check: {set(stated) ^ set(actual)}"
    wrong = {k: (stated[k], actual[k]) for k in actual if stated[k] != str(actual[k])}
    assert not wrong, f"docs/privacy.md differs from the code (stated, actual): {wrong}"


def test_the_data_map_agrees_with_the_settings() -> None:
    """The prose repeats the key figures: they must match the table."""
    text = DOC.read_text()
    assert re.search(r"truncated to \*\*16 bits\*\*", text) and re.search(r"truncated to \*\*32 bits\*\*", text)
    assert "at most 5 min" in text and edge_config.MAX_RAW_HOLD_S == 300
    assert "1 day (lifecycle)" in text and stack.RAW_RETENTION_DAYS["pseudonymous-24h"] == 1
    assert "7 days (lifecycle)" in text and stack.RAW_RETENTION_DAYS["anonymous"] == 7
