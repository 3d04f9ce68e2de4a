"""The ``prodspark`` command: set-up helpers, data, exercises, progress and benchmarks.

    prodspark check                      is this machine ready?
    prodspark kernel                     register the course's Jupyter kernel
    prodspark fetch-jars                 fetch Delta Lake's jars and prove Delta works
    prodspark class-archive              write the class-data archive of lesson 01's small application
    prodspark data --scale 1 --seed 42   generate the course's datasets
    prodspark exercises [--check]        regenerate exercises/ from solutions/
    prodspark progress [FOLDER]          which exercises your notebooks solve, and what is next
    prodspark hint EXERCISE              a hint for one exercise, e.g. prodspark hint 04.1
    prodspark grade SUBMISSIONS          a table of who solved what (one folder per learner)
    prodspark benchmark [NOTEBOOK ...]   per-notebook execution times
    prodspark cluster start|status|stop  a standalone Spark cluster on 127.0.0.1
    prodspark history start|status|stop  Spark's History Server over the course's event logs
    prodspark services status|stop       every process the course started (cluster, History Server, Prometheus)
    prodspark execute NOTEBOOK ...       run notebooks in place (refresh committed outputs)
    prodspark clean                      remove generated data and scratch files
    prodspark dev check|readme           maintainers: the course's files agree with course.toml
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from prodspark import paths
from prodspark.errors import CourseError


def _positive_float(text: str) -> float:
    from prodspark.params import check_scale

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale must be a positive number such as 1 or 0.5, got {text!r}") from None
    try:
        return check_scale(value)
    except CourseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be a whole number 0 or more, got {text!r}")
    return value


def cmd_check(args) -> int:
    from prodspark.envcheck import environment_report

    report = environment_report()
    print(report)
    return 0 if report.ready else 1


def cmd_kernel(args) -> int:
    from prodspark.install import install_kernel

    print(f"Registered the kernel in {install_kernel()}")
    return 0


def cmd_fetch_jars(args) -> int:
    from prodspark.install import fetch_jars

    fetch_jars()
    return 0


def cmd_class_archive(args) -> int:
    from prodspark.engines_spill import prepare_class_archive

    prepare_class_archive()
    return 0


def cmd_data(args) -> int:
    from prodspark.datagen import DATASETS, ensure_generated, generate
    from prodspark.params import check_parameters
    from prodspark.session import start_spark

    params = check_parameters(scale=args.scale, seed=args.seed, master=args.master, data_dir=args.data_dir)
    spark = start_spark(master=params.master, app_name="generate-data", delta=False)
    try:
        if args.if_missing and not args.only:
            ensure_generated(spark, params.data_dir, scale=params.scale, seed=params.seed)
        else:
            generate(spark, params.data_dir, scale=params.scale, seed=params.seed,
                     datasets=tuple(args.only or DATASETS))
    finally:
        spark.stop()
    print(f"Data is in {params.data_dir}")
    return 0


def cmd_samples(args) -> int:
    from prodspark.datagen import write_samples
    from prodspark.session import start_spark

    spark = start_spark(master="local[2]", app_name="write-samples", delta=False)
    try:
        write_samples(spark, paths.REPO_ROOT / "datasets" / "samples")
    finally:
        spark.stop()
    return 0


def cmd_exercises(args) -> int:
    from prodspark.exercises.generate import sync

    changed = sync(paths.REPO_ROOT / "solutions", paths.REPO_ROOT / "exercises", write=not args.check)
    if args.check:
        if changed:
            print("Out of date (run `prodspark exercises`): " + ", ".join(changed))
            return 1
        print("exercises/ matches solutions/.")
        return 0
    print("Regenerated: " + ", ".join(changed) if changed else "exercises/ was already up to date.")
    return 0


def cmd_progress(args) -> int:
    from prodspark.exercises.progress import folder_progress, format_progress

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"{folder} is not a folder of notebooks.", file=sys.stderr)
        return 2
    print(format_progress(folder_progress(folder, execute=args.execute)))
    return 0


def cmd_hint(args) -> int:
    from prodspark.exercises import hint
    from prodspark.exercises.core import Verdict

    given = hint(args.exercise)
    if isinstance(given, Verdict):  # an unknown exercise
        print(given.message, file=sys.stderr)
        return 2
    print(repr(given))
    return 0


def cmd_dev(args) -> int:
    from prodspark import devcheck

    if args.action == "readme":
        changed = devcheck.write_readme()
        print("README.md's module table rewritten from course.toml." if changed
              else "README.md's module table already matches course.toml.")
        return 0
    problems = devcheck.check_course()
    for problem in problems:
        print(f"- {problem}")
    if problems:
        print(f"{len(problems)} problem(s): the course's files do not agree with course.toml.")
        return 1
    from prodspark.course import course

    listed = course()
    print(f"course.toml, notebooks, checks, wrong-answer tables and README agree: "
          f"{len(listed.available)} modules available, {len(listed.exercises)} exercises.")
    return 0


def cmd_grade(args) -> int:
    from prodspark.exercises.progress import grade

    folder = Path(args.submissions)
    if not folder.is_dir():
        print(f"{folder} is not a folder (expected one sub-folder of notebooks per learner).", file=sys.stderr)
        return 2
    table = grade(folder, execute=args.execute)
    if table.empty:
        print(f"No learner folders in {folder}.")
        return 1
    print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"Saved {args.csv}")
    return 0


def cmd_benchmark(args) -> int:
    from prodspark.benchmark import format_table, time_notebook

    notebooks = [Path(p) for p in args.notebooks] or sorted(
        [*(paths.REPO_ROOT / "notebooks").glob("*.ipynb"), *(paths.REPO_ROOT / "solutions").glob("*.ipynb")]
    )
    timings = []
    for notebook in notebooks:
        print(f"running {notebook} ...", flush=True)
        timings.append(time_notebook(notebook))
    print(format_table(timings))
    return 1 if any(t.error for t in timings) else 0


def cmd_execute(args) -> int:
    """Run notebooks top to bottom in the course kernel and save them with their outputs."""
    import nbformat
    from nbclient import NotebookClient

    from prodspark.envcheck import KERNEL_NAME
    from prodspark.timing import Timer

    for name in args.notebooks:
        path = Path(name).resolve()
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(notebook, timeout=900, kernel_name=KERNEL_NAME,
                                resources={"metadata": {"path": str(path.parent)}})
        with Timer() as timer:
            client.execute()
        nbformat.write(notebook, path)
        print(f"{name}: executed in {timer.seconds:.0f} s and saved")
    return 0


def cmd_cluster(args) -> int:
    from prodspark import cluster

    if args.action == "start":
        cluster.start_cluster(workers=args.workers, cores=args.cores, memory=args.memory,
                              port=args.port, webui_port=args.webui_port)
    elif args.action == "stop":
        cluster.stop_cluster()
    else:
        print(cluster.cluster_status())
    return 0


def cmd_history(args) -> int:
    from prodspark import history_server

    if args.action == "start":
        history_server.start_history_server(log_dir=Path(args.log_dir) if args.log_dir else None, port=args.port)
    elif args.action == "stop":
        history_server.stop_history_server()
    else:
        print(history_server.history_status())
    return 0


def cmd_services(args) -> int:
    from prodspark import services

    if args.action == "stop":
        services.stop_all()
    else:
        print(services.status())
    return 0


def cmd_clean(args) -> int:
    from prodspark import services

    home = paths.course_home()
    if home.exists():
        services.stop_all(progress=lambda line: None)  # their records are about to go: stop them first
        shutil.rmtree(home)
        print(f"Removed {home}")
    else:
        print(f"Nothing to remove ({home} does not exist).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodspark", description="Production Spark course tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("check", help="is this machine ready for the course?").set_defaults(run=cmd_check)
    sub.add_parser("kernel", help="register the course's Jupyter kernel").set_defaults(run=cmd_kernel)
    sub.add_parser("fetch-jars", help="fetch Delta Lake's jars into the local cache").set_defaults(run=cmd_fetch_jars)
    sub.add_parser("class-archive", help="write the class-data archive of lesson 01's small spark-submit "
                   "application, so that its first run starts fast").set_defaults(run=cmd_class_archive)

    data = sub.add_parser("data", help="generate the course's datasets with Spark")
    data.add_argument("--scale", type=_positive_float, default=1.0, help="1 = 200,000 transactions (default 1)")
    data.add_argument("--seed", type=_seed, default=42, help="same seed, same data (default 42)")
    data.add_argument("--master", default="local[*]", help="Spark master URL (default local[*])")
    data.add_argument("--data-dir", default=None, help="output folder (default .course/data)")
    data.add_argument("--only", nargs="+", metavar="DATASET", help="generate only these datasets")
    data.add_argument("--if-missing", action="store_true",
                      help="keep data already generated with the same scale and seed")
    data.set_defaults(run=cmd_data)

    sub.add_parser("samples", help="rewrite the small samples in datasets/samples").set_defaults(run=cmd_samples)

    exercises = sub.add_parser("exercises", help="regenerate exercises/ from solutions/")
    exercises.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    exercises.set_defaults(run=cmd_exercises)

    progress = sub.add_parser("progress", help="which exercises a folder of notebooks solves")
    progress.add_argument("folder", nargs="?", default=str(paths.REPO_ROOT / "exercises"))
    progress.add_argument("--execute", action="store_true", help="run the notebooks first (slow)")
    progress.set_defaults(run=cmd_progress)

    hints = sub.add_parser("hint", help="a hint for one exercise (it guides, it does not give the answer)")
    hints.add_argument("exercise", help="the exercise id, e.g. 04.1")
    hints.set_defaults(run=cmd_hint)

    grade = sub.add_parser("grade", help="grade a folder of submissions (one sub-folder per learner)")
    grade.add_argument("submissions")
    grade.add_argument("--execute", action="store_true", help="run each notebook before reading its verdicts")
    grade.add_argument("--csv", help="also save the table as CSV")
    grade.set_defaults(run=cmd_grade)

    bench = sub.add_parser("benchmark", help="time notebooks end to end (default: lessons and solutions)")
    bench.add_argument("notebooks", nargs="*")
    bench.set_defaults(run=cmd_benchmark)

    execute = sub.add_parser("execute", help="run notebooks in place and save their outputs (maintainers)")
    execute.add_argument("notebooks", nargs="+")
    execute.set_defaults(run=cmd_execute)

    clusters = sub.add_parser("cluster", help="start, stop or show a standalone Spark cluster on 127.0.0.1")
    clusters.add_argument("action", choices=("start", "stop", "status"))
    clusters.add_argument("--workers", type=int, default=2, help="number of workers (default 2)")
    clusters.add_argument("--cores", type=int, default=1, help="cores per worker (default 1)")
    clusters.add_argument("--memory", default="1g", help="memory per worker, e.g. 512m or 2g (default 1g)")
    clusters.add_argument("--port", type=int, default=7077, help="master port (default 7077)")
    clusters.add_argument("--webui-port", type=int, default=8080, help="master web UI port (default 8080)")
    clusters.set_defaults(run=cmd_cluster)

    history = sub.add_parser("history", help="start, stop or show Spark's History Server on 127.0.0.1")
    history.add_argument("action", choices=("start", "stop", "status"))
    history.add_argument("--port", type=int, default=None, help="web UI and REST API port (default 18080)")
    history.add_argument("--log-dir", default=None, help="the event-log folder to read (default .course/event-logs)")
    history.set_defaults(run=cmd_history)

    services = sub.add_parser("services", help="every process the course started: show them, or stop them all")
    services.add_argument("action", choices=("status", "stop"))
    services.set_defaults(run=cmd_services)

    sub.add_parser("clean", help="remove generated data and scratch files (.course/)").set_defaults(run=cmd_clean)

    dev = sub.add_parser("dev", help="maintainers: check the course against course.toml, or rewrite the README table")
    dev.add_argument("action", choices=("check", "readme"))
    dev.set_defaults(run=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
