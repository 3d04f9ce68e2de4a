"""A real Prometheus server scraping Spark's metrics, with alert rules, on 127.0.0.1.

Spark serves its metrics in Prometheus's text format (the PrometheusServlet sink: the driver
at ``<UI>/metrics/prometheus``, the standalone master and workers on their own web UIs).
Prometheus scrapes them every second here, stores them under ``.course/prometheus/``, answers
PromQL queries and evaluates alert rules (inactive, pending, firing).

Prometheus is optional for the course: it is one program to install
(``sudo apt install prometheus`` or ``brew install prometheus``). Without it, everything
else in the monitoring lesson works (the REST API, event logs, the History Server, reading
the metrics endpoints directly).
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from prodspark import paths, services
from prodspark.errors import CourseError, EnvironmentProblem
from prodspark.services import CourseProcess
from prodspark.waiting import TimedOut, wait_until

GROUP = "prometheus"
DEFAULT_PORT = 9090  # Prometheus's own default
START_TIMEOUT_S = 60
INSTALL_HINT = ("Prometheus is not installed. Install it with `sudo apt install prometheus` "
                "(Debian, Ubuntu) or `brew install prometheus` (macOS), then run this again.")


class PrometheusError(CourseError, RuntimeError):
    """Prometheus cannot do what was asked, or answered with an error; the message says why."""


class PrometheusMissing(PrometheusError, EnvironmentProblem):
    """The ``prometheus`` program is not on the PATH."""


def find_prometheus() -> str | None:
    """The path of the ``prometheus`` program on the PATH, or None."""
    return shutil.which("prometheus")


def prometheus_dir() -> Path:
    return paths.course_home() / "prometheus"


def _yaml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML string


def write_config(folder: Path, targets: dict[str, tuple[str, str]], rules: str = "",
                 interval: str = "1s") -> Path:
    """Write ``prometheus.yml`` (one scrape job per target: job name -> (host:port, metrics path))
    and, when ``rules`` is given, ``rules.yml`` (the text of an alerting-rules file) into
    ``folder``; return the path of ``prometheus.yml``."""
    if not isinstance(targets, dict) or not targets:
        raise PrometheusError("targets must be a dict of job name -> (host:port, metrics path), "
                              f"with at least one job; got {targets!r}.")
    lines = ["global:", f"  scrape_interval: {interval}", f"  scrape_timeout: {interval}",
             f"  evaluation_interval: {interval}"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if rules:
        rules_file = folder / "rules.yml"
        rules_file.write_text(rules if rules.endswith("\n") else rules + "\n")
        lines += ["rule_files:", f"  - {_yaml_string(str(rules_file.resolve()))}"]
    lines.append("scrape_configs:")
    for job, target in targets.items():
        if not isinstance(target, tuple | list) or len(target) != 2 or ":" not in str(target[0]):
            raise PrometheusError(f"the target of job {job!r} must be (host:port, metrics path), got {target!r}.")
        address, path = target
        lines += [f"  - job_name: {_yaml_string(job)}",
                  f"    metrics_path: {_yaml_string(path if path.startswith('/') else '/' + path)}",
                  "    static_configs:",
                  f"      - targets: [{_yaml_string(address)}]"]
    config = folder / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _get(url: str, timeout: float = 5):
    """The ``data`` of a Prometheus API answer; PrometheusError with its message if it failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            answer = json.load(exc)
        except ValueError:
            raise PrometheusError(f"Prometheus answered {exc.code} to {url}.") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PrometheusError(f"Prometheus at {url} did not answer: {exc}") from None
    if answer.get("status") != "success":
        raise PrometheusError(f"Prometheus refused {url}: {answer.get('errorType')}: {answer.get('error')}")
    return answer["data"]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_prometheus(config: Path, port: int | None = None, progress=print) -> CourseProcess:
    """Start Prometheus on 127.0.0.1 with ``config``, its storage in a fresh folder under
    ``.course/prometheus/``; return once it is ready. ``port``: 9090 when free, else a free one."""
    binary = find_prometheus()
    if binary is None:
        raise PrometheusMissing(INSTALL_HINT)
    config = Path(config)
    if not config.is_file():
        raise PrometheusError(f"no Prometheus configuration at {config}: write one with write_config().")
    if port is None:
        port = DEFAULT_PORT if services.port_free(DEFAULT_PORT) else services.free_port()
    for running in services.running(GROUP):
        if running.port == port:
            raise PrometheusError(f"the course's Prometheus is already running at {running.url}; "
                                  "stop it first with stop_prometheus(), or choose another port.")
    try:
        services.check_port_free(port, "Prometheus", "port=...")
    except services.ServiceError as exc:
        raise PrometheusError(str(exc)) from None
    storage = prometheus_dir() / f"data-{port}"
    shutil.rmtree(storage, ignore_errors=True)  # a fresh store: no series left from an earlier run
    url = f"http://{services.HOST}:{port}"
    argv = [binary, f"--config.file={config.resolve()}", f"--web.listen-address={services.HOST}:{port}",
            f"--storage.tsdb.path={storage}", "--storage.tsdb.retention.time=1d", "--log.level=warn"]
    process = services.start_recorded(GROUP, "prometheus", argv, binary, prometheus_dir() / f"prometheus-{port}.log",
                                      ready=lambda: _ready(url), what="Prometheus", timeout=START_TIMEOUT_S,
                                      error=PrometheusError, port=port, url=url)
    progress(f"Prometheus up: {url} (configuration {paths.display_path(config)})")
    return process


def stop_prometheus(progress=print) -> int:
    """Stop the course's Prometheus server(s); return how many were running."""
    stopped = services.stop_group(GROUP)
    progress(f"Stopped {stopped} Prometheus server(s)." if stopped else "No Prometheus of the course is running.")
    return stopped


def running_prometheus() -> CourseProcess | None:
    found = services.running(GROUP)
    return found[0] if found else None


def targets(url: str) -> list[dict]:
    """Prometheus's active targets: job, url, health (up, down, unknown), last error."""
    data = _get(f"{url.rstrip('/')}/api/v1/targets?state=active")
    return [{"job": t.get("labels", {}).get("job", ""), "url": t.get("scrapeUrl", ""),
             "health": t.get("health", ""), "error": t.get("lastError", "")}
            for t in data.get("activeTargets", [])]


def wait_for_targets(url: str, jobs: list[str], timeout: float = 30) -> list[dict]:
    """Wait until every target of ``jobs`` has been scraped successfully (health "up") and its
    samples can be queried.

    Prometheus marks a target up as soon as its scrape returns, a moment before it stores the
    samples; its ``up`` series is stored with them, so a query of ``up`` tells when they are in.
    """
    def up() -> list[dict] | None:
        found = [t for t in targets(url) if t["job"] in jobs]
        ok = {t["job"] for t in found if t["health"] == "up"}
        if not (set(jobs) <= ok and all(t["health"] == "up" for t in found)):
            return None
        stored = {labels.get("job") for labels, value in query(url, "up") if value == 1}
        return found if set(jobs) <= stored else None

    try:
        return wait_until(up, timeout, f"Prometheus to scrape {', '.join(jobs)}", interval=0.25)
    except TimedOut as exc:
        seen = "; ".join(f"{t['job']} {t['health']} {t['error']}".strip() for t in targets(url)) or "no targets"
        raise PrometheusError(f"{exc} Its targets: {seen}") from None


def query(url: str, promql: str) -> list[tuple[dict, float]]:
    """An instant query: one (labels, value) per series (a scalar answer has empty labels)."""
    data = _get(f"{url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    if data.get("resultType") in ("scalar", "string"):
        return [({}, float(data["result"][1]))]
    if data.get("resultType") != "vector":
        raise PrometheusError(f"{promql!r} is a {data.get('resultType')} query; ask for an instant vector.")
    return [(item["metric"], float(item["value"][1])) for item in data["result"]]


def alerts(url: str) -> list[dict]:
    """Every alerting rule: name, state (inactive, pending, firing), labels and value of its first
    active alert (the rule's own labels and None when inactive), and all its active alerts."""
    data = _get(f"{url.rstrip('/')}/api/v1/rules?type=alert")
    found = []
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            active = rule.get("alerts", [])
            first = active[0] if active else {}
            found.append({"name": rule.get("name", ""), "state": rule.get("state", "inactive"),
                          "labels": first.get("labels", rule.get("labels", {})),
                          "value": float(first["value"]) if "value" in first else None,
                          "alerts": active, "query": rule.get("query", "")})
    return found


def wait_for_alert(url: str, name: str, state: str = "firing", timeout: float = 30) -> dict:
    """Wait until the alerting rule ``name`` is in ``state``; return it (as :func:`alerts` does)."""
    if state not in ("inactive", "pending", "firing"):
        raise PrometheusError(f"an alert's state is inactive, pending or firing, got {state!r}.")

    def reached() -> dict | None:
        rules = [a for a in alerts(url) if a["name"] == name]
        if not rules:
            raise PrometheusError(f"Prometheus at {url} has no alerting rule named {name!r}; "
                                  f"its rules: {', '.join(a['name'] for a in alerts(url)) or 'none'}.")
        return rules[0] if rules[0]["state"] == state else None

    try:
        return wait_until(reached, timeout, f"alert {name} to be {state}", interval=0.25)
    except TimedOut as exc:
        raise PrometheusError(str(exc)) from None
