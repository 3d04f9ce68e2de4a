"""The package and the tests pass the linter (ruff) and the type checker (mypy), as configured
in pyproject.toml. Both run from this environment (requirements-dev.txt pins them)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.lint


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run the set-up command (./setup.sh) to install requirements-dev.txt")
    return subprocess.run([str(tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--no-cache", "prodspark", "tests")
    assert result.returncode == 0, f"ruff check prodspark tests:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing():
    result = run_tool("mypy", "prodspark")
    assert result.returncode == 0, f"mypy prodspark:\n{result.stdout}{result.stderr}"
