"""Spark master URLs: what the course accepts, and a fast reachability check.

A wrong master should fail in seconds with a message, not hang while Spark retries.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from prodspark.errors import MasterUnreachable, ParameterError

DEFAULT_MASTER = "local[*]"
CONNECT_TIMEOUT_S = 3.0

_LOCAL = re.compile(r"^local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?$")
_LOCAL_CLUSTER = re.compile(r"^local-cluster\[\s*[1-9]\d*\s*,\s*[1-9]\d*\s*,\s*[1-9]\d*\s*\]$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")

VALID_FORMS = (
    "local, local[4], local[*], local[*,2] (embedded, one JVM); "
    "spark://HOST:PORT (standalone cluster, e.g. spark://127.0.0.1:7077); "
    "yarn (needs HADOOP_CONF_DIR or YARN_CONF_DIR); "
    "k8s://https://HOST:PORT (Kubernetes API server)"
)


@dataclass(frozen=True)
class Master:
    url: str
    kind: str  # "local", "local-cluster", "standalone", "yarn", "k8s"
    endpoints: tuple[tuple[str, int], ...] = ()

    @property
    def on_this_machine(self) -> bool:
        """True when the driver and executors all run on this machine (loopback is enough)."""
        if self.kind in ("local", "local-cluster"):
            return True
        return bool(self.endpoints) and all(
            host in ("127.0.0.1", "localhost", "::1", "[::1]") for host, _ in self.endpoints
        )


def parse_master(url: object) -> Master:
    """Check a master URL's form; raise ParameterError naming the valid forms."""
    if not isinstance(url, str):
        raise ParameterError(
            f"master must be a string such as 'local[*]', got {url!r} ({type(url).__name__})."
        )
    text = url.strip()
    if _LOCAL.match(text):
        return Master(text, "local")
    if _LOCAL_CLUSTER.match(text):
        return Master(text, "local-cluster")
    if text == "yarn":
        return Master(text, "yarn")
    if text.startswith("mesos://"):
        raise ParameterError(
            f"master {text!r}: Apache Mesos support was removed in Spark 4.0. "
            f"Use one of: {VALID_FORMS}."
        )
    if text.startswith("spark://"):
        endpoints = []
        for part in text[len("spark://"):].split(","):
            match = _HOST_PORT.match(part.strip())
            if not match or not 0 < int(match["port"]) < 65536:
                raise ParameterError(
                    f"master {text!r}: {part!r} is not HOST:PORT. "
                    "A standalone master looks like spark://127.0.0.1:7077."
                )
            endpoints.append((match["host"], int(match["port"])))
        return Master(text, "standalone", tuple(endpoints))
    if text.startswith("k8s://"):
        api = text[len("k8s://"):]
        parts = urlsplit(api if "://" in api else "https://" + api)
        if not parts.hostname:
            raise ParameterError(f"master {text!r}: expected k8s://https://HOST:PORT.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return Master(text, "k8s", ((parts.hostname, port),))
    scheme = text.split("://")[0] if "://" in text else text
    raise ParameterError(f"master {text!r}: unknown kind {scheme!r}. Use one of: {VALID_FORMS}.")


def ensure_reachable(master: Master, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when a cluster master does not accept connections."""
    if not master.endpoints:
        return
    errors = []
    for host, port in master.endpoints:
        try:
            with socket.create_connection((host.strip("[]"), port), timeout=timeout):
                return  # one live master (of an HA list) is enough
        except OSError as exc:
            errors.append(f"{host}:{port} ({exc.strerror or exc})")
    hint = "Check the URL, that the master is running, and that this machine can reach it."
    raise MasterUnreachable(
        f"Spark master {master.url} is not reachable: {'; '.join(errors)}. {hint}"
    )
