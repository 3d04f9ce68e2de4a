"""The course's standalone cluster: started, used, stopped by recorded process ids only."""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from prodspark import cluster, services
from prodspark.cluster import ClusterError, ClusterState, free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODSPARK_HOME", str(tmp_path / "course"))
    return tmp_path / "course"


@pytest.mark.parametrize("kwargs,words", [
    ({"workers": 0}, "workers must be a whole number"),
    ({"cores": "2"}, "cores must be a whole number"),
    ({"memory": "lots"}, "memory must look like 512m or 2g"),
])
def test_bad_arguments_are_refused(kwargs, words, course_home):
    with pytest.raises(ClusterError, match=words):
        cluster.start_cluster(**kwargs)


def test_a_taken_port_is_named_and_nothing_starts(course_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port {port} on 127.0.0.1 is taken"):
            cluster.start_cluster(port=port, webui_port=free_port())
    assert cluster.read_state() is None


def test_stop_with_nothing_running_says_so(course_home):
    lines = []
    assert cluster.stop_cluster(progress=lines.append) == 0
    assert "nothing to stop" in lines[0]


def test_stop_never_touches_a_process_it_did_not_start(course_home):
    """A recorded pid now used by another program (pid reuse) is left alone."""
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        state = ClusterState("spark://127.0.0.1:1", "http://127.0.0.1:2", stranger.pid, [stranger.pid], 1)
        (course_home / "cluster").mkdir(parents=True)
        (course_home / "cluster" / "state.json").write_text(json.dumps(state.__dict__))
        assert cluster.stop_cluster(progress=lambda line: None) == 0
        assert stranger.poll() is None, "the stop killed a process that was not the course's"
    finally:
        stranger.kill()
        stranger.wait()


JOB = """
from prodspark.session import start_spark
spark = start_spark(master={url!r}, app_name="cluster-test", delta=False)
print(spark.range(1000).repartition(4).count(), spark.sparkContext.defaultParallelism)
spark.stop()
"""


@pytest.mark.extended  # lesson 02 starts, uses and stops the cluster under nbval in the full suite
def test_start_use_and_stop_a_real_cluster(course_home):
    state = cluster.start_cluster(workers=2, cores=1, memory="1g", port=free_port(),
                                  webui_port=free_port(), progress=lambda line: None)
    try:
        assert "registered with the master: 2" in cluster.cluster_status()
        assert len(state.worker_uis) == 2 and [p.role for p in services.running("cluster")] == [
            "master", "worker-1", "worker-2"]
        for name, url in state.prometheus_endpoints.items():  # Spark's PrometheusServlet on each daemon
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode()
            expected = {"master": "metrics_master_aliveWorkers_Value", "applications": "metrics_"}.get(
                name, "metrics_worker_coresFree_Value")
            assert expected in body, f"{name} {url}"
        with pytest.raises(ClusterError, match="already running"):
            cluster.start_cluster(port=free_port(), webui_port=free_port())
        reused, started = cluster.ensure_cluster(progress=lambda line: None)
        assert (reused.master_pid, started) == (state.master_pid, False), "a running cluster is reused"
        job = subprocess.run([sys.executable, "-c", JOB.format(url=state.master_url)], cwd=ROOT,
                             env={**os.environ, "PRODSPARK_HOME": str(course_home)},
                             capture_output=True, text=True, timeout=300)
        assert job.returncode == 0, job.stderr[-2000:]
        assert job.stdout.split() == ["1000", "2"], "two 1-core executors on two workers"
    finally:
        started_at = {pid: psutil.Process(pid).create_time() for pid in [state.master_pid, *state.worker_pids]}
        assert cluster.stop_cluster(progress=lambda line: None) == 3
    survivors = [pid for pid, created in started_at.items() if still_running(pid, created)]
    assert not survivors, f"cluster process(es) {survivors} outlived stop"
    assert cluster.read_state() is None
    assert services.recorded("cluster") == []


def still_running(pid: int, created: float) -> bool:
    """True if ``pid`` is still the process that was created at ``created`` (not a reused pid),
    and not a zombie: the test works the same on Linux and macOS (psutil, not /proc)."""
    if not psutil.pid_exists(pid):
        return False
    try:
        process = psutil.Process(pid)
        return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def test_the_survivor_check_sees_a_live_process_and_not_a_dead_one():
    child = subprocess.Popen(["sleep", "60"])
    created = psutil.Process(child.pid).create_time()
    try:
        assert still_running(child.pid, created)
        assert not still_running(child.pid, created - 1), "another process under a reused pid"
    finally:
        child.kill()
        child.wait()
    assert not still_running(child.pid, created)
