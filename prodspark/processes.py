"""Processes the course starts, stopped by their recorded process id, with all they started."""

from __future__ import annotations

import contextlib

import psutil


def stop_process_tree(pid: int, timeout: float = 10.0) -> list[int]:
    """Stop the process ``pid`` and every process it started (terminate, then kill what is left
    after ``timeout`` seconds); return the pids still alive after that."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return []
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _, still = psutil.wait_procs(alive, timeout=timeout)
    return [p.pid for p in still]
