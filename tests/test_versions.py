"""One place holds each version: requirements.txt (the course) or requirements-dev.txt (the test
and lint tools), never both. Everything else must agree with them."""

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


REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")


def all_pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in REQUIREMENTS:
        found.update(pins(ROOT / name))
    return found


def test_requirements_pin_every_direct_dependency_exactly():
    requirements = pins(ROOT / "requirements.txt")
    for name in ("pyspark", "delta-spark", "jupyterlab", "papermill", "matplotlib",
                 "pandas", "pyarrow", "duckdb", "ipykernel", "nbformat", "psutil"):
        assert name in requirements, f"{name} is not pinned in requirements.txt"
    assert requirements["pyspark"].startswith("4.1."), "the course targets PySpark 4.1.x"
    dev = pins(ROOT / "requirements-dev.txt")
    for name in ("pytest", "nbval", "pyyaml", "ruff", "mypy"):
        assert name in dev, f"{name} is not pinned in requirements-dev.txt"
    both = set(requirements) & set(dev)
    assert not both, f"pinned in both requirements files: {sorted(both)}"
    for path in REQUIREMENTS:
        for line in (ROOT / path).read_text().splitlines():
            line = line.split("#")[0].strip()
            assert not line or "==" in line, f"{path}: {line!r} is not an exact pin"


def test_environment_yml_installs_the_same_pinned_files():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    dependencies = environment["dependencies"]
    conda = [d for d in dependencies if isinstance(d, str)]
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict) and "pip" in d)
    assert "python=3.11" in conda
    assert any(re.fullmatch(r"openjdk=(17|21)", d) for d in conda), "environment.yml must bring Java 17 or 21"
    assert pip_section == ["-r requirements.txt", "-r requirements-dev.txt", "-c constraints.txt"], (
        "environment.yml must install the pip packages from the requirements files, not list its own versions"
    )
    conda_names = {normalise(re.split(r"[=<>]", d)[0]) for d in conda}
    assert not conda_names & set(all_pins()), "a package is versioned in both environment.yml and pip's files"


def test_the_set_up_installs_everything_the_tests_need():
    setup = (ROOT / "setup.sh").read_text().replace("\\\n", " ")
    assert re.search(r"pip install .*-r requirements\.txt -r requirements-dev\.txt -c constraints\.txt", setup), (
        "setup.sh must install requirements.txt and requirements-dev.txt with constraints.txt"
    )


def test_constraints_agree_with_requirements():
    requirements = all_pins()
    constraints = pins(ROOT / "constraints.txt")
    for name, version in requirements.items():
        assert constraints.get(name) == version, (
            f"{name}: requirements.txt pins {version}, constraints.txt {constraints.get(name)}; "
            "regenerate constraints.txt"
        )


def requirement_names(dependencies: list[str]) -> set[str]:
    return {normalise(re.split(r"[=<>\[ ;]", dependency)[0]) for dependency in dependencies}


def test_package_dependencies_are_all_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = pins(ROOT / "requirements.txt")
    for name in requirement_names(project["dependencies"]):
        assert name in requirements, f"{name} is a dependency of the package but not pinned in requirements.txt"
    dev = requirement_names(project["optional-dependencies"]["dev"])
    assert dev == set(pins(ROOT / "requirements-dev.txt")), (
        "pyproject.toml's dev extra and requirements-dev.txt must name the same packages"
    )


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in all_pins().items():
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
