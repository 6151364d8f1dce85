"""Campaign tests run their ledger and campaign store both in memory and on DynamoDB (moto): the
fakes and the adapters must keep the same contract, the atomic reserve above all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.campaigns.world import World
from tests.optin import conftest as optin_conftest
from tests.portal import conftest as portal_conftest


@pytest.fixture(params=["memory", "dynamo"])
def new_world(request: pytest.FixtureRequest) -> Callable[..., World]:
    if request.param == "memory":
        return World
    request.getfixturevalue("stack")
    from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger

    def make(**kwargs: Any) -> World:
        return World(ledger=DynamoSendLedger(), campaigns=DynamoCampaigns(), **kwargs)

    return make


# The opt-in's captive portal served over HTTP, for the integration tests with the real consent side.
portal = optin_conftest.portal

# The portal tests' small centre (merchants A and B, B delegating to the operator, the union, users
# of every role signed in), for the campaign routes' API tests.
world = portal_conftest.world
