"""A stand-in benchmark module for tests/bench/test_beside.py: records when its run began and ended (in
the folder named by WIFIVIP_BENCH_TRACE, with its process id) and waits a little, as a module works."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

FIGURES = {"fake.waiting": "figure of the module run beside another"}


def traced(name: str) -> None:
    began = time.time()
    time.sleep(1.5)
    (Path(os.environ["WIFIVIP_BENCH_TRACE"]) / name).write_text(f"{began} {time.time()} {os.getpid()}")


def run() -> dict[str, Any]:
    traced("waiting")
    return {"fake.waiting": 1}
