"""Freed memory given back to the system after a large pass (glibc's `malloc_trim`).

glibc keeps what Python frees inside its arenas, one arena per thread that allocates: the
dashboard's collector, analysis and row threads each have their own. A refresh of a large fleet
reads and frees hundreds of megabytes of answers among objects that stay (the inventory, the
metric store), so the free pages sit between used ones where glibc's own trimming (of an arena's
top only) never reaches them, and the analysis thread cannot reuse what the collector's arena
holds free. The resident size climbs to the sum of every thread's high-water mark and stays
there. `malloc_trim(0)` hands back the free pages of every arena; the GIL is released meanwhile.
Where malloc is not glibc's (macOS, musl) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return None  # musl: no malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    result: Callable[[int], int] = trim
    return result


def release_free_memory() -> bool:
    """Give the free pages of the C heap back; True when some were."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
