"""Ingest: batches uploaded by sensors (S3 -> SQS -> Lambda) into the KPI tables, exactly once."""
