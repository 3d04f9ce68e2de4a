"""``spark-submit`` command lines for each cluster manager, built from the same settings.

The application and its Spark settings stay the same; what changes between cluster
managers is the master URL, the deploy mode and a few manager-specific settings.
"""

from __future__ import annotations

import shlex
from typing import TypedDict

from prodspark import paths


class Manager(TypedDict):
    master: str
    deploy_mode: str
    extra: dict[str, str]
    needs: str


MANAGERS: dict[str, Manager] = {
    "standalone": {
        "master": "spark://127.0.0.1:7077",
        "deploy_mode": "client",
        "extra": {},
        "needs": "a running master and workers (prodspark cluster start)",
    },
    "yarn": {
        "master": "yarn",
        "deploy_mode": "cluster",
        "extra": {"spark.yarn.queue": "etl"},
        "needs": "HADOOP_CONF_DIR or YARN_CONF_DIR pointing at the cluster's configuration",
    },
    "kubernetes": {
        "master": "k8s://https://kubernetes.example.com:6443",
        "deploy_mode": "cluster",
        "extra": {"spark.kubernetes.container.image": "registry.example.com/spark-py:4.1.4",
                  "spark.kubernetes.namespace": "spark-jobs",
                  "spark.kubernetes.authenticate.driver.serviceAccountName": "spark"},
        "needs": "a container image with Spark and the application, and a service account "
                 "allowed to create pods",
    },
}


def submit_command(manager: str, application: str, settings: dict[str, str] | None = None,
                   master: str | None = None) -> list[str]:
    """The ``spark-submit`` arguments that run ``application`` on ``manager``."""
    if manager not in MANAGERS:
        raise ValueError(f"unknown cluster manager {manager!r}; choose one of {', '.join(MANAGERS)}")
    spec = MANAGERS[manager]
    args = ["spark-submit", "--master", master or spec["master"], "--deploy-mode", spec["deploy_mode"]]
    settings = dict(settings or {})
    if "spark.jars.packages" in settings and manager != "kubernetes":
        # spark-submit resolves the packages on this machine: into the course's Ivy folder, the
        # one `prodspark check` reads (on Kubernetes the driver's pod resolves them, in its own).
        settings.setdefault("spark.jars.ivy", str(paths.ivy_dir()))
    for key, value in {**settings, **spec["extra"]}.items():
        args += ["--conf", f"{key}={value}"]
    if manager == "kubernetes" and "://" not in application:
        application = f"local:///opt/app/{application}"  # a path inside the image
    return args + [application]


def show_commands(application: str, settings: dict[str, str] | None = None) -> None:
    """Print the command for every manager, one argument group per line."""
    for manager, spec in MANAGERS.items():
        print(f"# {manager}: needs {spec['needs']}")
        print(folded(submit_command(manager, application, settings)))
        print()


def folded(args: list[str]) -> str:
    lines, current = [], [args[0]]
    for arg in args[1:]:
        if arg.startswith("--") and len(current) > 1:
            lines.append(" ".join(current))
            current = ["   "]
        current.append(shlex.quote(arg))
    lines.append(" ".join(current))
    return " \\\n".join(lines)
