"""Every long-running process the course starts, recorded by process id and stopped by it.

The standalone cluster's master and workers, Spark's History Server and Prometheus are
programs that keep running after the cell or command that started them. Each one is
recorded in a registry file per group, ``.course/processes/<group>.json``: its role, its
process id, a *marker* (a word of its command line: a Java class, or the binary's path), its
port, its URL and its log. Stopping a group ends exactly those processes, and only after
checking that each id still belongs to the process the course started (the same id can be
given to another program once the first one has exited). Nothing is ever looked up by name.

    from prodspark import services
    services.running("cluster")      # what the course runs now
    services.stop_all()              # stop everything it recorded (`prodspark services stop`)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

import psutil

from prodspark import paths
from prodspark.errors import CourseError
from prodspark.processes import stop_process_tree
from prodspark.waiting import TimedOut, wait_until

HOST = "127.0.0.1"
T = TypeVar("T")


class ServiceError(CourseError, RuntimeError):
    """A process the course starts could not start or answer; the message says why."""


class PortTaken(ServiceError):
    """A port the course wants to listen on is used by another program."""


@dataclass
class CourseProcess:
    """One process the course started. ``marker`` must be a word of its command line for the
    pid to still be the course's; ``created`` is its start time (psutil's), which tells it
    apart from a later process given the same pid."""

    role: str
    marker: str
    pid: int
    port: int | None = None
    url: str | None = None
    log: str = ""
    created: float | None = None

    def __str__(self) -> str:
        where = f" at {self.url}" if self.url else (f" on port {self.port}" if self.port else "")
        return f"{self.role} (pid {self.pid}){where}"


# ---------------------------------------------------------------- starting and stopping one process

_children: dict[int, subprocess.Popen] = {}  # what this program started: to read exit codes
_launched: list[CourseProcess] = []  # everything this program started, running or not
_registries: set[Path] = set()  # every registry folder this program wrote to


def launch(role: str, argv: list[str], marker: str, log: Path, env: Mapping[str, str] | None = None,
           port: int | None = None, url: str | None = None) -> CourseProcess:
    """Start ``argv`` in a session of its own (Ctrl-C in a terminal or a notebook's interrupt does
    not reach it), with no input and its output appended to ``log``."""
    if not any(marker == word or word.endswith(marker) for word in argv):
        raise ServiceError(f"the marker {marker!r} of {role} is not a word of its command line {argv!r}.")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        try:
            child = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(env) if env is not None else None, start_new_session=True)
        except OSError as exc:
            raise ServiceError(f"could not start {role} ({argv[0]}): {exc}") from None
    _children[child.pid] = child
    try:
        created: float | None = psutil.Process(child.pid).create_time()
    except psutil.Error:
        created = None
    process = CourseProcess(role, marker, child.pid, port, url, str(log), created)
    _launched.append(process)
    return process


def launched() -> list[CourseProcess]:
    """Every process this program has started with :func:`launch` (for checks that none outlives it)."""
    return list(_launched)


def registries_used() -> list[Path]:
    """Every registry folder this program has written to (one per ``PRODSPARK_HOME`` it used)."""
    return sorted(_registries)


def is_ours(process: CourseProcess) -> bool:
    """True if ``process.pid`` is alive and still the program the course started: the marker is
    a word of its command line and, when recorded, its start time is the same."""
    try:
        found = psutil.Process(process.pid)
        if found.status() == psutil.STATUS_ZOMBIE:
            return False
        if process.created is not None and abs(found.create_time() - process.created) > 1:
            return False
        return any(process.marker == word or word.endswith(process.marker) for word in found.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def exit_code(process: CourseProcess) -> int | None:
    """The exit code of a process this program started and that has exited, else None."""
    child = _children.get(process.pid)
    return None if child is None else child.poll()


def terminate(process: CourseProcess, timeout: float = 15) -> bool:
    """Stop one recorded process, and what it started, if it is still ours; True if it was running."""
    if not is_ours(process):
        return False
    stop_process_tree(process.pid, timeout=timeout)
    child = _children.pop(process.pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    return True


def tail(log: str | Path, lines: int = 15) -> str:
    """The last lines of a log, for an error message."""
    try:
        return "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(process: CourseProcess, ready: Callable[[], T | None], what: str, timeout: float,
               error: type[CourseError] = ServiceError, interval: float = 0.25) -> T:
    """Wait until ``ready()`` answers; stop at once, with the log's last lines, if the process exits."""
    def answered() -> T | None:
        value = ready()
        if value is not None and value is not False:
            return value
        # A process this program started has exited when its Popen says so; the command-line
        # check of is_ours is for processes recorded by another program.
        exited = exit_code(process) is not None if process.pid in _children else not is_ours(process)
        if exited:
            code = exit_code(process)
            status = f" (code {code})" if code is not None else ""
            raise error(f"{what} exited{status}. Last lines of {process.log}:\n{tail(process.log)}")
        return None

    try:
        return wait_until(answered, timeout, what, interval=interval)
    except TimedOut:
        raise error(f"timed out after {timeout:g} s waiting for {what}. "
                    f"Last lines of {process.log}:\n{tail(process.log)}") from None



def start_recorded(group: str, role: str, argv: list[str], marker: str, log: Path, *,
                   ready: Callable[[], object], what: str, timeout: float,
                   error: type[CourseError] = ServiceError, env: Mapping[str, str] | None = None,
                   port: int | None = None, url: str | None = None) -> CourseProcess:
    """Launch a server, record it in ``group`` at once (so a stop finds it even if the start
    fails) and wait until ``ready()`` answers; a server that exits or never answers is stopped,
    forgotten and reported with its log's last lines."""
    process = launch(role, argv, marker, log, env=env, port=port, url=url)
    record(group, process)
    try:
        wait_ready(process, ready, what, timeout, error=error)
    except CourseError:
        terminate(process)
        forget(group, process)
        raise
    return process

# ---------------------------------------------------------------- ports

def port_free(port: int) -> bool:
    """True if nothing listens on ``port`` of 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def check_port_free(port: int, what: str, option: str) -> None:
    """Raise :class:`PortTaken` naming the port, what wanted it and the option to choose another."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ServiceError(f"{what} needs a port number from 1 to 65535, got {port!r}.")
    if not port_free(port):
        raise PortTaken(f"port {port} on {HOST} is taken by another program, so {what} cannot listen "
                        f"on it; choose another with {option}.")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- the registry

def registry_dir() -> Path:
    return paths.course_home() / "processes"


def _group_file(group: str) -> Path:
    if not group or not group.replace("-", "").replace("_", "").isalnum():
        raise ServiceError(f"a group of processes is named with letters, digits, - or _, got {group!r}.")
    return registry_dir() / f"{group}.json"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One writer of the registry at a time (a notebook and a terminal may both start things)."""
    registry_dir().mkdir(parents=True, exist_ok=True)
    with open(registry_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(group: str) -> list[CourseProcess]:
    return _parse(_group_file(group))


def _parse(file: Path) -> list[CourseProcess]:
    try:
        entries = json.loads(file.read_text())
    except (OSError, ValueError):
        return []
    names = {f.name for f in fields(CourseProcess)}
    processes = []
    for entry in entries if isinstance(entries, list) else []:
        with contextlib.suppress(TypeError):
            processes.append(CourseProcess(**{k: v for k, v in entry.items() if k in names}))
    return processes


def _write(group: str, processes: list[CourseProcess]) -> None:
    target = _group_file(group)
    _registries.add(target.parent)
    if not processes:
        target.unlink(missing_ok=True)
        return
    scratch = target.with_suffix(".json.tmp")
    scratch.write_text(json.dumps([asdict(p) for p in processes], indent=1) + "\n")
    os.replace(scratch, target)


def record(group: str, processes: list[CourseProcess] | CourseProcess) -> None:
    """Add processes to a group's record, in start order (a pid already recorded is updated in place)."""
    added = [processes] if isinstance(processes, CourseProcess) else list(processes)
    with _locked():
        updates = {p.pid: p for p in added}
        current = _read(group)
        known = {p.pid for p in current}
        _write(group, [updates.get(p.pid, p) for p in current] + [p for p in added if p.pid not in known])


def recorded(group: str) -> list[CourseProcess]:
    """The processes recorded in a group, in the order they were started (running or not)."""
    return _read(group)


def groups(folder: Path | None = None) -> list[str]:
    """The groups that have a record (in ``folder``, the course's registry by default)."""
    return sorted(p.stem for p in (folder or registry_dir()).glob("*.json"))


def recorded_in(folder: Path, group: str) -> list[CourseProcess]:
    """The processes recorded in a group of another registry folder (another ``PRODSPARK_HOME``)."""
    return _parse(folder / f"{group}.json")


def running(group: str) -> list[CourseProcess]:
    """The recorded processes of a group that are still running and still the course's."""
    return [p for p in recorded(group) if is_ours(p)]


def forget(group: str, process: CourseProcess) -> None:
    """Remove one process from a group's record (it was stopped, or it exited)."""
    with _locked():
        _write(group, [p for p in _read(group) if p.pid != process.pid])


def stop_group(group: str) -> int:
    """Stop a group's processes, the last started first; return how many were running.
    The group's record is removed (a pid that is no longer ours is simply forgotten)."""
    with _locked():
        processes = _read(group)
        stopped = sum(terminate(p) for p in reversed(processes))
        _write(group, [p for p in processes if is_ours(p)])  # normally none: a survivor stays recorded
    return stopped


def stop_all(progress: Callable[[str], object] = print) -> int:
    """Stop every group's processes; return how many were running."""
    total = 0
    for group in groups():
        names = ", ".join(str(p) for p in running(group))
        stopped = stop_group(group)
        if stopped:
            progress(f"{group}: stopped {stopped} process(es): {names}")
        total += stopped
    progress(f"Stopped {total} process(es) the course had started." if total
             else "Nothing the course started is running.")
    return total


def status() -> str:
    """One line per recorded process: running or gone."""
    lines = []
    for group in groups():
        for p in recorded(group):
            lines.append(f"{group}: {p} {'running' if is_ours(p) else 'NOT running'}")
    return "\n".join(lines) if lines else "No process the course started is recorded."
