"""Rollup: sensor-day items -> shop, street, zone and city days, and weeks and months at every scope."""
