"""The production pipeline (prodspark.pipeline): nothing lost, gate first, atomic and idempotent.

Inputs are generated raw feeds at several seeds: the generator's manifest says how many
lines carry each defect, so the pipeline's counts are checked against ground truth, not
against numbers typed in here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType
from pyspark.testing import assertDataFrameEqual

from prodspark.datagen import generate
from prodspark.errors import ParameterError
from prodspark.pipeline import (
    EmptyInput,
    InputMissing,
    PipelineError,
    QualityGateFailed,
    Rule,
    RunMetrics,
    classify,
    cli,
    default_rules,
    delta_files,
    enrich,
    parse,
    plots,
    read_lines,
    run_pipeline,
)
from prodspark.pipeline.job import PARTITION_COLUMN, changed_records, latest_version
from prodspark.pipeline.rules import reason_counts

SCALE = 0.02  # 1,000 raw lines


def raw_feed(spark, folder: Path, seed: int, scale: float = SCALE) -> tuple[Path, dict]:
    generate(spark, folder, scale=scale, seed=seed, datasets=("raw_transactions",), progress=lambda line: None)
    manifest = json.loads((folder / "raw_transactions_manifest.json").read_text())
    return folder / "raw_transactions", manifest


@pytest.fixture(scope="module")
def feeds(spark, tmp_path_factory):
    """Raw feeds generated at three seeds: {seed: (path, manifest)}."""
    return {seed: raw_feed(spark, tmp_path_factory.mktemp(f"raw-seed-{seed}"), seed) for seed in (1, 2, 3)}


def table_state(spark, path: Path) -> tuple[int | None, list]:
    """The table's version and its content (every row, sorted), to compare before and after."""
    rows = spark.read.format("delta").load(str(path)).drop("run_id").collect()
    return latest_version(spark, str(path)), sorted(tuple(row) for row in rows)


def write_lines(folder: Path, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def record(transaction_id="T1", amount=12.5, date="2024-03-02", **fields) -> str:
    base = {"transaction_id": transaction_id, "customer_id": "C1", "merchant_id": "M1", "amount": amount,
            "currency": "USD", "transaction_date": date, "merchant_category": "grocery", "channel": "online"}
    return json.dumps({**base, **fields})


@pytest.mark.full  # whole pipeline runs at three seeds: the full suite (the quick tier stays within 3 min)
@pytest.mark.parametrize("seed", (1, 2, 3))
def test_nothing_is_lost_and_every_quarantined_record_has_its_reason(spark, feeds, seed, tmp_path):
    path, manifest = feeds[seed]
    metrics = run_pipeline(spark, path, tmp_path / "table", tmp_path / "quarantine", run_id=f"seed-{seed}")
    assert metrics.records_in == manifest["total_lines"] == spark.read.text(str(path)).count()
    assert metrics.records_in == metrics.accepted + metrics.quarantined_total and metrics.balanced
    # each reason's count is the generator's own count of that defect
    assert metrics.accepted == manifest["clean_lines"]
    assert {r: n for r, n in metrics.quarantined.items() if n} == {d: n for d, n in manifest["defects"].items() if n}
    assert spark.read.format("delta").load(str(tmp_path / "table")).count() == metrics.accepted
    quarantine = spark.read.format("delta").load(str(tmp_path / "quarantine"))
    assert quarantine.count() == metrics.quarantined_total
    assert quarantine.where(F.col("reason").isNull() | F.col("raw_record").isNull()
                            | F.col("source_file").isNull()).count() == 0


@pytest.mark.full  # a whole pipeline run
def test_enriched_records_are_typed(spark, feeds, tmp_path):
    path, _ = feeds[1]
    run_pipeline(spark, path, tmp_path / "table", tmp_path / "quarantine", run_id="types")
    table = spark.read.format("delta").load(str(tmp_path / "table"))
    types = dict((field.name, field.dataType) for field in table.schema.fields)
    assert isinstance(types["transaction_date"], DateType) and isinstance(types[PARTITION_COLUMN], DateType)
    assert isinstance(types["is_weekend"], BooleanType)
    wrong = table.where(
        (F.col(PARTITION_COLUMN) != F.trunc("transaction_date", "month"))
        | (F.col("is_weekend") != F.dayofweek("transaction_date").isin(1, 7))
        | ~F.col("amount_bucket").isin("small", "medium", "large")
        | ((F.col("amount") < 50) != (F.col("amount_bucket") == "small")))
    assert wrong.count() == 0
    assert sorted(p.name for p in (tmp_path / "table").iterdir() if p.name.startswith("month="))[0] == \
        "month=2024-01-01"  # real dates in the folder names, not timestamps


@pytest.mark.full  # a whole pipeline run or two: the full suite (the quick tier stays within 3 min)
def test_a_rerun_of_the_same_input_changes_nothing(spark, feeds, tmp_path):
    path, _ = feeds[2]
    table, quarantine = tmp_path / "table", tmp_path / "quarantine"
    first = run_pipeline(spark, path, table, quarantine, run_id="2024-07-01")
    before = table_state(spark, table)
    again = run_pipeline(spark, path, table, quarantine, run_id="2024-07-01")
    assert first.committed and not again.committed and again.rows_inserted == again.rows_updated == 0
    assert table_state(spark, table) == before
    # the quarantine keeps one copy of the run's rejected records, not two
    assert spark.read.format("delta").load(str(quarantine)).count() == first.quarantined_total


@pytest.mark.full
def test_new_records_are_inserted_and_changed_ones_updated(spark, tmp_path):
    table, quarantine = tmp_path / "table", tmp_path / "quarantine"
    first = write_lines(tmp_path / "day1", [record("T1"), record("T2", amount=20)])
    second = write_lines(tmp_path / "day2", [record("T1"), record("T2", amount=25), record("T3")])
    run_pipeline(spark, first, table, quarantine, run_id="day1")
    metrics = run_pipeline(spark, second, table, quarantine, run_id="day2")
    assert (metrics.rows_inserted, metrics.rows_updated) == (1, 1)
    rows = {r["transaction_id"]: float(r["amount"]) for r in spark.read.format("delta").load(str(table)).collect()}
    assert rows == {"T1": 12.5, "T2": 25.0, "T3": 12.5}


@pytest.mark.full  # a whole pipeline run or two: the full suite (the quick tier stays within 3 min)
def test_a_failed_gate_leaves_the_table_as_it_was(spark, feeds, tmp_path):
    path, manifest = feeds[3]
    table, quarantine = tmp_path / "table", tmp_path / "quarantine"
    run_pipeline(spark, path, table, quarantine, run_id="good")
    before = table_state(spark, table)
    dirty = write_lines(tmp_path / "dirty", [record("T9"), record("T10", amount=-1), "{broken"])
    with pytest.raises(QualityGateFailed) as failed:
        run_pipeline(spark, dirty, table, quarantine, run_id="dirty", min_quality=0.9)
    assert "1 of 3 records valid (33.33%), below the minimum of 90.00%" in str(failed.value)
    assert failed.value.metrics.table_version == before[0]
    assert table_state(spark, table) == before
    kept = spark.read.format("delta").load(str(quarantine)).where("run_id = 'dirty'")
    assert sorted(r["reason"] for r in kept.collect()) == ["malformed_json", "non_positive_amount"]


def test_odd_lines_are_quarantined_not_dropped(spark, tmp_path):
    lines = ["", "   ", "[1, 2]", "42", "null", '{"transaction_id": "T5"', record("T6", amount="lots"),
             record("T7", date="2024-02-30"), record("T8", date="03/01/2024"), "{}", record("T9"), record("T9")]
    classified = classify(parse(read_lines(spark, write_lines(tmp_path / "odd", lines))))
    assert reason_counts(classified) == {"malformed_json": 6, "wrong_type": 1, "impossible_date": 1,
                                         "unparseable_date": 1, "missing_transaction_id": 1, "duplicate": 1,
                                         None: 1}


def test_an_added_rule_gets_its_own_reason(spark, tmp_path):
    rule = Rule("unknown_currency", "not a currency the business accepts",
                ~F.coalesce(F.col("currency").isin("USD", "EUR"), F.lit(False)))
    lines = [record("T1"), record("T2", currency="XYZ"), record("T3", currency=None)]
    classified = classify(parse(read_lines(spark, write_lines(tmp_path / "cur", lines))), default_rules() + (rule,))
    assert reason_counts(classified) == {None: 1, "unknown_currency": 2}


def test_empty_and_missing_inputs_end_with_a_message(spark, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyInput, match="holds no records"):
        run_pipeline(spark, empty, tmp_path / "t", tmp_path / "q", run_id="x")
    with pytest.raises(InputMissing, match="does not exist"):
        run_pipeline(spark, tmp_path / "nowhere", tmp_path / "t", tmp_path / "q", run_id="x")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("kwargs,message", [
    ({"min_quality": 1.5}, "min_quality must be a number from 0 to 1"),
    ({"min_quality": "high"}, "min_quality must be a number from 0 to 1"),
    ({"run_id": "x'; DROP"}, "run_id must be 1 to 64 letters"),
    ({"rules": lambda: [F.lit(True)]}, "each rule must be a Rule"),
    ({"rules": lambda: [Rule("duplicate", "", F.lit(True))]}, "repeated or reserved: duplicate"),
])
def test_bad_pipeline_parameters_are_named(spark, kwargs, message, tmp_path):
    kwargs = {key: value() if callable(value) else value for key, value in kwargs.items()}  # Columns need Spark
    with pytest.raises(ParameterError, match=message):
        run_pipeline(spark, tmp_path, tmp_path / "t", tmp_path / "q", **kwargs)


@pytest.mark.parametrize("argv,message", [
    (["--table", "t", "--quarantine", "q"], "the following arguments are required: --input"),
    (["--input", "i", "--table", "t", "--quarantine", "q", "--fast"], "unrecognized arguments: --fast"),
    (["--input", "i", "--table", "t", "--quarantine", "q", "--min-quality", "1.5"], "must be from 0 to 1"),
    (["--input", "i", "--table", "t", "--quarantine", "q", "--min-quality", "most"], "must be a number from 0 to 1"),
    (["--input", "i", "--table", "t", "--quarantine", "q", "--run-id", "a b"], "run_id must be 1 to 64"),
])
def test_bad_arguments_exit_with_2_and_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.full
def test_the_command_reports_metrics_and_exit_codes(spark, feeds, tmp_path, capsys):
    path, manifest = feeds[1]
    base = ["--table", str(tmp_path / "t"), "--quarantine", str(tmp_path / "q"), "--master", "local[2]"]
    assert cli.main(["--input", str(tmp_path / "nowhere"), *base]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["--input", str(path), *base, "--min-quality", "0.999"]) == 3
    assert "quality gate failed" in capsys.readouterr().err
    assert cli.main(["--input", str(path), *base, "--run-id", "cli"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["records_in"] == manifest["total_lines"] and metrics["balanced"] and metrics["committed"]
    assert spark.sparkContext._jsc is not None, "the command must not stop a session it did not start"


def spark_submit_env() -> dict:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    return env


@pytest.mark.extended  # lesson 05 runs the printed command locally in the full suite; here, on a cluster
def test_spark_submit_on_a_standalone_cluster(spark, feeds, standalone_cluster, tmp_path):
    path, manifest = feeds[2]
    table = tmp_path / "table"
    command = cli.submit_command(standalone_cluster.master_url, str(path), str(table), str(tmp_path / "q"),
                                 run_id="submitted", spark_submit=cli.spark_submit_path())
    done = subprocess.run(command, capture_output=True, text=True, env=spark_submit_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    assert metrics["records_in"] == manifest["total_lines"] and metrics["balanced"]
    assert spark.read.format("delta").load(str(table)).count() == manifest["clean_lines"]


def new_data_files(table: Path, known: set[Path]) -> list[Path]:
    return [p for p in table.rglob("*.parquet") if p not in known]


@pytest.mark.extended  # lesson 05 shows a task failing before the commit in the full suite; here, a SIGKILL
def test_a_job_killed_while_writing_leaves_the_previous_version(spark, feeds, tmp_path):
    """SIGKILL the job once its first new data files appear: no commit, so readers see the old version."""
    first, _ = feeds[1]
    bigger, _ = raw_feed(spark, tmp_path / "bigger", seed=5, scale=1.0)  # every record differs: a big MERGE
    for attempt in range(3):  # a kill that lands after the commit proves nothing: try again
        table, quarantine = tmp_path / f"table-{attempt}", tmp_path / f"quarantine-{attempt}"
        run_pipeline(spark, first, table, quarantine, run_id="before")
        before = table_state(spark, table)
        known = set(table.rglob("*.parquet"))
        command = [sys.executable, "-m", "prodspark.pipeline", "--input", str(bigger), "--table", str(table),
                   "--quarantine", str(quarantine), "--master", "local[2]", "--run-id", "killed"]
        job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=spark_submit_env(), start_new_session=True)
        deadline = time.monotonic() + 300
        while not new_data_files(table, known) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(job.pid, signal.SIGKILL)  # the Python driver and its JVM
        job.wait()
        if latest_version(spark, str(table)) == before[0]:
            break
    else:
        pytest.fail("the job committed before it could be killed, three times")
    assert new_data_files(table, known), "the job was killed before it wrote any file"
    assert table_state(spark, table) == before
    DeltaTable.forPath(spark, str(table)).toDF().count()  # the table still reads



# --------------------------------------------------------------------------- the command as printed
def test_the_printed_command_runs_as_printed():
    """Absolute paths, every value in full, and a shell splits the text into exactly the argv."""
    args = cli.submit_command("local[2]", "/data/raw feed", "/tables/payments", "/tables/quarantine",
                              min_quality=0.9, run_id="r1", spark_submit=cli.spark_submit_path())
    printed = cli.printed_command(args)
    cli.check_printed_command(printed, args)
    assert shlex.split(printed.replace("\\\n", " ")) == args
    assert "…" not in printed and "<" not in printed and "file://." not in printed and "$HOME" not in printed
    conf = dict(arg.split("=", 1) for arg in args[1 + args.index("--conf"):args.index(str(cli.MAIN))]
                if "=" in arg and not arg.startswith("--"))
    local_paths = [args[0], str(cli.MAIN), conf["spark.local.dir"], conf["spark.jars.ivy"],
                   conf["spark.pyspark.python"], conf["spark.driver.extraJavaOptions"].split("file:", 1)[1]]
    assert all(Path(path).is_absolute() and Path(path).exists() for path in local_paths if "ivy" not in path)
    assert Path(conf["spark.jars.ivy"]).is_absolute()
    assert len(conf["spark.jars.excludes"].split(",")) > 1  # the whole list, not a summary
    with pytest.raises(ParameterError, match="not the one that runs"):
        cli.check_printed_command(printed.replace("'local[2]'", "local[2] x"), args)


def test_a_command_that_runs_too_long_is_stopped_with_everything_it_started():
    child = "import time; time.sleep(120)"
    parent = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', {child!r}]); "
              "print(p.pid, flush=True); time.sleep(120)")
    started = time.monotonic()
    with pytest.raises(PipelineError, match="did not finish within 2 s and was stopped"):
        cli.run_command([sys.executable, "-c", parent], timeout=2)
    assert time.monotonic() - started < 60
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            assert proc.info["cmdline"] != [sys.executable, "-c", child] or proc.status() == psutil.STATUS_ZOMBIE


def test_a_command_and_its_metrics_line():
    done = cli.run_command([sys.executable, "-c", "print('log'); print('{\"records_in\": 3}')"])
    assert done.returncode == 0 and cli.metrics_line(done.stdout) == {"records_in": 3}
    with pytest.raises(ParameterError, match="not its metrics as JSON"):
        cli.metrics_line("no metrics here\n")
    with pytest.raises(ParameterError, match="not its metrics as JSON"):
        cli.metrics_line("")
    with pytest.raises(ParameterError, match="non-empty list of strings"):
        cli.run_command("spark-submit --version")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="positive number of seconds"):
        cli.run_command([sys.executable, "-c", "pass"], timeout=0)


# --------------------------------------------------------------------------- files and the log
@pytest.mark.full  # Delta writes
def test_a_write_that_fails_in_a_task_leaves_files_no_commit_names(spark, tmp_path):
    table = tmp_path / "table"
    spark.range(0, 400, 1, 4).write.format("delta").save(str(table))
    assert delta_files.data_files(table) == delta_files.logged_files(table) and delta_files.data_files(table)
    before = delta_files.data_files(table)
    doomed = spark.range(0, 400, 1, 4).withColumn(
        "id", F.when(F.spark_partition_id() == 3, F.raise_error(F.lit("boom"))).otherwise(F.col("id")))
    with pytest.raises(Exception, match="boom"):
        doomed.write.format("delta").mode("overwrite").save(str(table))
    left = delta_files.data_files(table) - before
    assert left, "the tasks that finished wrote their files"
    assert not left & delta_files.logged_files(table)
    assert delta_files.total_bytes(table, left) > 0
    assert latest_version(spark, str(table)) == 0 and spark.read.format("delta").load(str(table)).count() == 400


def test_delta_files_name_a_folder_that_is_not_a_table(tmp_path):
    with pytest.raises(ParameterError, match="is not a Delta table"):
        delta_files.data_files(tmp_path)
    with pytest.raises(ParameterError, match="local folder of a Delta table"):
        delta_files.logged_files("s3a://bucket/table")


# --------------------------------------------------------------------------- metrics read back
def test_a_runs_metrics_line_reads_back_and_one_that_does_not_add_up_is_refused():
    metrics = RunMetrics(run_id="r", input="in", records_in=10, accepted=7,
                         quarantined={"malformed_json": 2, "duplicate": 1}, min_quality=0.5, gate_passed=True,
                         rows_inserted=7, table_version=0, committed=True, seconds=1.5)
    line = json.loads(metrics.to_json())
    assert RunMetrics.from_dict(line) == metrics
    with pytest.raises(ParameterError, match="do not add up"):
        RunMetrics.from_dict({**line, "accepted": 8})  # 8 + 3 quarantined is not 10 records in
    with pytest.raises(ParameterError, match="lack accepted, records_in"):
        RunMetrics.from_dict({"run_id": "r", "input": "in", "quarantined": {}, "min_quality": 0.5})
    with pytest.raises(ParameterError, match="as a dict"):
        RunMetrics.from_dict(metrics.to_json())


# --------------------------------------------------------------------------- the plot
def test_the_quarantine_plot_has_a_labelled_bar_per_reason():
    metrics = RunMetrics(run_id="r", input="in", records_in=10, accepted=7,
                         quarantined={"malformed_json": 2, "wrong_type": 0, "duplicate": 1}, min_quality=0.5)
    figure = plots.quarantine_reasons(metrics)
    axis = figure.axes[0]
    assert [tick.get_text() for tick in axis.get_yticklabels()] == ["malformed_json", "wrong_type", "duplicate"]
    assert [patch.get_width() for patch in axis.patches] == [2, 0, 1]
    assert [text.get_text() for text in axis.texts] == ["2", "0", "1"]
    with pytest.raises(ParameterError, match="RunMetrics"):
        plots.quarantine_reasons({"malformed_json": 2})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the lesson's load, by hand
LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "05_production_pipeline.ipynb"
LOAD_TAG = "load-by-hand"


def lesson_load(spark) -> dict:
    """The functions the lesson writes for its load (the cell tagged load-by-hand), run here."""
    import nbformat

    cells = [cell for cell in nbformat.read(LESSON, as_version=4).cells if LOAD_TAG in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"the lesson has one cell tagged {LOAD_TAG}"
    namespace: dict = {"spark": spark, "F": F}
    exec(cells[0].source, namespace)
    return namespace


@pytest.mark.full  # four small pipeline loads
def test_the_lessons_load_gives_the_packages_tables(spark, tmp_path):
    lesson = lesson_load(spark)
    day1 = write_lines(tmp_path / "day1", [record("T1"), record("T2", amount=20), record("T4", amount=-1)])
    day2 = write_lines(tmp_path / "day2", [record("T1"), record("T2", amount=25), record("T3"),
                                           record("T4", amount=-2), "{cut"])
    for side in ("package", "lesson"):
        run_pipeline(spark, day1, tmp_path / side / "t", tmp_path / side / "q", run_id="day1", min_quality=0)
    package, lesson_side = tmp_path / "package", tmp_path / "lesson"
    # the package's second day
    run_pipeline(spark, day2, package / "t", package / "q", run_id="day2", min_quality=0)
    # the lesson's lines on the same input, twice (a retry), as the pipeline would call them
    classified = classify(parse(read_lines(spark, day2)))
    batch = enrich(classified.where(F.col("reason").isNull()), "day2")
    rejected = classified.where(F.col("reason").isNotNull()).select(F.lit("day2").alias("run_id"), "reason",
                                                                    "raw_record", "source_file")
    assertDataFrameEqual(lesson["new_or_changed"](batch, str(lesson_side / "t")),
                         changed_records(spark, batch, str(lesson_side / "t")))
    for _ in range(2):
        changes = lesson["new_or_changed"](batch, str(lesson_side / "t"))
        if not changes.isEmpty():
            lesson["merge_changes"](changes, str(lesson_side / "t"))
        lesson["replace_quarantine"](rejected, str(lesson_side / "q"), "day2")
    for name in ("t", "q"):
        assertDataFrameEqual(spark.read.format("delta").load(str(lesson_side / name)),
                             spark.read.format("delta").load(str(package / name)))
    assert latest_version(spark, str(lesson_side / "t")) == latest_version(spark, str(package / "t")) == 1
