"""One place holds the versions: requirements.txt. Everything else must agree with it."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            found[normalise(name)] = version.strip()
    return found


def test_requirements_pin_every_direct_dependency_exactly():
    requirements = pins(ROOT / "requirements.txt")
    for name in ("pyspark", "delta-spark", "jupyterlab", "nbval", "papermill", "matplotlib",
                 "pandas", "pyarrow", "pytest", "duckdb", "ipykernel", "nbformat"):
        assert name in requirements, f"{name} is not pinned in requirements.txt"
    assert requirements["pyspark"].startswith("4.1."), "the course targets PySpark 4.1.x"


def test_environment_yml_installs_the_same_pinned_files():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    dependencies = environment["dependencies"]
    conda = [d for d in dependencies if isinstance(d, str)]
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict) and "pip" in d)
    assert "python=3.11" in conda
    assert any(re.fullmatch(r"openjdk=(17|21)", d) for d in conda), "environment.yml must bring Java 17 or 21"
    assert pip_section == ["-r requirements.txt", "-c constraints.txt"], (
        "environment.yml must install the pip packages from requirements.txt, not list its own versions"
    )
    conda_names = {normalise(re.split(r"[=<>]", d)[0]) for d in conda}
    assert not conda_names & set(pins(ROOT / "requirements.txt")), "a package is versioned in both files"


def test_constraints_agree_with_requirements():
    requirements = pins(ROOT / "requirements.txt")
    constraints = pins(ROOT / "constraints.txt")
    for name, version in requirements.items():
        assert constraints.get(name) == version, (
            f"{name}: requirements.txt pins {version}, constraints.txt {constraints.get(name)}; "
            "regenerate constraints.txt"
        )


def test_package_dependencies_are_all_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = pins(ROOT / "requirements.txt")
    for dependency in project["dependencies"]:
        name = normalise(re.split(r"[=<>\[ ;]", dependency)[0])
        assert name in requirements, f"{name} is a dependency of the package but not pinned"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pins(ROOT / "requirements.txt").items():
        assert version(name) == pinned, f"{name} {version(name)} is installed, {pinned} pinned: run ./setup.sh"


def stated_floors() -> dict[str, tuple[int, ...]]:
    """The Python floor as each file states it."""
    floors = {}
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires.strip())
    assert found, f"pyproject.toml: requires-python should be a single floor like '>=3.11', got {requires!r}"
    floors["pyproject.toml requires-python"] = tuple(map(int, found.groups()))

    setup = (ROOT / "setup.sh").read_text()
    checks = re.findall(r"sys\.version_info\s*<\s*\((\d+),\s*(\d+)\)", setup)
    assert len(checks) == 1, "setup.sh should check the Python version exactly once"
    floors["setup.sh check"] = tuple(map(int, checks[0]))
    messages = re.findall(r"needs Python (\d+)\.(\d+) or newer", setup)
    assert messages, "setup.sh should say which Python the course needs"
    for message in messages:
        floors["setup.sh message"] = tuple(map(int, message))

    readme = (ROOT / "README.md").read_text()
    prerequisite = re.findall(r"^- \*\*Python (\d+)\.(\d+) or newer\*\*", readme, flags=re.MULTILINE)
    assert len(prerequisite) == 1, "README.md should have one prerequisite line '- **Python X.Y or newer**'"
    floors["README.md prerequisites"] = tuple(map(int, prerequisite[0]))
    return floors


def test_one_python_floor_everywhere_and_this_interpreter_meets_it():
    import sys

    from prodspark.envcheck import MIN_PYTHON, check_python

    for where, floor in stated_floors().items():
        assert floor == MIN_PYTHON, f"{where} states Python {floor}, prodspark.envcheck.MIN_PYTHON is {MIN_PYTHON}"
    assert sys.version_info >= MIN_PYTHON, f"this interpreter is {sys.version.split()[0]}, below the floor"
    assert check_python().status == "ok"
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert tuple(map(int, conda_python.split("=")[1].split("."))) >= MIN_PYTHON, "environment.yml's Python"


def test_the_check_names_the_floor_when_python_is_too_old(monkeypatch):
    from prodspark import envcheck

    monkeypatch.setattr(envcheck, "MIN_PYTHON", (99, 1))
    check = envcheck.check_python()
    assert check.status == envcheck.FAIL and check.fix == "Use Python 99.1 or newer."
