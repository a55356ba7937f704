"""Run `python -m bot ...` under cProfile in every thread and write the merged stats on exit.

    .venv/bin/python tests/bench/profile_bot.py OUT.prof http      # same arguments as `python -m bot`
    .venv/bin/python -m pstats OUT.prof                             # then: sort tottime / stats 30

Why a wrapper and not py-spy: py-spy is not installed here, and the bot answers in waitress's and
bolt's worker threads, which `python -m cProfile` does not see (it profiles the main thread only).
`threading.setprofile` installs a hook that every new thread runs first; the hook starts one
cProfile.Profile for that thread. Stats are merged when the bot returns (SIGTERM stops it cleanly).
Times are each thread's CPU time (`time.thread_time`), not wall-clock: with a burst queued, wall
time mostly measures waiting for the GIL and locks, which hides where the CPU goes.
`bench_slack.py --profile OUT.prof` starts the bot through this file. cProfile slows pure-Python
code by roughly 1.5-2x, so use it to see where time goes, not to measure latency.
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(*_: object) -> None:
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()  # replaces this hook for the rest of the thread

    threading.setprofile(start_thread_profile)
    main_prof = cProfile.Profile(time.thread_time)
    profiles.append(main_prof)
    main_prof.enable()
    from bot.cli import main as bot_main

    try:
        code = bot_main(argv)
    finally:
        main_prof.disable()
        threading.setprofile(None)
        with lock:
            taken = list(profiles)
        stats = pstats.Stats(taken[0])
        for prof in taken[1:]:
            try:
                stats.add(prof)
            except (TypeError, ValueError):  # a thread that never returned to Python: nothing to add
                pass
        stats.dump_stats(str(out))
        print(f"profile: {len(taken)} threads -> {out}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
