"""Opt-in: the captive WiFi portal, double opt-in, the consent ledger and the consumer's rights."""
