"""Find Java and read its version, with the standard library only.

Spark 4.1 runs on Java 17 or 21. This module runs before anything is installed
(``setup.sh`` calls ``python3 -m prodspark.java``), so it must not import pyspark.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_JAVA = (17, 21)
MINIMUM_JAVA = 17

INSTALL_HINT = (
    "Install a Java 17 (or 21) JDK, then open a new terminal:\n"
    "  Debian/Ubuntu:  sudo apt-get install -y openjdk-17-jdk-headless\n"
    "  Fedora/RHEL:    sudo dnf install -y java-17-openjdk-headless\n"
    "  macOS:          brew install openjdk@17\n"
    "  conda:          conda install -c conda-forge openjdk=17\n"
    "If Java 17 is installed but not found, set JAVA_HOME to its folder."
)


@dataclass(frozen=True)
class JavaInfo:
    executable: str
    version_text: str
    major: int


def find_java() -> str | None:
    """The java that Spark will use: $JAVA_HOME/bin/java first, then PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
    return shutil.which("java")


def parse_major(version_output: str) -> int | None:
    """The major version from `java -version` output ("1.8.0_392" -> 8, "17.0.15" -> 17)."""
    match = re.search(r'version "([^"]+)"', version_output)
    if not match:
        match = re.search(r"^\S+ (\d+(?:\.\d+)*)", version_output, re.MULTILINE)
    if not match:
        return None
    parts = [re.match(r"\d+", part) for part in match.group(1).split(".")]
    if parts[0] is None:
        return None
    first = int(parts[0].group())
    if first == 1 and len(parts) > 1:  # "1.8.0_392": Java 8 and older
        return int(parts[1].group()) if parts[1] is not None else None
    return first


def java_info() -> JavaInfo:
    """Describe the Java Spark will use, or raise RuntimeError with an install hint."""
    executable = find_java()
    if executable is None:
        raise RuntimeError("Java was not found (no JAVA_HOME, no `java` on PATH).\n" + INSTALL_HINT)
    try:
        result = subprocess.run(
            [executable, "-version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"Could not run {executable} -version: {exc}\n" + INSTALL_HINT) from exc
    text = (result.stderr or result.stdout).strip()
    major = parse_major(text)
    if major is None:
        raise RuntimeError(f"Could not read the Java version from:\n{text}\n" + INSTALL_HINT)
    return JavaInfo(executable=executable, version_text=text.splitlines()[0], major=major)


def java_problem(info: JavaInfo) -> str | None:
    """None when this Java can run the course, else what is wrong and how to fix it."""
    if info.major < MINIMUM_JAVA:
        return (
            f"Java {info.major} found at {info.executable}, but Spark 4.1 needs Java 17 or 21.\n"
            + INSTALL_HINT
        )
    if info.major not in SUPPORTED_JAVA:
        return (
            f"Java {info.major} found at {info.executable}; Spark 4.1 is tested on Java 17 and 21. "
            "It may work, but if Spark fails to start, point JAVA_HOME at a Java 17 or 21 JDK."
        )
    return None


def main() -> int:
    try:
        info = java_info()
    except RuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    problem = java_problem(info)
    if problem and info.major < MINIMUM_JAVA:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 1
    if problem:
        print(f"WARNING: {problem}", file=sys.stderr)
    print(f"Java {info.major}: {info.version_text} ({info.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
