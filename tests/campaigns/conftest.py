"""Campaign tests run their ledger and campaign store both in memory and on DynamoDB (moto): the
fakes and the adapters must keep the same contract, the atomic reserve above all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.campaigns.world import World


@pytest.fixture(params=["memory", "dynamo"])
def new_world(request: pytest.FixtureRequest) -> Callable[..., World]:
    if request.param == "memory":
        return World
    request.getfixturevalue("stack")
    from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger

    def make(**kwargs: Any) -> World:
        return World(ledger=DynamoSendLedger(), campaigns=DynamoCampaigns(), **kwargs)

    return make
