"""``python -m bench.run_one MODULE FILE``: one benchmark module's ``run()`` in a process of its own.

``python -m bench`` starts the modules of :data:`bench.__main__.BESIDE` this way, beside a CPU-bound
module, and reads back FILE: ``{"figures": {...}, "cpu": seconds}`` (CPU of this process and of its
finished children, as ``python -m bench`` counts it for the others).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from bench.__main__ import RUN_ARGS, cpu_seconds


def main(argv: list[str]) -> int:
    name, out = argv
    module = importlib.import_module(name)
    figures = module.run(**RUN_ARGS.get(name, {}))
    Path(out).write_text(json.dumps({"figures": figures, "cpu": round(cpu_seconds(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
