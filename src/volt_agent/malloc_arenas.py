"""Cap glibc's malloc arenas in a long-lived worker (issue 12).

glibc gives each thread that allocates its own arena, up to eight per core. A worker runs
its activities' heavy work in threads (``asyncio.to_thread``): each thread's arena keeps the
blocks the thread freed for the thread's own next use, so a run's memory ends up spread over
many arenas, each holding free space the others cannot reuse. Capping the arenas is the
usual remedy for threaded services (``MALLOC_ARENA_MAX``); on the ``org2`` benchmark two
arenas cut the worker's peak from 400 to 364 MiB with no measurable CPU cost.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

M_ARENA_MAX = -8
"""``mallopt``'s parameter number for the arena cap (glibc ``malloc.h``)."""
ENV_NAME = "MALLOC_ARENA_MAX"


def cap_malloc_arenas(arenas: int | None, env: Mapping[str, str] | None = None) -> bool:
    """Limit this process to ``arenas`` malloc arenas, for the threads that allocate from
    now on; True when done. Nothing is done for ``None``, when ``MALLOC_ARENA_MAX`` is set
    (glibc read it at start: the operator's choice stands) or without glibc's ``mallopt``."""
    env = os.environ if env is None else env
    if arenas is None or ENV_NAME in env:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. macOS): its own allocator
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
