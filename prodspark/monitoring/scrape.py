"""Spark's Prometheus endpoints, scraped and parsed with the Prometheus client's own parser.

Spark 4 serves two, on the driver's web UI:

- ``/metrics/executors/prometheus``: every executor's metrics (tasks, memory, GC), labelled
  with ``application_id`` and ``executor_id``; on by default (``spark.ui.prometheus.enabled``
  is true since Spark 4.0);
- ``/metrics/prometheus``: the driver's metrics system (DAG scheduler, block manager, JVM),
  only with a PrometheusServlet sink configured (:func:`driver_prometheus_conf`); its metric
  names carry the application id (``metrics_local_1700000000000_driver_…``).

::

    spark = start_spark(conf=driver_prometheus_conf())
    metrics = scrape(endpoints(spark)["executors"])   # name, labels, value
"""

from __future__ import annotations

import urllib.error
import urllib.request

from prodspark.errors import CourseError, ParameterError

SCRAPE_TIMEOUT_S = 10.0
DRIVER_PATH = "/metrics/prometheus"
EXECUTORS_PATH = "/metrics/executors/prometheus"


class ScrapeError(CourseError):
    """A Prometheus endpoint could not be scraped or parsed; the message says why."""


def driver_prometheus_conf(path: str = DRIVER_PATH) -> dict[str, str]:
    """The settings that give the driver a Prometheus endpoint at ``path``: for start_spark(conf=...).

    They must be set when the session starts (the metrics system reads them once).
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ParameterError(f"path must start with '/', e.g. {DRIVER_PATH!r}, got {path!r}.")
    return {
        "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
        "spark.metrics.conf.*.sink.prometheusServlet.path": path,
    }


def endpoints(spark) -> dict[str, str]:
    """The Prometheus endpoints of a session: ``{"driver": …, "executors": …}`` (full URLs)."""
    from prodspark.monitoring.rest import session_address

    url, _ = session_address(spark, error=ScrapeError)
    context = spark.sparkContext
    conf = context.getConf()
    driver_path = conf.get("spark.metrics.conf.*.sink.prometheusServlet.path", DRIVER_PATH)
    return {"driver": f"{url.rstrip('/')}{driver_path}", "executors": f"{url.rstrip('/')}{EXECUTORS_PATH}"}


def scrape_text(url: str) -> str:
    """The text an endpoint serves, as Prometheus would fetch it."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ParameterError(f"url must be an http:// address, got {url!r}.")
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        hint = ""
        if exc.code == 404 and url.endswith(DRIVER_PATH):
            hint = (" The driver serves it only with a PrometheusServlet sink: start the session with "
                    "start_spark(conf=driver_prometheus_conf()).")
        elif exc.code == 404 and url.endswith(EXECUTORS_PATH):
            hint = " It needs spark.ui.prometheus.enabled=true (Spark 4's default)."
        raise ScrapeError(f"{url} answered {exc.code} {exc.reason}.{hint}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ScrapeError(f"{url} did not answer: {exc}. Is the application (or server) running?") from exc


def parse(text: str):
    """Prometheus text exposition parsed into a DataFrame: name, labels (dict), value, family, type."""
    import pandas as pd
    from prometheus_client.parser import text_string_to_metric_families

    rows = []
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                rows.append({"name": sample.name, "labels": dict(sample.labels), "value": float(sample.value),
                             "family": family.name, "type": family.type})
    except ValueError as exc:
        raise ScrapeError(f"the text is not in Prometheus's exposition format: {exc}") from exc
    return pd.DataFrame(rows, columns=["name", "labels", "value", "family", "type"])


def scrape(url: str):
    """Scrape a Prometheus endpoint: one row per sample (name, labels dict, value, family, type)."""
    return parse(scrape_text(url))
