"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

    prodspark cluster start --workers 2 --cores 1 --memory 1g
    prodspark cluster status
    prodspark cluster stop

The master and workers are separate JVMs started from the pip-installed Spark
(``bin/spark-class`` with the Master and Worker classes), so executors are real processes
with their own memory, exactly as on a cluster of machines. The process ids are recorded in
``.course/cluster/state.json``; ``stop`` ends exactly those processes, after checking that
each id still belongs to the process the course started, and never looks processes up by name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from prodspark import paths
from prodspark.errors import CourseError
from prodspark.waiting import TimedOut, wait_until

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT_S = 120
# The master and workers only coordinate (executors do the work): a JVM tuned to start fast
# (no optimising compiler, the simplest collector) gets them registered about 4 s sooner here.
DAEMON_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class ClusterError(CourseError, RuntimeError):
    """The course's cluster cannot do what was asked; the message says why."""


@dataclass
class ClusterState:
    master_url: str
    master_ui: str
    master_pid: int
    worker_pids: list[int] = field(default_factory=list)
    workers: int = 0
    cores: int = 1
    memory: str = "1g"
    logs: str = ""

    def __str__(self) -> str:
        return (f"master {self.master_url} (web UI {self.master_ui}), "
                f"{self.workers} worker(s) with {self.cores} core(s) and {self.memory} each")


def cluster_dir() -> Path:
    return paths.course_home() / "cluster"


def _state_file() -> Path:
    return cluster_dir() / "state.json"


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def read_state() -> ClusterState | None:
    try:
        return ClusterState(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _is_ours(pid: int, java_class: str) -> bool:
    """True if ``pid`` is alive and is still the JVM running ``java_class`` we started."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and java_class in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _master_json(ui: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{ui}/json/", timeout=3) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _launch(java_class: str, args: list[str], log: Path) -> subprocess.Popen:
    env = {"SPARK_DAEMON_JAVA_OPTS": DAEMON_JAVA_OPTS, **os.environ, "SPARK_HOME": str(_spark_home()),
           "SPARK_LOCAL_IP": HOST, "SPARK_NO_DAEMONIZE": "1"}
    env.pop("JAVA_TOOL_OPTIONS", None)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        return subprocess.Popen(
            [str(_spark_home() / "bin" / "spark-class"), java_class, *args],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # Ctrl-C in the terminal does not reach the cluster
        )


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_cluster(workers: int = 2, cores: int = 1, memory: str = "1g",
                  port: int = 7077, webui_port: int = 8080, progress=print) -> ClusterState:
    """Start a master and ``workers`` workers; return when every worker is registered."""
    for name, value in (("workers", workers), ("cores", cores)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ClusterError(f"{name} must be a whole number 1 or more, got {value!r}.")
    if not isinstance(memory, str) or not memory[:-1].isdigit() or memory[-1].lower() not in "mg":
        raise ClusterError(f"memory must look like 512m or 2g, got {memory!r}.")
    running = running_cluster()
    if running is not None:
        raise ClusterError(f"the course's cluster is already running: {running}. "
                           "Stop it first with `prodspark cluster stop`.")
    for name, value in (("port", port), ("webui_port", webui_port)):
        if not _port_free(value):
            raise ClusterError(f"{name} {value} on {HOST} is taken by another program; "
                               f"choose another with --{name.replace('_', '-')}.")

    logs = cluster_dir() / "logs"
    master_ui = f"http://{HOST}:{webui_port}"
    master = _launch(MASTER_CLASS, ["--host", HOST, "--port", str(port), "--webui-port", str(webui_port)],
                     logs / "master.log")
    state = ClusterState(f"spark://{HOST}:{port}", master_ui, master.pid, [], workers, cores, memory, str(logs))
    _write_state(state)  # recorded at once, so `stop` can clean up even if the start fails
    try:
        _wait(lambda: _master_json(master_ui) is not None, "the master", logs / "master.log", master)
        progress(f"master up: {state.master_url}")
        for number in range(1, workers + 1):
            worker = _launch(WORKER_CLASS, [state.master_url, "--host", HOST, "--cores", str(cores),
                                            "--memory", memory, "--webui-port", "0",
                                            "--work-dir", str(cluster_dir() / f"work-{number}")],
                             logs / f"worker-{number}.log")
            state.worker_pids.append(worker.pid)
            _write_state(state)
        _wait(lambda: _alive_workers(master_ui) >= workers, f"{workers} worker(s) to register",
              logs / "worker-1.log", None)
    except ClusterError:
        stop_cluster(progress=lambda line: None)
        raise
    progress(f"{workers} worker(s) registered. Use master={state.master_url!r}; web UI {master_ui}")
    return state


def _alive_workers(master_ui: str) -> int:
    info = _master_json(master_ui) or {}
    return sum(worker.get("state") == "ALIVE" for worker in info.get("workers", []))


def _wait(ready, what: str, log: Path, process: subprocess.Popen | None) -> None:
    def up() -> bool:
        if ready():
            return True
        if process is not None and process.poll() is not None:
            raise ClusterError(f"{what} exited (code {process.returncode}). Last lines of {log}:\n{_tail(log)}")
        return False

    try:
        wait_until(up, START_TIMEOUT_S, what, interval=0.5)
    except TimedOut:
        raise ClusterError(f"timed out after {START_TIMEOUT_S} s waiting for {what}. "
                           f"Last lines of {log}:\n{_tail(log)}") from None


def _write_state(state: ClusterState) -> None:
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(asdict(state), indent=1) + "\n")


def _terminate(pid: int, java_class: str, timeout: float = 15) -> bool:
    """Stop one recorded process if it is still ours; True if it was running."""
    if not _is_ours(pid, java_class):
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
            except ChildProcessError:
                finished = 0 if _is_ours(pid, java_class) else pid
            if finished == pid or not _is_ours(pid, java_class):
                return True
            time.sleep(0.2)
    return True


def stop_cluster(progress=print) -> int:
    """Stop the recorded workers, then the master. Returns how many processes were running."""
    state = read_state()
    if state is None:
        progress("No course cluster is recorded as running: nothing to stop.")
        return 0
    stopped = sum(_terminate(pid, WORKER_CLASS) for pid in state.worker_pids)
    stopped += _terminate(state.master_pid, MASTER_CLASS)
    _state_file().unlink(missing_ok=True)
    progress(f"Stopped {stopped} process(es) of the course's cluster ({state.master_url}).")
    return stopped


def running_cluster() -> ClusterState | None:
    """The course's cluster if its recorded master is still running, else None."""
    state = read_state()
    return state if state is not None and _is_ours(state.master_pid, MASTER_CLASS) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ensure_cluster(workers: int = 2, cores: int = 1, memory: str = "1g",
                   progress=print) -> tuple[ClusterState, bool]:
    """The running course cluster, or a new one on free ports; True when this call started it."""
    state = running_cluster()
    if state is not None:
        progress(f"Using the course's running cluster: {state.master_url}")
        return state, False
    return start_cluster(workers, cores, memory, port=free_port(), webui_port=free_port(),
                         progress=progress), True


def use_cluster(spark, workers: int = 2, app_name: str = "production-spark",
                conf: dict[str, object] | None = None):
    """A session whose executors are separate JVMs on a standalone cluster.

    If ``spark`` already runs on a standalone master it is returned as it is. Otherwise
    (local mode) it is stopped and a new session starts on the course's cluster, which is
    started first if it is not running, with ``conf`` as extra settings. Returns
    ``(session, started)``: pass ``started`` to :func:`release_cluster` so that only a cluster
    started here is stopped.
    """
    from prodspark.session import start_spark
    from prodspark.sparkui import wait_for_executors

    if spark.sparkContext.master.startswith("spark://"):
        wait_for_executors(spark, 1)
        return spark, False
    spark.stop()
    state, started = ensure_cluster(workers=workers, progress=lambda line: None)
    session = start_spark(master=state.master_url, app_name=app_name, delta=False, conf=conf)
    # One executor per worker (each offers its cores to one executor of this application), so
    # waiting for that many, each with its host:port and memory, is enough: no settling time.
    wait_for_executors(session, state.workers, settle=0)
    return session, started


def release_cluster(spark, started: bool) -> None:
    """Stop the session; stop the cluster too if :func:`use_cluster` started it."""
    spark.stop()
    if started:
        stop_cluster(progress=lambda line: None)


def cluster_status() -> str:
    state = read_state()
    if state is None:
        return "No course cluster is running. Start one with `prodspark cluster start`."
    master_alive = _is_ours(state.master_pid, MASTER_CLASS)
    workers_alive = sum(_is_ours(pid, WORKER_CLASS) for pid in state.worker_pids)
    registered = _alive_workers(state.master_ui) if master_alive else 0
    lines = [f"Cluster: {state}",
             f"master pid {state.master_pid}: {'running' if master_alive else 'NOT running'}",
             f"worker processes running: {workers_alive} of {len(state.worker_pids)}; "
             f"registered with the master: {registered}"]
    if not master_alive:
        lines.append("The recorded master is gone: run `prodspark cluster stop` to clean up.")
    return "\n".join(lines)
