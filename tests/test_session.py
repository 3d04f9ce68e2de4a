"""start_spark: the course's session settings, read back from the running session."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from prodspark import paths
from prodspark.errors import ParameterError
from prodspark.masters import parse_master
from prodspark.session import SPARK_PROVIDED_JARS, course_conf, delta_artifact, start_spark

ROOT = Path(__file__).resolve().parents[1]


def test_session_settings(spark):
    conf = spark.conf
    assert conf.get("spark.driver.host") == "127.0.0.1"
    assert conf.get("spark.ui.showConsoleProgress") == "false"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.local.dir") == str(paths.spark_local_dir())
    assert spark.sparkContext.uiWebUrl.startswith("http://127.0.0.1:")


def test_web_ui_answers_on_its_free_port(spark):
    url = spark.sparkContext.uiWebUrl + "/api/v1/applications"
    with urllib.request.urlopen(url, timeout=10) as response:
        applications = json.load(response)
    assert applications[0]["id"] == spark.sparkContext.applicationId


def test_calling_again_returns_the_running_session(spark):
    assert start_spark(master="local[2]", delta=False) is spark


def test_conf_must_be_a_dict():
    with pytest.raises(ParameterError, match="conf must be a dict"):
        start_spark(master="local[2]", conf=["spark.executor.memory=1g"])


def test_delta_settings_and_excluded_duplicates():
    conf = course_conf(parse_master("local[*]"), delta=True, event_log_dir=None)
    assert conf["spark.jars.packages"] == delta_artifact()
    assert delta_artifact().startswith("io.delta:delta-spark_4.1_2.13:")
    assert "org.apache.hadoop:hadoop-client-runtime" in conf["spark.jars.excludes"].split(",")
    assert len(SPARK_PROVIDED_JARS) == len(set(SPARK_PROVIDED_JARS))


def test_remote_cluster_is_not_bound_to_loopback_and_keeps_its_shuffle_partitions():
    conf = course_conf(parse_master("spark://spark-master.example:7077"), delta=False, event_log_dir=None)
    assert "spark.driver.host" not in conf and "spark.driver.bindAddress" not in conf
    assert "spark.sql.shuffle.partitions" not in conf


@pytest.mark.parametrize("url", ["local[*]", "spark://127.0.0.1:7077"])
def test_this_machine_gets_few_shuffle_partitions(url):
    conf = course_conf(parse_master(url), delta=False, event_log_dir=None)
    assert conf["spark.sql.shuffle.partitions"] == "8" and conf["spark.driver.host"] == "127.0.0.1"


def test_executors_on_this_machines_cluster_start_from_the_class_archive_when_there_is_one(tmp_path, monkeypatch):
    from prodspark import class_archive

    archive = tmp_path / "spill.jsa"
    monkeypatch.setattr(class_archive, "archive_path", lambda: archive)
    cluster, local = parse_master("spark://127.0.0.1:7077"), parse_master("local[2]")
    assert "SharedArchiveFile" not in course_conf(cluster, delta=False, event_log_dir=None)[
        "spark.executor.extraJavaOptions"]  # none written yet: executors start as they would
    archive.write_bytes(b"archive")
    options = course_conf(cluster, delta=False, event_log_dir=None)["spark.executor.extraJavaOptions"]
    assert options.startswith("-Dlog4j.configurationFile=") and options.endswith(f" -XX:SharedArchiveFile={archive}")
    assert "SharedArchiveFile" not in course_conf(local, delta=False, event_log_dir=None)[
        "spark.executor.extraJavaOptions"]  # local mode: the driver's JVM runs the tasks
    assert "SharedArchiveFile" not in course_conf(cluster, delta=False, event_log_dir=None).get(
        "spark.driver.extraJavaOptions", "")


def test_event_logs_go_to_the_given_folder(tmp_path):
    conf = course_conf(parse_master("local[2]"), delta=False, event_log_dir=tmp_path / "events")
    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == (tmp_path / "events").as_uri()
    assert (tmp_path / "events").is_dir()


SECOND_APP = """
from prodspark.session import start_spark
spark = start_spark(master="local[1]", app_name="second", delta=False)
print(spark.sparkContext.uiWebUrl)
spark.stop()
"""


@pytest.mark.full
def test_two_sessions_at_once_get_different_ui_ports(spark):
    """Two notebooks running at the same time: each UI on its own port, no clash, no retry."""
    result = subprocess.run([sys.executable, "-c", SECOND_APP], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    other = result.stdout.strip().splitlines()[-1]
    assert other.startswith("http://127.0.0.1:") and other != spark.sparkContext.uiWebUrl
