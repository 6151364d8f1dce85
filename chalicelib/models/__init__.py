"""One PynamoDB model per DynamoDB table, used by the portal, the functions and the deploy scripts.

Table names come from :mod:`chalicelib.naming` at import time (``WIFIVIP_STAGE``); the region from
``AWS_REGION``/``AWS_DEFAULT_REGION``; a local emulator from ``AWS_ENDPOINT_URL``.
"""

from chalicelib.models.allowlist_entry import AllowlistEntry
from chalicelib.models.allowlist_state import AllowlistState
from chalicelib.models.campaign import CampaignItem
from chalicelib.models.captive_controller import CaptiveController
from chalicelib.models.consent_event import ConsentEvent
from chalicelib.models.consumer import Consumer
from chalicelib.models.consumer_visit import ConsumerVisit
from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.merchant import Merchant
from chalicelib.models.offer_counter import OfferCounter
from chalicelib.models.offer_send import OfferSend
from chalicelib.models.portal_activity import PortalActivity
from chalicelib.models.portal_grant import PortalGrant
from chalicelib.models.processed_batch import ProcessedBatch
from chalicelib.models.rate_counter import RateCounter
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_health import SensorHealth
from chalicelib.models.shop import Shop
from chalicelib.models.signin_attempt import SignInAttempt
from chalicelib.models.union import Union

CAMPAIGN_MODELS = (CampaignItem, OfferSend, OfferCounter, ConsumerVisit)
PORTAL_MODELS = (Shop, Merchant, Union, PortalActivity, SignInAttempt)
# Opt-in (consumer side) tables
OPTIN_MODELS = (Consumer, ConsentEvent, AllowlistEntry, AllowlistState, CaptiveController, PortalGrant, RateCounter)
ALL_MODELS = (
    Sensor,
    KpiItem,
    ProcessedBatch,
    DeviceState,
    SensorHealth,
    *CAMPAIGN_MODELS,
    *PORTAL_MODELS,
    *OPTIN_MODELS,
)

__all__ = [
    "ALL_MODELS",
    "CAMPAIGN_MODELS",
    "OPTIN_MODELS",
    "PORTAL_MODELS",
    "AllowlistEntry",
    "AllowlistState",
    "CampaignItem",
    "CaptiveController",
    "ConsentEvent",
    "Consumer",
    "ConsumerVisit",
    "DeviceState",
    "KpiItem",
    "Merchant",
    "OfferCounter",
    "OfferSend",
    "PortalActivity",
    "PortalGrant",
    "ProcessedBatch",
    "RateCounter",
    "Sensor",
    "SensorHealth",
    "Shop",
    "SignInAttempt",
    "Union",
]
