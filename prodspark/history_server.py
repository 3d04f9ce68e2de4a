"""Spark's History Server over the course's event logs, on 127.0.0.1.

    prodspark history start      # http://127.0.0.1:18080, reading .course/event-logs
    prodspark history status
    prodspark history stop

An application started with ``start_spark(event_log_dir=True)`` writes its event log into
the course's folder; once it ends, the History Server shows it again: the same web UI and
the same REST API (``/api/v1/applications/<id>/jobs``, ``.../stages``) as the live
application had. It is Spark's own server (``spark-class
org.apache.spark.deploy.history.HistoryServer`` from the pip-installed Spark), recorded in
the course's registry of processes (group ``history``) and stopped by its pid.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from prodspark import cluster, paths, services
from prodspark.errors import CourseError
from prodspark.services import CourseProcess
from prodspark.waiting import TimedOut, wait_until

GROUP = "history"
HISTORY_CLASS = "org.apache.spark.deploy.history.HistoryServer"
DEFAULT_PORT = 18080  # Spark's default spark.history.ui.port
START_TIMEOUT_S = 90
# How often the server lists the folder for new and finished applications (Spark's default is
# 10 s): with 1 s an application shows up about a second after it ends.
UPDATE_INTERVAL = "1s"


class HistoryServerError(CourseError, RuntimeError):
    """The History Server cannot do what was asked; the message says why."""


def _log_option(log_dir: Path) -> str:
    return f"-Dspark.history.fs.logDirectory={log_dir.resolve().as_uri()}"


def _get_json(url: str, timeout: float = 3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _serves(process: CourseProcess, log_dir: Path | None) -> bool:
    """True if the running server reads ``log_dir`` (any folder when None)."""
    if log_dir is None:
        return True
    import psutil

    try:
        return _log_option(log_dir) in psutil.Process(process.pid).cmdline()
    except psutil.Error:
        return False


def running_history_server(log_dir: Path | None = None) -> CourseProcess | None:
    """The course's running History Server (the one reading ``log_dir`` if given), else None."""
    for process in services.running(GROUP):
        if _serves(process, Path(log_dir) if log_dir is not None else None):
            return process
    return None


def start_history_server(log_dir: Path | None = None, port: int | None = None,
                         progress=print) -> CourseProcess:
    """Start Spark's History Server on 127.0.0.1 over ``log_dir`` (the course's event-log folder
    by default, created if missing) and return once its REST API answers."""
    log_dir = Path(log_dir) if log_dir is not None else paths.event_log_dir()
    port = DEFAULT_PORT if port is None else port
    for running in services.running(GROUP):
        if running.port == port:
            raise HistoryServerError(f"the course's History Server is already running at {running.url}; "
                                     "stop it first with `prodspark history stop`, or choose another port.")
    try:
        services.check_port_free(port, "the History Server", "--port (or port=...)")
    except services.ServiceError as exc:
        raise HistoryServerError(str(exc)) from None
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryServerError(f"cannot create the event-log folder {log_dir}: {exc}") from None
    url = f"http://{services.HOST}:{port}"
    options = (_log_option(log_dir), f"-Dspark.history.ui.port={port}",
               f"-Dspark.history.fs.update.interval={UPDATE_INTERVAL}")
    env = cluster.daemon_env()  # bound to 127.0.0.1 (SPARK_LOCAL_IP), the daemons' fast-start JVM
    env["SPARK_HISTORY_OPTS"] = " ".join(options)
    process = services.start_recorded(
        GROUP, "history-server", [str(cluster.spark_home() / "bin" / "spark-class"), HISTORY_CLASS], HISTORY_CLASS,
        paths.course_home() / "history" / f"history-server-{port}.log",
        ready=lambda: _get_json(f"{url}/api/v1/applications") is not None, what="the History Server",
        timeout=START_TIMEOUT_S, error=HistoryServerError, env=env, port=port, url=url)
    progress(f"History Server up: {url} (reading {paths.display_path(log_dir)})")
    return process


def stop_history_server(progress=print) -> int:
    """Stop the course's History Server(s); return how many were running."""
    stopped = services.stop_group(GROUP)
    progress(f"Stopped {stopped} History Server(s)." if stopped else "No History Server of the course is running.")
    return stopped


def ensure_history_server(log_dir: Path | None = None, port: int | None = None,
                          progress=print) -> tuple[CourseProcess, bool]:
    """The running History Server reading ``log_dir``, or a new one; True when this call started it.
    A new one takes ``port``, else 18080 when it is free, else a free port."""
    log_dir = Path(log_dir) if log_dir is not None else paths.event_log_dir()
    process = running_history_server(log_dir)
    if process is not None:
        progress(f"Using the course's running History Server: {process.url}")
        return process, False
    if port is None:
        port = DEFAULT_PORT if services.port_free(DEFAULT_PORT) else services.free_port()
    return start_history_server(log_dir, port, progress=progress), True


def wait_for_application(url: str, app_id: str, timeout: float = 60) -> dict:
    """The History Server's record of a finished application, once it has read its event log.

    The server lists a folder every ``spark.history.fs.update.interval``; an application shows
    up after its next scan, and as completed once its log says it ended."""
    quoted = urllib.parse.quote(app_id, safe="")

    def completed() -> dict | None:
        info = _get_json(f"{url.rstrip('/')}/api/v1/applications/{quoted}")
        if isinstance(info, dict) and info.get("attempts") and all(a.get("completed") for a in info["attempts"]):
            return info
        return None

    try:
        return wait_until(completed, timeout, f"application {app_id} to be listed as completed by "
                          f"the History Server at {url}", interval=0.25)
    except TimedOut as exc:
        raise HistoryServerError(f"{exc} Was it started with event logs into the folder the server "
                                 "reads, and has it been stopped (spark.stop())?") from None


def history_status() -> str:
    processes = services.running(GROUP)
    if not processes:
        return "No History Server of the course is running. Start one with `prodspark history start`."
    lines = []
    for process in processes:
        apps = _get_json(f"{process.url}/api/v1/applications")
        count = f"{len(apps)} application(s) listed" if isinstance(apps, list) else "not answering"
        lines.append(f"History Server {process.url} (pid {process.pid}): {count}")
    return "\n".join(lines)
