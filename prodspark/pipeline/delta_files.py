"""A Delta table's folder next to its log: which data files no commit ever named.

A Delta write puts its Parquet files in the table's folder first and commits last, by
writing one JSON file in ``_delta_log/`` that lists them (``add`` actions). Readers see
only the files a commit lists, so a job that fails before its commit leaves files on
disk that no version refers to. ``VACUUM`` removes them once they are older than the
retention period.

    before = data_files(table)
    ...  # a write that fails
    left = data_files(table) - before
    left & logged_files(table)  # empty: no commit names them
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from prodspark.errors import ParameterError

LOG_FOLDER = "_delta_log"


def _table_folder(table: str | Path) -> Path:
    if not isinstance(table, (str, Path)) or not str(table).strip() or "://" in str(table):
        raise ParameterError(f"table must be the local folder of a Delta table, got {table!r}.")
    folder = Path(table)
    if not (folder / LOG_FOLDER).is_dir():
        raise ParameterError(f"{folder} is not a Delta table: it has no {LOG_FOLDER} folder.")
    return folder


def data_files(table: str | Path) -> set[str]:
    """The Parquet data files in the table's folder, as paths relative to it (``month=…/part-….parquet``)."""
    folder = _table_folder(table)
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*.parquet")
            if LOG_FOLDER not in path.relative_to(folder).parts}


def logged_files(table: str | Path) -> set[str]:
    """Every data file that a commit of the table's log adds, in any version (relative paths).

    Reads the commit files (``_delta_log/<version>.json``, one action per line); Delta keeps
    them for 30 days by default (``delta.logRetentionDuration``) even after a checkpoint.
    """
    folder = _table_folder(table)
    named: set[str] = set()
    for commit in sorted((folder / LOG_FOLDER).glob("*.json")):
        for line in commit.read_text(encoding="utf-8").splitlines():
            added = json.loads(line).get("add") if line.strip() else None
            if added:
                named.add(unquote(added["path"]))  # the log writes paths URL-encoded
    return named


def total_bytes(table: str | Path, files: set[str]) -> int:
    """The size on disk of some of the table's files (paths relative to the table)."""
    folder = _table_folder(table)
    return sum((folder / name).stat().st_size for name in files)
