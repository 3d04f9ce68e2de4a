"""Spark's History Server over the course's event logs: an ended application read back."""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from prodspark import cli, history_server, services
from prodspark.history_server import HistoryServerError

ROOT = Path(__file__).resolve().parents[1]

APP = """
from prodspark.session import start_spark
spark = start_spark(master="local[2]", app_name="history-test", delta=False, event_log_dir={log_dir!r})
print(spark.sparkContext.applicationId)
print(spark.range(1000).repartition(4).count())
spark.stop()
"""


@pytest.fixture
def course_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODSPARK_HOME", str(tmp_path / "course"))
    return tmp_path / "course"


def test_a_taken_port_is_named_and_nothing_starts(course_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HistoryServerError, match=f"port {port} on 127.0.0.1 is taken .* History Server"):
            history_server.start_history_server(port=port)
    assert services.recorded(history_server.GROUP) == []


def test_status_and_stop_with_nothing_running(course_home, capsys):
    assert cli.main(["history", "status"]) == 0
    assert "No History Server" in capsys.readouterr().out
    assert history_server.stop_history_server(progress=lambda line: None) == 0


@pytest.mark.full  # two JVMs: the application's and the History Server's (about 25 s)
def test_an_ended_application_is_read_back_through_the_rest_api(course_home, tmp_path):
    log_dir = tmp_path / "event-logs"  # created by the server
    server, started = history_server.ensure_history_server(log_dir, port=services.free_port(),
                                                           progress=lambda line: None)
    try:
        assert started and log_dir.is_dir()
        assert history_server.ensure_history_server(log_dir, progress=lambda line: None) == (server, False)
        assert history_server.running_history_server(tmp_path / "elsewhere") is None
        with pytest.raises(HistoryServerError, match="already running at"):
            history_server.start_history_server(log_dir, port=server.port)
        app = subprocess.run([sys.executable, "-c", APP.format(log_dir=str(log_dir))], cwd=ROOT,
                             env={**os.environ, "PRODSPARK_HOME": str(course_home)},
                             capture_output=True, text=True, timeout=300)
        assert app.returncode == 0, app.stderr[-2000:]
        app_id, count = app.stdout.split()
        assert count == "1000"
        # What Spark 4.1 writes by default: a rolling event log, one folder per application
        # with zstd-compressed parts and a status file.
        folder = log_dir / f"eventlog_v2_{app_id}"
        assert (folder / f"events_1_{app_id}.zstd").is_file() and (folder / f"appstatus_{app_id}").is_file()

        info = history_server.wait_for_application(server.url, app_id, timeout=60)
        assert info["name"] == "history-test" and info["attempts"][0]["completed"]
        base = f"{server.url}/api/v1/applications/{app_id}"
        jobs = json.load(urllib.request.urlopen(f"{base}/jobs", timeout=10))
        stages = json.load(urllib.request.urlopen(f"{base}/stages", timeout=10))
        assert jobs and all(job["status"] == "SUCCEEDED" for job in jobs)
        assert stages and sum(stage["numTasks"] for stage in stages) >= 4
        assert "1 application(s) listed" in history_server.history_status()
    finally:
        assert history_server.stop_history_server(progress=lambda line: None) == 1
    assert not services.is_ours(server) and services.recorded(history_server.GROUP) == []


def test_waiting_for_an_unknown_application_says_what_to_check(course_home):
    with pytest.raises(HistoryServerError, match="event logs"):
        history_server.wait_for_application(f"http://127.0.0.1:{services.free_port()}", "app-1", timeout=0.5)
