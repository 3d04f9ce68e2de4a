"""A real Prometheus scraping real endpoints, answering PromQL and evaluating alert rules.

Prometheus is optional for learners: without it these tests are skipped, except in CI
(``CI`` set), where they fail with the command that installs it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodspark import prometheus, services
from prodspark.prometheus import PrometheusError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODSPARK_HOME", str(tmp_path / "course"))
    return tmp_path / "course"


@pytest.fixture
def prometheus_binary():
    binary = prometheus.find_prometheus()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI runs the Prometheus tests and `prometheus` is not on the PATH. "
                        f"{prometheus.INSTALL_HINT} (.ci/run installs it when it runs as root with apt-get.)")
        pytest.skip(prometheus.INSTALL_HINT)
    return binary


@pytest.fixture
def stop_prometheus():
    yield
    prometheus.stop_prometheus(progress=lambda line: None)


def test_the_config_names_each_job_its_target_and_the_rules(tmp_path):
    config = prometheus.write_config(tmp_path, {"driver": ("127.0.0.1:4040", "/metrics/prometheus")},
                                     "groups: []")
    text = config.read_text()
    assert "scrape_interval: 1s" in text and "evaluation_interval: 1s" in text
    assert 'job_name: "driver"' in text and 'metrics_path: "/metrics/prometheus"' in text
    assert '"127.0.0.1:4040"' in text and (tmp_path / "rules.yml").read_text() == "groups: []\n"
    with pytest.raises(PrometheusError, match="host:port, metrics path"):
        prometheus.write_config(tmp_path, {"driver": ("4040", "/metrics")})


def test_without_the_binary_the_message_says_how_to_install_it(course_home, monkeypatch, tmp_path):
    monkeypatch.setattr(prometheus, "find_prometheus", lambda: None)
    with pytest.raises(prometheus.PrometheusMissing, match="apt install prometheus.*brew install prometheus"):
        prometheus.start_prometheus(tmp_path / "prometheus.yml")


SELF_RULES = """groups:
  - name: course
    rules:
      - alert: ScrapedTwice
        expr: count_over_time(up{job="self"}[1m]) >= 3
"""


@pytest.mark.full  # about 8 s of waiting for scrapes and rule evaluations
def test_prometheus_scrapes_itself_and_an_alert_goes_from_inactive_to_firing(
        course_home, tmp_path, prometheus_binary, stop_prometheus):
    port = services.free_port()
    config = prometheus.write_config(tmp_path, {"self": (f"127.0.0.1:{port}", "/metrics")}, SELF_RULES)
    server = prometheus.start_prometheus(config, port=port, progress=lambda line: None)
    assert server.url == f"http://127.0.0.1:{port}" and services.is_ours(server)
    assert (course_home / "prometheus" / f"data-{port}").is_dir()
    with pytest.raises(PrometheusError, match="already running at"):
        prometheus.start_prometheus(config, port=port)
    assert prometheus.alerts(server.url)[0]["state"] == "inactive"  # no scrape yet
    assert [t["health"] for t in prometheus.wait_for_targets(server.url, ["self"])] == ["up"]
    assert prometheus.query(server.url, 'up{job="self"}')[0][1] == 1.0
    fired = prometheus.wait_for_alert(server.url, "ScrapedTwice", "firing", timeout=30)
    assert fired["labels"]["alertname"] == "ScrapedTwice"
    with pytest.raises(PrometheusError, match="parse error"):
        prometheus.query(server.url, "up{")
    assert prometheus.stop_prometheus(progress=lambda line: None) == 1
    assert not services.is_ours(server)


APP = """
import sys
from prodspark.session import start_spark
conf = {{"spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
         "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus"}}
spark = start_spark(master="local[1]", app_name="prometheus-test", delta=False, conf=conf)
print(spark.sparkContext.uiWebUrl, flush=True)
for line in sys.stdin:
    print(spark.range(1000).count(), flush=True)
spark.stop()
"""

DRIVER_RULES = """groups:
  - name: spark
    rules:
      - alert: SparkRanAJob
        expr: '{__name__=~"metrics_.*_driver_DAGScheduler_job_allJobs_Value"} > 0'
"""


@pytest.mark.full  # a Spark application of its own (about 20 s)
def test_prometheus_scrapes_a_spark_driver_and_alerts_when_it_runs_a_job(
        course_home, tmp_path, prometheus_binary, stop_prometheus):
    app = subprocess.Popen([sys.executable, "-c", APP.format()], cwd=ROOT, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           env={**os.environ, "PRODSPARK_HOME": str(course_home)})
    try:
        assert app.stdout is not None and app.stdin is not None
        ui = app.stdout.readline().strip()
        assert ui.startswith("http://127.0.0.1:"), ui
        config = prometheus.write_config(tmp_path, {"driver": (ui.removeprefix("http://"), "/metrics/prometheus")},
                                         DRIVER_RULES)
        server = prometheus.start_prometheus(config, port=services.free_port(), progress=lambda line: None)
        prometheus.wait_for_targets(server.url, ["driver"])
        jobs = prometheus.query(server.url, '{__name__=~"metrics_.*_driver_DAGScheduler_job_allJobs_Value"}')
        assert [value for _, value in jobs] == [0.0], "no job has run yet"
        assert prometheus.wait_for_alert(server.url, "SparkRanAJob", "inactive")["value"] is None
        app.stdin.write("count\n")
        app.stdin.flush()
        assert app.stdout.readline().strip() == "1000"
        fired = prometheus.wait_for_alert(server.url, "SparkRanAJob", "firing", timeout=30)
        assert fired["value"] >= 1
    finally:
        if app.stdin is not None:
            app.stdin.close()
        app.wait(timeout=120)
