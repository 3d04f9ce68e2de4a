"""The pipeline as a command: ``spark-submit`` it, or run it with ``python -m prodspark.pipeline``.

    spark-submit --master spark://127.0.0.1:7077 --packages io.delta:... \\
        --conf spark.jars.ivy=$HOME/.ivy2.5.2 \\
        prodspark/pipeline/__main__.py --input raw/ --table tables/payments \\
        --quarantine tables/quarantine --min-quality 0.9 --run-id 2024-07-01

Logs go to stderr (under spark-submit, which merges the Python driver's stderr into its own
stdout, they come out on stdout); the last line on stdout is the run's metrics as JSON, for
a scheduler to read. Exit codes: 0 done, 2 bad arguments or a missing input, 3 quality gate failed,
4 empty input.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from prodspark.errors import CourseError, ParameterError
from prodspark.pipeline.job import PipelineError
from prodspark.processes import stop_process_tree
from prodspark.submit import folded

APP_NAME = "payments-pipeline"
MAIN = Path(__file__).resolve().with_name("__main__.py")
EXIT_CODES = {"done": 0, "bad arguments or missing input": 2, "quality gate failed": 3, "empty input": 4}


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, such as 0.95; got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1 (a share of valid records), got {text}")
    return value


def _run_id(text: str) -> str:
    from prodspark.pipeline.job import check_run_id

    try:
        return check_run_id(text)
    except CourseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payments-pipeline",
        description="Load raw JSON Lines payments into a Delta table, quarantining invalid records.",
        epilog="Exit codes: " + ", ".join(f"{code} {what}" for what, code in EXIT_CODES.items()) + ".",
    )
    parser.add_argument("--input", required=True, help="folder or file of JSON Lines (any Hadoop path or URI)")
    parser.add_argument("--table", required=True, help="the target Delta table's path")
    parser.add_argument("--quarantine", required=True, help="the quarantine Delta table's path")
    parser.add_argument("--min-quality", type=_ratio, default=0.90,
                        help="the least share of valid records, from 0 to 1 (default 0.90)")
    parser.add_argument("--run-id", type=_run_id, default=None, help="this run's id (default: today's UTC date)")
    parser.add_argument("--master", default=None,
                        help="Spark master URL when run with python (spark-submit sets its own)")
    return parser


def _session(master: str | None):
    """spark-submit's session when launched by it, else the course's session on ``master``."""
    if os.environ.get("PYSPARK_GATEWAY_PORT") and master is None:  # started by spark-submit
        from pyspark.sql import SparkSession

        return SparkSession.builder.appName(APP_NAME).getOrCreate()
    from prodspark.session import start_spark

    return start_spark(master=master, app_name=APP_NAME)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits with 2 and a message on a bad argument

    from prodspark.pipeline.job import PipelineError, run_pipeline

    def log(message: str) -> None:
        print(f"[{APP_NAME}] {message}", file=sys.stderr, flush=True)

    from pyspark.sql import SparkSession

    already_running = SparkSession.getActiveSession()
    try:
        spark = _session(args.master)
    except CourseError as exc:
        log(f"error: {exc}")
        return 2
    try:
        metrics = run_pipeline(spark, args.input, args.table, args.quarantine,
                               min_quality=args.min_quality, run_id=args.run_id, log=log)
    except PipelineError as exc:
        log(f"error: {exc}")
        if exc.metrics is not None:
            print(exc.metrics.to_json(), flush=True)
        return exc.exit_code
    except CourseError as exc:
        log(f"error: {exc}")
        return 2
    finally:
        if spark is not already_running:  # a session this command started (not a notebook's)
            spark.stop()
    print(metrics.to_json(), flush=True)
    return 0


def submit_command(master: str, input_path: str, table: str, quarantine: str, *,
                   min_quality: float = 0.90, run_id: str | None = None,
                   spark_submit: str = "spark-submit") -> list[str]:
    """The ``spark-submit`` arguments that run the pipeline on ``master``, with Delta Lake.

    The job uses DataFrame operations only (no Python on executors), so executors need
    nothing but Spark and Delta's jars, which ``--packages`` ships to them. spark-submit
    resolves them into the course's Ivy folder (``spark.jars.ivy``, from the course's settings).
    """
    from prodspark import masters
    from prodspark.session import course_conf

    parsed = masters.parse_master(master)
    settings = course_conf(parsed, delta=True, event_log_dir=None)
    settings["spark.pyspark.python"] = sys.executable
    args = [spark_submit, "--master", parsed.url, "--name", APP_NAME]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    args += [str(MAIN), "--input", str(input_path), "--table", str(table), "--quarantine", str(quarantine),
             "--min-quality", str(min_quality)]
    return args + (["--run-id", run_id] if run_id else [])


def spark_submit_path() -> str:
    """The ``spark-submit`` script of the installed PySpark."""
    import pyspark

    return str(Path(pyspark.__file__).resolve().parent / "bin" / "spark-submit")


def printed_command(args: list[str]) -> str:
    """The command as a shell reads it, folded one option per line: every value in full, every path
    as given (absolute, for a command pasted into any folder). ``shlex.split`` of the text gives
    ``args`` back; :func:`check_printed_command` proves it. The application starts its own line."""
    if str(MAIN) in args[1:]:
        at = args.index(str(MAIN), 1)
        return folded(args[:at]) + " \\\n    " + folded(args[at:])
    return folded(args)


def check_printed_command(printed: str, args: list[str]) -> None:
    """Raise :class:`ParameterError` unless a shell would run ``printed`` as exactly ``args``."""
    if shlex.split(printed.replace("\\\n", " ")) != args:
        raise ParameterError("the printed command is not the one that runs: a shell would split it differently.")


def run_command(args: list[str], timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
    """Run a command as a scheduler would: wait for its exit code, keep stdout and stderr.

    On a timeout the command and every process it started (spark-submit's JVM, the Python
    driver) are stopped by process id, so nothing outlives the caller.
    """
    if not isinstance(args, list) or not args or not all(isinstance(arg, str) for arg in args):
        raise ParameterError(f"args must be a non-empty list of strings (a command's argv), got {args!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    job = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_tree(job.pid)
        stdout, stderr = job.communicate()
        raise PipelineError(f"{args[0]} did not finish within {timeout:g} s and was stopped.\n"
                            + stderr[-2000:]) from None
    return subprocess.CompletedProcess(args, job.returncode, stdout, stderr)


def metrics_line(stdout: str) -> dict:
    """The run's metrics: the JSON object on the last line of the command's stdout."""
    lines = stdout.strip().splitlines()
    try:
        metrics = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        metrics = None
    if not isinstance(metrics, dict):
        raise ParameterError(f"the command's last line of output is not its metrics as JSON: {lines[-1:]!r}.")
    return metrics


def shown_command(args: list[str]) -> str:
    """The command folded one option per line, the course's folder shown as ``.``, an Ivy folder
    in the home folder as ``$HOME/...`` (the command still runs when pasted into a shell), and
    the long list of jars Spark already ships (``spark.jars.excludes``) shortened."""
    from prodspark.paths import REPO_ROOT
    from prodspark.submit import folded

    excludes, ivy = "spark.jars.excludes=", "spark.jars.ivy="
    short = [f"{excludes}<{len(arg.split(','))} libraries Spark already ships>" if arg.startswith(excludes) else arg
             for arg in args]
    shown = folded(short)
    home = os.environ.get("HOME", "").rstrip("/")
    for arg in short:
        folder = Path(arg[len(ivy):]) if arg.startswith(ivy) else None
        if (folder is not None and home and shlex.quote(arg) == arg
                and folder.is_relative_to(home) and not folder.is_relative_to(REPO_ROOT)):
            shown = shown.replace(arg, f"{ivy}$HOME/{folder.relative_to(home).as_posix()}")
    return shown.replace(REPO_ROOT.as_uri(), "file://.").replace(str(REPO_ROOT), ".")
