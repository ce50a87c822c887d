"""``cap_malloc_arenas``: the worker's threads share at most the capped number of arenas."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import pytest

from volt_agent.malloc_arenas import cap_malloc_arenas

try:
    ctypes.CDLL(None).malloc_stats  # noqa: B018 - glibc only
    GLIBC = True
except AttributeError:
    GLIBC = False

ARENAS_AFTER_THREADS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from volt_agent.malloc_arenas import cap_malloc_arenas
    if sys.argv[1] != "none":
        assert cap_malloc_arenas(int(sys.argv[1]), env={})
    start = threading.Barrier(4)
    def work():
        start.wait()  # the four threads allocate at once
        kept = [bytes(4096) for _ in range(200)]  # above pymalloc's 512 bytes: malloc
        start.wait()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
    """
)


def arenas_used(cap: str) -> int:
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", ARENAS_AFTER_THREADS, cap],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_threads_share_the_capped_arenas() -> None:
    assert arenas_used("none") > 2  # glibc's default: a new arena per allocating thread
    assert arenas_used("1") == 1
    assert arenas_used("2") == 2


def test_an_operators_malloc_arena_max_wins() -> None:
    assert cap_malloc_arenas(2, env={"MALLOC_ARENA_MAX": "4"}) is False


def test_no_cap_configured_changes_nothing() -> None:
    assert cap_malloc_arenas(None, env={}) is False
