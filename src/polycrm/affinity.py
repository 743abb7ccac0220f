"""A CPU of its own for each `polycrm serve` worker process, when there are as many workers as CPUs.

A request runs in a thread-pool thread and answers through the event loop's thread: two thread wake-ups per
request. When the two threads sit on different CPUs each wake-up crosses CPUs (on a virtual machine, an
interrupt to another virtual CPU): measured on a 2-CPU machine, a hand-off cost about 90 µs of CPU, against
26 µs between threads on one CPU, which made a record read a fifth cheaper. With a worker per CPU nothing is
lost by keeping each worker's threads together. CPUs are claimed through lock files, so a worker started
again after a crash takes the CPU the dead one left.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from polycrm.events.worker import SoleWorkerLock

# Set by `polycrm serve` for its worker processes: how many there are.
SERVE_WORKERS_ENV = "POLYCRM_SERVE_WORKERS"

log = logging.getLogger(__name__)
_claimed: list[SoleWorkerLock] = []  # held open for the life of the process


def serve_workers() -> int:
    """Worker processes of the `polycrm serve` this process belongs to (1 when not started by it)."""
    raw = os.environ.get(SERVE_WORKERS_ENV, "")
    return int(raw) if raw.isdigit() else 1


def pin_worker(lock_dir: Path, workers: int) -> int | None:
    """Keep this process's threads, and those it starts later, on the first CPU no other worker has
    claimed; the CPU, or None when there are not exactly as many workers as CPUs or every CPU is taken."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or workers != len(cpus):
        return None
    for cpu in cpus:
        lock = SoleWorkerLock(lock_dir / f"serve-cpu-{cpu}.lock")
        if lock.acquire():
            _claimed.append(lock)
            # Affinity belongs to each thread: set it on every thread there is; new ones inherit it.
            for thread_id in os.listdir("/proc/self/task"):
                os.sched_setaffinity(int(thread_id), {cpu})
            log.info("worker process %d keeps to CPU %d", os.getpid(), cpu)
            return cpu
    return None
