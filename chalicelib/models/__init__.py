"""One PynamoDB model per DynamoDB table, used by the portal, the functions and the deploy scripts.

Table names come from :mod:`chalicelib.naming` at import time (``WIFIVIP_STAGE``); the region from
``AWS_REGION``/``AWS_DEFAULT_REGION``; a local emulator from ``AWS_ENDPOINT_URL``.
"""

from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.processed_batch import ProcessedBatch
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_health import SensorHealth

ALL_MODELS = (Sensor, KpiItem, ProcessedBatch, DeviceState, SensorHealth)

__all__ = ["ALL_MODELS", "DeviceState", "KpiItem", "ProcessedBatch", "Sensor", "SensorHealth"]
