"""Retention sweep: per-device items deleted as soon as they expire, not whenever DynamoDB's TTL gets to them."""
