"""One PynamoDB model per DynamoDB table, used by the portal, the functions and the deploy scripts.

Table names come from :mod:`chalicelib.naming` at import time (``WIFIVIP_STAGE``); the region from
``AWS_REGION``/``AWS_DEFAULT_REGION``; a local emulator from ``AWS_ENDPOINT_URL``.
"""

from chalicelib.models.processed_batch import ProcessedBatch
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_hour import SensorHourKpi

ALL_MODELS = (Sensor, SensorHourKpi, ProcessedBatch)

__all__ = ["ALL_MODELS", "ProcessedBatch", "Sensor", "SensorHourKpi"]
