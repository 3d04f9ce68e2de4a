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


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
def test_a_deprecation_in_the_course_code_fails_the_test(category):
    """pyproject.toml turns a deprecation attributed to a prodspark module into an error."""
    code = compile("import warnings\nwarnings.warn('an old API', category)", "prodspark/example.py", "exec")
    with pytest.raises(category, match="an old API"):
        exec(code, {"__name__": "prodspark.example", "category": category})


def test_a_deprecation_elsewhere_is_shown_not_raised(recwarn):
    code = compile("import warnings\nwarnings.warn('an old API', DeprecationWarning)", "library.py", "exec")
    exec(code, {"__name__": "some_library"})
    assert [str(w.message) for w in recwarn.list] == ["an old API"]
