"""Server worker processes each claim a CPU of their own, only when there are exactly as many workers as CPUs.

Each case runs in a child process: pinning the test process itself would slow the rest of the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(len(CPUS) < 2, reason="needs Linux CPU affinity and at least 2 CPUs")

# Pins itself, prints the CPU it got and the CPUs each of its threads may use, then holds its claim until
# stdin closes. The thread started before pinning shows that existing threads are pinned too.
CHILD = """
import os, sys, threading
from pathlib import Path
from polycrm.affinity import pin_worker
started = threading.Event(); stop = threading.Event()
threading.Thread(target=lambda: (started.set(), stop.wait()), daemon=True).start()
started.wait()
cpu = pin_worker(Path(sys.argv[1]), int(sys.argv[2]))
allowed = sorted({tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")})
print(cpu, allowed, flush=True)
sys.stdin.read()
stop.set()
"""


def start_worker(lock_dir: Path, workers: int) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(lock_dir), str(workers)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


def stop_worker(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=10)


def test_each_worker_takes_a_free_cpu_and_a_dead_workers_cpu_is_taken_again(tmp_path: Path) -> None:
    workers = [start_worker(tmp_path, len(CPUS)) for _ in CPUS]
    try:
        assert [line for _, line in workers] == [f"{cpu} [({cpu},)]" for cpu in CPUS]
        extra, line = start_worker(tmp_path, len(CPUS))  # every CPU claimed: this one is left unpinned
        stop_worker(extra)
        assert line == f"None [{tuple(CPUS)}]"
        stop_worker(workers[0][0])
        again, line = start_worker(tmp_path, len(CPUS))
        stop_worker(again)
        assert line == f"{CPUS[0]} [({CPUS[0]},)]"
    finally:
        for child, _ in workers[1:]:
            stop_worker(child)


@pytest.mark.parametrize("workers", [1, len(CPUS) + 1])
def test_no_pinning_unless_there_is_one_worker_per_cpu(tmp_path: Path, workers: int) -> None:
    child, line = start_worker(tmp_path, workers)
    stop_worker(child)
    assert line == f"None [{tuple(CPUS)}]"
