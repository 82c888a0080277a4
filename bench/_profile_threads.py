"""Run a Python script under cProfile in every thread, stats merged into one
file at exit: ``python -m cProfile`` sees the main thread only, while the
MX parses, screens and writes in its executor and writer threads. Times are
each thread's CPU time (``time.thread_time``): on a shared machine, wall
time in a thread is mostly waiting for the GIL or a core.

    python bench/_profile_threads.py OUT.pstats SCRIPT [ARGS...]
"""

from __future__ import annotations

import atexit
import cProfile
import pstats
import runpy
import sys
import threading
import time

profiles: list[cProfile.Profile] = []


def _begin(*_: object) -> None:
    # The first event of a new thread: from here on its own profiler records
    # it (``enable`` replaces this hook for the thread).
    profile = cProfile.Profile(time.thread_time)
    profiles.append(profile)
    profile.enable()


def _dump(path: str) -> None:
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:  # a thread that recorded nothing
            continue
    stats.dump_stats(path)


def main() -> None:
    out, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    threading.setprofile(_begin)
    atexit.register(_dump, out)
    _begin()
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
