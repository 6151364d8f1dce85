"""Reading the stage's secrets: SSM Parameter Store SecureString parameters (``infra/resources/parameters.py``).

One function, so every reader (the key job, the opt-in, the allowlist publisher, the UniFi grant)
asks for decryption the same way and caches the result where it is used.
"""

from __future__ import annotations

from typing import Any


def read_secret(client: Any, name: str) -> str:
    """A SecureString parameter's value, decrypted (``client``: a boto3 ``ssm`` client; ``name``: the
    parameter's name, ``/wifivip/{stage}/...``)."""
    return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
