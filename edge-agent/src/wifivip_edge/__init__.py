"""wifivip edge agent: the sensor software that runs on a Raspberry Pi in a shop."""

__version__ = "0.1.0"
