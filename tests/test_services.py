"""The registry of the processes the course starts: recorded, checked and stopped by pid only."""

import socket
import subprocess
import sys

import psutil
import pytest

from prodspark import cli, services
from prodspark.services import CourseProcess, PortTaken

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def course_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODSPARK_HOME", str(tmp_path / "course"))
    return tmp_path / "course"


def test_a_launched_process_is_recorded_checked_and_stopped(course_home):
    process = services.launch("sleeper", SLEEPER, "time.sleep(120)", course_home / "logs" / "sleeper.log")
    services.record("test", process)
    assert services.is_ours(process)
    assert [p.pid for p in services.running("test")] == [process.pid]
    assert (course_home / "processes" / "test.json").is_file()
    assert "test: sleeper (pid" in services.status()
    assert services.stop_group("test") == 1
    assert not services.is_ours(process)
    assert services.recorded("test") == [] and services.groups() == []


def test_the_group_is_stopped_last_started_first(course_home, monkeypatch):
    first = services.launch("first", SLEEPER, "time.sleep(120)", course_home / "first.log")
    second = services.launch("second", SLEEPER, "time.sleep(120)", course_home / "second.log")
    services.record("test", [first, second])
    order = []
    real = services.terminate
    monkeypatch.setattr(services, "terminate", lambda p: order.append(p.role) or real(p))
    assert services.stop_group("test") == 2
    assert order == ["second", "first"]


def test_a_reused_pid_or_another_program_is_never_stopped(course_home):
    """A recorded pid now used by another program (pid reuse) is left alone: wrong marker, or
    the same marker but another start time."""
    stranger = subprocess.Popen(SLEEPER)
    try:
        services.record("test", [CourseProcess("master", "org.apache.spark.deploy.master.Master", stranger.pid)])
        assert services.stop_group("test") == 0
        created = psutil.Process(stranger.pid).create_time()
        services.record("test", [CourseProcess("sleeper", "time.sleep(120)", stranger.pid, created=created - 100)])
        assert services.running("test") == []
        assert services.stop_all(progress=lambda line: None) == 0
        assert stranger.poll() is None, "a process the course did not start was stopped"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_process_that_exits_is_not_running_and_its_exit_code_is_known(course_home):
    process = services.launch("short", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"],
                              "print('bye'); raise SystemExit(3)", course_home / "short.log")
    with pytest.raises(services.ServiceError, match=r"short exited \(code 3\)[\s\S]*bye"):
        services.wait_ready(process, lambda: None, "short", timeout=20)
    assert services.exit_code(process) == 3 and not services.is_ours(process)


def test_the_marker_must_be_in_the_command_line(course_home):
    with pytest.raises(services.ServiceError, match="marker"):
        services.launch("x", ["sleep", "1"], "org.apache.spark.deploy.master.Master", course_home / "x.log")


def test_a_taken_port_names_the_port_the_program_and_the_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortTaken, match=f"port {port} on 127.0.0.1 is taken .* the History Server .* --port"):
            services.check_port_free(port, "the History Server", "--port")
    services.check_port_free(services.free_port(), "x", "--port")
    with pytest.raises(services.ServiceError, match="port number from 1 to 65535"):
        services.check_port_free(70000, "x", "--port")


def test_services_stop_stops_every_group(course_home, capsys):
    for group in ("one", "two"):
        services.record(group, services.launch(group, SLEEPER, "time.sleep(120)", course_home / f"{group}.log"))
    assert cli.main(["services", "status"]) == 0
    assert "one: one (pid" in capsys.readouterr().out
    assert cli.main(["services", "stop"]) == 0
    assert "Stopped 2 process(es)" in capsys.readouterr().out
    assert services.groups() == []
