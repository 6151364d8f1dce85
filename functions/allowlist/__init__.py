"""The allowlist publisher: consented devices, signed for the sensors, every few minutes and on demand."""
