"""KPI definitions: what each figure means, in one place, used by ingest, rollups and the portal."""
