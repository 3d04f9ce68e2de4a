"""Java is a prerequisite: a missing or too old Java gets a clear message with the fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodspark.java import INSTALL_HINT, JavaInfo, java_info, java_problem, parse_major

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text,major", [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('java version "1.8.0_392"', 8),
    ('openjdk version "21" 2023-09-19', 21),
    ('openjdk version "11.0.2" 2019-01-15', 11),
    ('openjdk version "25.0.3" 2026-04-21 LTS', 25),
    ("no version here", None),
])
def test_parse_major(text, major):
    assert parse_major(text) == major


def test_old_java_is_a_problem_with_install_commands():
    problem = java_problem(JavaInfo("/usr/bin/java", 'openjdk version "11.0.2"', 11))
    assert "Java 17 or 21" in problem and "apt-get install" in problem


def test_supported_java_is_fine():
    assert java_problem(JavaInfo("/usr/bin/java", 'openjdk version "17.0.1"', 17)) is None


def fake_java(tmp_path: Path, version: str) -> Path:
    """A folder whose bin/java prints the given version, like a JDK would."""
    home = tmp_path / f"jdk-{version}"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}" 2020-01-01\' >&2\n')
    java.chmod(0o755)
    return home


def run_java_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prodspark.java"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_missing_java_message(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="Java was not found") as error:
        java_info()
    assert INSTALL_HINT in str(error.value)


def test_setup_java_step_fails_on_old_java(tmp_path):
    env = {**os.environ, "JAVA_HOME": str(fake_java(tmp_path, "11.0.2"))}
    result = run_java_check(env)
    assert result.returncode == 1
    assert "Java 11" in result.stderr and "needs Java 17 or 21" in result.stderr


def test_setup_java_step_fails_without_java(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    result = run_java_check(env)
    assert result.returncode == 1
    assert "Java was not found" in result.stderr and "openjdk-17" in result.stderr


def test_setup_script_stops_at_the_java_step(tmp_path):
    """The README's set-up command itself refuses to go on without a usable Java."""
    env = {**os.environ, "JAVA_HOME": str(fake_java(tmp_path, "1.8.0_392"))}
    result = subprocess.run(["bash", str(ROOT / "setup.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Spark 4.1 needs Java 17 or 21" in result.stderr
    assert "Creating the virtual environment" not in result.stdout
