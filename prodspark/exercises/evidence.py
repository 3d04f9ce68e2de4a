"""Evidence a check relies on must be the learner's own, from this run.

- a DataFrame must be built from the tables the exercise names, read from this notebook's
  data folder (:func:`require_sources`: the leaves of its logical plan);
- files must have been written while this Spark session ran (:func:`require_written_now`):
  output left in the folder by an earlier run proves nothing about this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prodspark import paths, plans
from prodspark.exercises.core import Context, Wrong

# File times and Spark's clock may differ by a little (file systems keep coarse times).
CLOCK_SLACK_S = 1.0


def shown_folders(folders: Iterable[Path], empty: str = "no files") -> str:
    """Folders as a learner reads them: repository-relative, sorted, comma-separated."""
    return ", ".join(sorted(paths.display_path(f) for f in folders)) or empty


def table_folder(ctx: Context, name: str) -> Path:
    return (ctx.params.data_dir / name).resolve()


def require_sources(ctx: Context, df, names: Iterable[str], what: str = "the DataFrame",
                    helpers_in_memory: bool = False) -> None:
    """``df`` reads exactly the named tables of this notebook's data folder.

    Rows held in memory (``spark.createDataFrame``) are refused too: rows collected from another
    dataset would otherwise pass. ``helpers_in_memory`` allows them beside the named tables, for an
    answer that may join a small table of its own (the salts of a salted join).
    """
    names = tuple(names)
    wanted = frozenset(table_folder(ctx, name) for name in names)
    found = plans.sources(df)
    listed = " and ".join(sorted(names))
    if found.in_memory and not helpers_in_memory:
        raise Wrong(f"{what} is built from rows held in memory ({', '.join(sorted(set(found.in_memory)))}), "
                    f"not read from the {listed} table(s) of this notebook's data: build it from them.")
    if found.tables != wanted:
        raise Wrong(f"{what} reads {shown_folders(found.tables)}; the exercise builds it from {shown_folders(wanted)} "
                    "(this notebook's data_dir).")


def session_started(ctx: Context) -> float:
    """When this Spark session started, in seconds since the epoch (Spark's own record)."""
    return ctx.spark.sparkContext.startTime / 1000


def require_written_now(ctx: Context, files: Iterable[Path], what: str) -> None:
    """Every file was written after this Spark session started."""
    started = session_started(ctx) - CLOCK_SLACK_S
    files = list(files)
    if not files:
        raise Wrong(f"{what} holds no data files.")
    stale = [f for f in files if f.stat().st_mtime < started]
    if stale:
        raise Wrong(f"{len(stale)} of the {len(files)} files of {what} were written before this Spark session "
                    "started: output left by an earlier run proves nothing. Write it again in this session.")
