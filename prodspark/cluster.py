"""A real Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

    prodspark cluster start --workers 2 --cores 1 --memory 1g
    prodspark cluster status
    prodspark cluster stop

The master and workers are separate JVMs started from the pip-installed Spark
(``bin/spark-class`` with the Master and Worker classes), so executors are real processes
with their own memory, exactly as on a cluster of machines. The cluster's addresses are kept in
``.course/cluster/state.json`` and its processes in the course's registry
(:mod:`prodspark.services`, group ``cluster``); ``stop`` ends exactly those processes, after
checking that each id still belongs to the process the course started, and never looks
processes up by name.

The master and every worker serve their metrics in Prometheus's text format (Spark's
PrometheusServlet): the master at ``<master UI>/metrics/master/prometheus`` (and its
applications at ``/metrics/applications/prometheus``), each worker at
``<worker UI>/metrics/prometheus``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import psutil

from prodspark import paths, services
from prodspark.errors import CourseError
from prodspark.services import CourseProcess, free_port

__all__ = ["ClusterError", "ClusterState", "cluster_status", "ensure_cluster", "free_port", "read_state",
           "release_cluster", "running_cluster", "start_cluster", "stop_cluster", "use_cluster"]

HOST = services.HOST
GROUP = "cluster"  # the registry group of the master and workers
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT_S = 120
# The master and workers only coordinate (executors do the work): a JVM tuned to start fast
# (no optimising compiler, the simplest collector) gets them registered about 4 s sooner here.
DAEMON_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# Spark's metrics system, configured by system properties (spark.metrics.conf.<instance>.<...>,
# the keys of conf/metrics.properties.template): a PrometheusServlet sink on every daemon's web UI.
PROMETHEUS_SERVLET = "org.apache.spark.metrics.sink.PrometheusServlet"
METRICS_JAVA_OPTS = (
    f"-Dspark.metrics.conf.*.sink.prometheusServlet.class={PROMETHEUS_SERVLET}",
    "-Dspark.metrics.conf.*.sink.prometheusServlet.path=/metrics/prometheus",
    "-Dspark.metrics.conf.master.sink.prometheusServlet.path=/metrics/master/prometheus",
    "-Dspark.metrics.conf.applications.sink.prometheusServlet.path=/metrics/applications/prometheus",
)


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
    worker_uis: list[str] = field(default_factory=list)  # each worker's web UI, as the master lists it

    def __str__(self) -> str:
        return (f"master {self.master_url} (web UI {self.master_ui}), "
                f"{self.workers} worker(s) with {self.cores} core(s) and {self.memory} each")

    @property
    def prometheus_endpoints(self) -> dict[str, str]:
        """The cluster's metrics in Prometheus's text format: the master, its applications, each worker."""
        endpoints = {"master": f"{self.master_ui}/metrics/master/prometheus",
                     "applications": f"{self.master_ui}/metrics/applications/prometheus"}
        for number, ui in enumerate(self.worker_uis, start=1):
            endpoints[f"worker-{number}"] = f"{ui}/metrics/prometheus"
        return endpoints


def cluster_dir() -> Path:
    return paths.course_home() / "cluster"


def _state_file() -> Path:
    return cluster_dir() / "state.json"


def spark_home() -> Path:
    """The pip-installed Spark: its ``bin/spark-class`` starts Spark's daemons."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def read_state() -> ClusterState | None:
    try:
        entry = json.loads(_state_file().read_text())
        names = {f.name for f in fields(ClusterState)}
        return ClusterState(**{k: v for k, v in entry.items() if k in names})
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _master_process(state: ClusterState) -> CourseProcess:
    for process in services.recorded(GROUP):
        if process.pid == state.master_pid:
            return process
    return CourseProcess("master", MASTER_CLASS, state.master_pid)  # a state written by hand


def _worker_processes(state: ClusterState) -> list[CourseProcess]:
    known = {p.pid: p for p in services.recorded(GROUP)}
    return [known.get(pid, CourseProcess("worker", WORKER_CLASS, pid)) for pid in state.worker_pids]


def _master_json(ui: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{ui}/json/", timeout=3) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def daemon_env(extra_java_opts: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of a Spark daemon started with ``spark-class``: the pip-installed Spark,
    bound to 127.0.0.1, in the foreground, with the fast-start JVM options (or the user's own
    ``SPARK_DAEMON_JAVA_OPTS``) and ``extra_java_opts``."""
    java_opts = " ".join([os.environ.get("SPARK_DAEMON_JAVA_OPTS", DAEMON_JAVA_OPTS), *extra_java_opts])
    env = {**os.environ, "SPARK_DAEMON_JAVA_OPTS": java_opts.strip(), "SPARK_HOME": str(spark_home()),
           "SPARK_LOCAL_IP": HOST, "SPARK_NO_DAEMONIZE": "1"}
    env.pop("JAVA_TOOL_OPTIONS", None)
    return env


def launch_daemon(role: str, java_class: str, args: list[str], log: Path,
                  extra_java_opts: tuple[str, ...] = (), port: int | None = None,
                  url: str | None = None) -> CourseProcess:
    """Start one of Spark's daemons (``bin/spark-class <class> <args>``), its Java class as marker."""
    return services.launch(role, [str(spark_home() / "bin" / "spark-class"), java_class, *args], java_class,
                           log, env=daemon_env(extra_java_opts), port=port, url=url)


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
    for name, value, what in (("port", port, "the master"), ("webui_port", webui_port, "the master's web UI")):
        try:
            services.check_port_free(value, what, f"--{name.replace('_', '-')}")
        except services.ServiceError as exc:
            raise ClusterError(str(exc)) from None

    logs = cluster_dir() / "logs"
    master_ui = f"http://{HOST}:{webui_port}"
    master = launch_daemon("master", MASTER_CLASS,
                           ["--host", HOST, "--port", str(port), "--webui-port", str(webui_port)],
                           logs / "master.log", METRICS_JAVA_OPTS, port=port, url=master_ui)
    services.record(GROUP, master)  # recorded at once, so `stop` can clean up even if the start fails
    state = ClusterState(f"spark://{HOST}:{port}", master_ui, master.pid, [], workers, cores, memory, str(logs))
    _write_state(state)
    try:
        _wait(master, lambda: _master_json(master_ui) is not None, "the master")
        progress(f"master up: {state.master_url}")
        launched = []
        for number in range(1, workers + 1):
            worker = launch_daemon(f"worker-{number}", WORKER_CLASS,
                                   [state.master_url, "--host", HOST, "--cores", str(cores), "--memory", memory,
                                    "--webui-port", "0", "--work-dir", str(cluster_dir() / f"work-{number}")],
                                   logs / f"worker-{number}.log", METRICS_JAVA_OPTS)
            services.record(GROUP, worker)
            launched.append(worker)
            state.worker_pids.append(worker.pid)
            _write_state(state)
        _wait(launched[0], lambda: _alive_workers(master_ui) >= workers, f"{workers} worker(s) to register")
    except ClusterError:
        stop_cluster(progress=lambda line: None)
        raise
    _record_worker_uis(state, launched)
    progress(f"{workers} worker(s) registered. Use master={state.master_url!r}; web UI {master_ui}")
    return state


def _alive_workers(master_ui: str) -> int:
    info = _master_json(master_ui) or {}
    return sum(worker.get("state") == "ALIVE" for worker in info.get("workers", []))


def _record_worker_uis(state: ClusterState, launched: list[CourseProcess]) -> None:
    """Each worker's web UI (on a port the OS chose) as the master lists it, matched to its process
    by the ports that process listens on."""
    listed = [w for w in (_master_json(state.master_ui) or {}).get("workers", []) if w.get("state") == "ALIVE"]
    by_port = {int(w["port"]): w.get("webuiaddress", "") for w in listed if "port" in w}
    for worker in launched:
        try:
            ports = {c.laddr.port for c in psutil.Process(worker.pid).net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN}
        except (psutil.Error, OSError):
            ports = set()
        matched = [by_port[rpc] for rpc in ports if rpc in by_port]
        if matched and matched[0]:
            worker.url = matched[0].rstrip("/")
            worker.port = int(worker.url.rsplit(":", 1)[1])
            services.record(GROUP, worker)
    uis = [w.url for w in launched if w.url]
    state.worker_uis = uis if len(uis) == len(listed) else sorted(
        w.get("webuiaddress", "").rstrip("/") for w in listed if w.get("webuiaddress"))
    _write_state(state)


def _wait(process: CourseProcess, ready, what: str) -> None:
    services.wait_ready(process, ready, what, START_TIMEOUT_S, error=ClusterError, interval=0.5)


def _write_state(state: ClusterState) -> None:
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(asdict(state), indent=1) + "\n")


def stop_cluster(progress=print) -> int:
    """Stop the recorded workers, then the master. Returns how many processes were running."""
    state = read_state()
    if state is None and not services.recorded(GROUP):
        progress("No course cluster is recorded as running: nothing to stop.")
        return 0
    # A state without a registry entry (written by hand, or by an older course version) is
    # stopped from its pids, checked the same way.
    stopped = 0
    if state is not None:
        recorded_pids = {p.pid for p in services.recorded(GROUP)}
        stopped += sum(services.terminate(p) for p in [*_worker_processes(state), _master_process(state)]
                       if p.pid not in recorded_pids)
    stopped += services.stop_group(GROUP)
    _state_file().unlink(missing_ok=True)
    where = f" ({state.master_url})" if state is not None else ""
    progress(f"Stopped {stopped} process(es) of the course's cluster{where}.")
    return stopped


def running_cluster() -> ClusterState | None:
    """The course's cluster if its recorded master is still running, else None."""
    state = read_state()
    return state if state is not None and services.is_ours(_master_process(state)) else None


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
    master_alive = services.is_ours(_master_process(state))
    workers_alive = sum(services.is_ours(p) for p in _worker_processes(state))
    registered = _alive_workers(state.master_ui) if master_alive else 0
    lines = [f"Cluster: {state}",
             f"master pid {state.master_pid}: {'running' if master_alive else 'NOT running'}",
             f"worker processes running: {workers_alive} of {len(state.worker_pids)}; "
             f"registered with the master: {registered}"]
    if master_alive:
        lines.append("metrics (Prometheus format): " + ", ".join(state.prometheus_endpoints.values()))
    if not master_alive:
        lines.append("The recorded master is gone: run `prodspark cluster stop` to clean up.")
    return "\n".join(lines)
