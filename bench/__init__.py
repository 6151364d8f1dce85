"""Benchmarks: ratios and counts measured in one run (``python -m bench.ingest_kpi`` for the KPI engine)."""
