"""Campaigns and offer pushes: the domain, apart from AWS.

Pure functions and value objects (campaign model and lifecycle, templating, coupons, calendar and
quiet hours, caps, targeting, control group, uplift statistics) plus :mod:`service`, which drives
them through the ports of :mod:`ports`. The offers function and the portal wire AWS adapters to
those ports; unit tests wire in-memory fakes.
"""
