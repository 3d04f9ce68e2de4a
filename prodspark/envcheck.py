"""Is this machine ready for the course? One line per requirement, with a fix for each failure.

    prodspark check            # from a terminal (exit code 1 when something must be fixed)
    environment_report()       # in a notebook (a table)
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from prodspark import paths

OK, WARN, FAIL = "ok", "warning", "FAIL"
KERNEL_NAME = "production-spark"
MIN_MEMORY_GIB = 4
MIN_DISK_GIB = 2
# The course's Python floor (tomllib, datetime.UTC); pyproject.toml, setup.sh and the README
# state the same, and tests/test_versions.py keeps them in agreement.
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


REQUIREMENTS = (paths.REPO_ROOT / "requirements.txt", paths.REPO_ROOT / "requirements-dev.txt")


def pinned_versions(*requirements: Path) -> dict[str, str]:
    """name -> version from the course's pinned requirements, the course's and the test tools'
    by default (empty when not in a checkout)."""
    pins = {}
    for path in requirements or REQUIREMENTS:
        if path.exists():
            for line in path.read_text().splitlines():
                line = line.split("#")[0].strip()
                if "==" in line:
                    name, _, pinned = line.partition("==")
                    pins[name.strip().lower()] = pinned.strip()
    return pins


def min_python_text() -> str:
    return ".".join(map(str, MIN_PYTHON))


def check_python() -> Check:
    found = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < MIN_PYTHON:
        return Check("Python", FAIL, f"{found} ({sys.executable})", f"Use Python {min_python_text()} or newer.")
    return Check("Python", OK, f"{found} ({sys.executable})")


def check_java() -> Check:
    from prodspark.java import MINIMUM_JAVA, java_info, java_problem

    try:
        info = java_info()
    except RuntimeError as exc:
        message, _, fix = str(exc).partition("\n")
        return Check("Java", FAIL, message, fix)
    problem = java_problem(info)
    detail = f"{info.version_text} ({info.executable})"
    if problem is None:
        return Check("Java", OK, detail)
    status = FAIL if info.major < MINIMUM_JAVA else WARN
    return Check("Java", status, detail, problem.split("\n", 1)[-1] if status == FAIL else problem)


def check_package(name: str, pins: dict[str, str]) -> Check:
    try:
        found = version(name)
    except PackageNotFoundError:
        return Check(name, FAIL, "not installed", "Run the set-up command: ./setup.sh")
    wanted = pins.get(name)
    if wanted and found != wanted:
        return Check(name, WARN, f"{found} installed, the course pins {wanted}",
                     "Run ./setup.sh to install the pinned versions.")
    return Check(name, OK, found)


def check_delta_jars() -> Check:
    try:
        from prodspark.session import delta_artifact, delta_jars_cached, ivy_jars_dir

        artifact = delta_artifact()
    except Exception as exc:  # pyspark or delta-spark missing: reported by their own checks
        return Check("Delta Lake jars", FAIL, f"cannot tell ({type(exc).__name__})", "Run ./setup.sh")
    if delta_jars_cached():
        return Check("Delta Lake jars", OK, f"{artifact} in {ivy_jars_dir()}")
    return Check(
        "Delta Lake jars", FAIL, f"{artifact} not in the local cache {ivy_jars_dir()}",
        "Run `prodspark fetch-jars` while online (the set-up command does it); "
        "PRODSPARK_IVY_DIR moves the cache.",
    )


def check_memory() -> Check:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return Check("Memory", WARN, "could not be read on this system")
    detail = f"{total:.1f} GiB in total, {os.cpu_count()} CPU cores"
    if total < MIN_MEMORY_GIB:
        return Check("Memory", FAIL, detail,
                     f"The course needs at least {MIN_MEMORY_GIB} GiB; close other programs or use a bigger machine.")
    return Check("Memory", OK, detail)


def check_disk() -> Check:
    home = paths.course_home()
    probe = home if home.exists() else paths.REPO_ROOT
    free = shutil.disk_usage(probe).free / 2**30
    detail = f"{free:.1f} GiB free for {home}"
    if free < MIN_DISK_GIB:
        return Check("Disk", FAIL, detail, f"Free {MIN_DISK_GIB} GiB, or set PRODSPARK_HOME to a bigger disk.")
    return Check("Disk", OK, detail)


def check_kernel() -> Check:
    try:
        from jupyter_client.kernelspec import find_kernel_specs
    except ImportError:
        return Check("Jupyter kernel", FAIL, "jupyter_client not installed", "Run ./setup.sh")
    try:
        specs = find_kernel_specs()
    except RuntimeError as exc:  # Jupyter needs a home folder: "Could not determine home directory."
        return Check("Jupyter kernel", FAIL, f"Jupyter cannot list its kernels: {exc}",
                     "Set HOME to a folder you can write (Jupyter keeps its settings there).")
    if KERNEL_NAME in specs:
        return Check("Jupyter kernel", OK, f"{KERNEL_NAME} ({specs[KERNEL_NAME]})")
    return Check("Jupyter kernel", FAIL, f"{KERNEL_NAME} is not registered",
                 "Run `prodspark kernel` (the set-up command does it).")


def run_checks() -> list[Check]:
    pins = pinned_versions()
    return [
        check_python(),
        check_java(),
        *(check_package(name, pins) for name in ("pyspark", "delta-spark", "jupyterlab", "nbval", "papermill")),
        check_delta_jars(),
        check_kernel(),
        check_memory(),
        check_disk(),
    ]


class EnvironmentReport(list):
    """A list of checks that shows itself as a table in a notebook."""

    @property
    def ready(self) -> bool:
        return all(c.status != FAIL for c in self)

    def __str__(self) -> str:
        width = max(len(c.name) for c in self)
        lines = []
        for c in self:
            lines.append(f"{c.status:>7}  {c.name:<{width}}  {c.detail}")
            if c.fix and c.status != OK:
                lines.extend(f"{'':>7}  {'':<{width}}  -> {fix_line}" for fix_line in c.fix.splitlines())
        lines.append("Ready for the course." if self.ready else "Not ready: fix the FAIL lines above.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        colours = {OK: "#1a7f37", WARN: "#9a6700", FAIL: "#cf222e"}
        rows = "".join(
            f"<tr><td style='color:{colours[c.status]}'><b>{c.status}</b></td><td>{html.escape(c.name)}</td>"
            f"<td style='text-align:left'>{html.escape(c.detail)}"
            + (f"<br><i>Fix: {html.escape(c.fix)}</i>" if c.fix and c.status != OK else "")
            + "</td></tr>"
            for c in self
        )
        verdict = "Ready for the course." if self.ready else "Not ready: fix the FAIL lines."
        return f"<table><tr><th>status</th><th>check</th><th>detail</th></tr>{rows}</table><p>{verdict}</p>"


def environment_report() -> EnvironmentReport:
    return EnvironmentReport(run_checks())
