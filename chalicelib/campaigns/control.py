"""The control group: eligible consumers deliberately not sent, so the offer's effect can be measured.

Assignment is a keyed hash of the consumer pseudonym under the campaign's own random salt: the same
consumer always lands in the same group for a campaign (repeated presence events cannot move them),
the groups are independent across campaigns, and nobody can choose or predict membership without
the salt. The hash is mapped to a uniform number in [0, 1); below the control share means control.
"""

from __future__ import annotations

import hashlib
import hmac


def control_draw(salt: str, consumer: str) -> float:
    digest = hmac.new(bytes.fromhex(salt), consumer.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_control(salt: str, consumer: str, percent: float) -> bool:
    return control_draw(salt, consumer) < percent / 100.0
