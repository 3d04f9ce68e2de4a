"""Where the course keeps things; above all the one Ivy folder every part of it agrees on."""

import os
import pwd
import shlex

import pytest

from prodspark import envcheck, paths, session, submit
from prodspark.masters import parse_master
from prodspark.pipeline import cli as pipeline_cli


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("PRODSPARK_IVY_DIR", raising=False)
    monkeypatch.setenv("PRODSPARK_HOME", str(tmp_path / "course"))
    return monkeypatch


def no_password_entry(monkeypatch):
    def missing(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", missing)


def test_the_variable_wins(clean_env, tmp_path):
    clean_env.setenv("PRODSPARK_IVY_DIR", str(tmp_path / "ivy"))
    clean_env.setenv("HOME", str(tmp_path))
    assert paths.ivy_dir() == tmp_path / "ivy"


def test_home_from_the_environment_first(clean_env, tmp_path):
    """$HOME, not the password database's home that Java would use."""
    clean_env.setenv("HOME", str(tmp_path))
    assert paths.user_home() == tmp_path
    assert paths.ivy_dir() == tmp_path / ".ivy2.5.2"


@pytest.mark.parametrize("home", [None, ""])
def test_without_home_the_password_database(clean_env, home):
    if home is None:
        clean_env.delenv("HOME", raising=False)
    else:
        clean_env.setenv("HOME", home)
    expected = pwd.getpwuid(os.getuid()).pw_dir
    assert paths.ivy_dir() == paths.Path(expected) / ".ivy2.5.2"


@pytest.mark.parametrize("home", [None, "/nonexistent", "relative/home"])
def test_no_usable_home_at_all_uses_the_course_folder(clean_env, tmp_path, home):
    if home is None:
        clean_env.delenv("HOME", raising=False)
    else:
        clean_env.setenv("HOME", home)
    no_password_entry(clean_env)
    assert paths.user_home() is None
    assert paths.ivy_dir() == tmp_path / "course" / "ivy"


def test_spark_the_check_and_the_cache_test_read_the_same_folder(clean_env, tmp_path):
    clean_env.setenv("HOME", str(tmp_path))
    folder = paths.ivy_dir()
    conf = session.course_conf(parse_master("local[1]"), delta=False, event_log_dir=None)
    assert conf["spark.jars.ivy"] == str(folder), "set even without Delta"
    assert session.ivy_jars_dir() == folder / "jars"

    assert not session.delta_jars_cached()
    check = envcheck.check_delta_jars()
    assert check.status == envcheck.FAIL and str(folder / "jars") in check.detail
    group, artifact, version = session.delta_artifact().split(":")
    (folder / "jars").mkdir(parents=True)
    (folder / "jars" / f"{group}_{artifact}-{version}.jar").write_bytes(b"")
    assert session.delta_jars_cached()
    assert envcheck.check_delta_jars().status == envcheck.OK


def test_spark_submit_commands_pass_the_ivy_folder(clean_env, tmp_path):
    clean_env.setenv("HOME", str(tmp_path))
    expected = f"spark.jars.ivy={paths.ivy_dir()}"
    pipeline = pipeline_cli.submit_command("spark://127.0.0.1:7077", "in", "table", "quarantine")
    assert expected in pipeline and "spark.jars.packages=" + session.delta_artifact() in pipeline

    with_packages = {"spark.jars.packages": session.delta_artifact()}
    for manager in ("standalone", "yarn"):  # spark-submit resolves the packages on this machine
        assert expected in submit.submit_command(manager, "job.py", with_packages)
    on_kubernetes = submit.submit_command("kubernetes", "job.py", with_packages)
    assert not any(a.startswith("spark.jars.ivy=") for a in on_kubernetes), "the driver's pod resolves them"
    assert not any(a.startswith("spark.jars.ivy=") for a in submit.submit_command("standalone", "job.py"))


def test_the_shown_command_names_the_home_folder_and_still_runs_in_a_shell(clean_env, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    clean_env.setenv("HOME", str(home))
    shown = pipeline_cli.shown_command(pipeline_cli.submit_command("spark://127.0.0.1:7077", "in", "t", "q"))
    assert "--conf spark.jars.ivy=$HOME/.ivy2.5.2 " in shown
    assert str(home) not in shown
    words = shlex.split(shown.replace("$HOME", str(home)))
    assert f"spark.jars.ivy={home / '.ivy2.5.2'}" in words
