"""One PynamoDB model per DynamoDB table, used by the portal, the functions and the deploy scripts.

Table names come from :mod:`chalicelib.naming` at import time (``WIFIVIP_STAGE``); the region from
``AWS_REGION``/``AWS_DEFAULT_REGION``; a local emulator from ``AWS_ENDPOINT_URL``.
"""

from chalicelib.models.campaign import CampaignItem
from chalicelib.models.consumer_visit import ConsumerVisit
from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.offer_counter import OfferCounter
from chalicelib.models.offer_send import OfferSend
from chalicelib.models.processed_batch import ProcessedBatch
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_health import SensorHealth

CAMPAIGN_MODELS = (CampaignItem, OfferSend, OfferCounter, ConsumerVisit)
ALL_MODELS = (Sensor, KpiItem, ProcessedBatch, DeviceState, SensorHealth, *CAMPAIGN_MODELS)

__all__ = [
    "ALL_MODELS",
    "CAMPAIGN_MODELS",
    "CampaignItem",
    "ConsumerVisit",
    "DeviceState",
    "KpiItem",
    "OfferCounter",
    "OfferSend",
    "ProcessedBatch",
    "Sensor",
    "SensorHealth",
]
