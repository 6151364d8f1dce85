"""Keep the agent's resident memory what it really uses (glibc malloc settings, Linux only).

Measured (bench/edge_memory.py): with 50,000 active devices, the capture thread and the network
thread each got their own malloc arenas and every window's transient batch left freed pages in
them, so RSS grew far beyond the live data. Two arenas and a trim after each batch keep it flat.
Both calls are no-ops where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (call before starting threads); True when applied."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt and mallopt(_M_ARENA_MAX, count) == 1)


def trim() -> None:
    """Collect garbage and give freed heap pages back to the OS."""
    gc.collect()
    libc = _libc()
    malloc_trim = getattr(libc, "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)
