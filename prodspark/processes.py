"""Processes the course starts, stopped by their recorded process id, with all they started."""

from __future__ import annotations

import contextlib
import time

import psutil


def gone(process: psutil.Process) -> bool:
    """True once ``process`` has exited. A zombie (exited, not yet collected by its parent) counts
    as gone; if it is this program's own child, it is collected here."""
    try:
        if process.status() != psutil.STATUS_ZOMBIE:
            return False
    except psutil.NoSuchProcess:
        return True
    with contextlib.suppress(psutil.Error, ChildProcessError):
        process.wait(timeout=0)  # our child: collect its exit status (not ours: nothing to collect)
    return True


def stop_process_tree(pid: int, timeout: float = 10.0) -> list[int]:
    """Stop the process ``pid`` and every process it started (terminate, then kill what is left
    after ``timeout`` seconds); return the pids still alive after that."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return []
    alive = family
    for stop in (psutil.Process.terminate, psutil.Process.kill):
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                stop(process)
        deadline = time.monotonic() + timeout
        while True:
            alive = [process for process in alive if not gone(process)]
            if not alive:
                return []
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    return [process.pid for process in alive]
