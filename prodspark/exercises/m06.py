"""Checks for module 06, monitoring. Expected values are read from the learner's own application:
its REST API, frames of jobs the check runs in the learner's session, and a Prometheus server the
check starts for the answer and stops after it."""

from __future__ import annotations

import time
from collections.abc import Callable

from prodspark.exercises.core import Wrong, exercise

REPORT = "06.1 report"  # the description the exercise notebook gives the report's job
PROBLEM_ROWS = 200_000  # the jobs of 06.2 work on about this many transactions at any scale
# Runtime settings that make a window keep only 1,000 rows in memory before it spills (lesson 06).
SMALL_WINDOW_BUFFER = {"spark.sql.windowExec.buffer.in.memory.threshold": "1000",
                       "spark.sql.windowExec.buffer.spill.threshold": "1000"}
CAUSES = {"skew": "skew", "spill": "spill", "gc": "gc", "failed tasks": "failed_tasks",
          "failed_tasks": "failed_tasks"}


def _transactions(spark, data_dir):
    return spark.read.parquet(str(data_dir / "transactions"))


def report_job(spark, data_dir) -> Callable[[], None]:
    """The job of exercise 06.1: each payment's share of its merchant's revenue, then each
    customer's largest share, with a window that may keep only 1,000 rows in memory."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from prodspark.session import runtime_conf

    share = (_transactions(spark, data_dir)
             .select("customer_id", (F.col("amount") / F.sum("amount").over(Window.partitionBy("merchant_id")))
                     .alias("share"))
             .groupBy("customer_id").agg(F.max("share").alias("largest_share")))

    def run() -> None:
        with runtime_conf(spark, SMALL_WINDOW_BUFFER):
            share.write.format("noop").mode("overwrite").save()

    return run


def _api(spark):
    from prodspark.monitoring.rest import RestApi

    return RestApi.for_session(spark)


def _report_stages(ctx):
    """The stages of the learner's traced report, read again from this session's REST API."""
    from prodspark.monitoring.rest import stages_frame
    from prodspark.sparkui import Trace

    run = ctx.require("run", "the traced report", "report")
    if not isinstance(run, Trace):
        raise Wrong(f"run= must be what trace(...) returned for the report, got {type(run).__name__}.")
    if run.description != REPORT or not run.jobs:
        raise Wrong(f"run= is the trace of {run.description!r}, not of the report ({REPORT!r}): pass `report`.")
    api = _api(ctx.spark)
    ids: set[int] = set()
    for job in run.jobs:
        try:
            live = api.job(int(job["jobId"]))
        except Exception:
            live = None
        if not live or live.get("description") != REPORT or live.get("submissionTime") != job.get("submissionTime"):
            raise Wrong("run= is not a report run by this Spark session: run the report's cell again.")
        ids.update(live["stageIds"])
    stages = stages_frame(api)
    return stages[stages["stage_id"].isin(ids) & ~stages["status"].isin(["SKIPPED", "PENDING"])]


def slowest_and_cause(spark, stages) -> tuple[int, str]:
    """The longest stage of ``stages`` and the check with the most severe finding on it."""
    from prodspark.monitoring import health
    from prodspark.monitoring.rest import tasks_frame

    slowest = stages.sort_values(["duration_s", "stage_id"], ascending=[False, True]).iloc[0]
    stage_id = int(slowest["stage_id"])
    tasks = tasks_frame(_api(spark), [stage_id])
    mine = stages[stages["stage_id"] == stage_id]
    findings = health.check_stages(mine, tasks, min_stage_s=0, at_least=health.Severity.MODERATE)
    cause = findings[0].check if findings else ""
    return stage_id, cause


@exercise("06.1", expects=(tuple, list), expects_text="a tuple (stage id: int, cause: str)")
def slowest_stage(answer, ctx) -> str:
    if len(answer) != 2 or isinstance(answer[0], bool) or not isinstance(answer[0], int) \
            or not isinstance(answer[1], str):
        raise Wrong("give a pair: (the stage id as an int, the cause as a str), e.g. (7, 'gc').")
    stage_id, cause = answer
    named = CAUSES.get(cause.strip().lower())
    if named is None:
        raise Wrong(f"{cause!r} is not one of the causes: {', '.join(sorted(set(CAUSES) - {'failed_tasks'}))}.")
    stages = _report_stages(ctx)
    if stage_id not in set(stages["stage_id"]):
        raise Wrong(f"stage {stage_id} is not a stage the report ran; its stages: "
                    f"{', '.join(map(str, sorted(stages['stage_id'])))}.")
    slowest, expected = slowest_and_cause(ctx.spark, stages)
    if stage_id != slowest:
        took = float(stages.loc[stages["stage_id"] == stage_id, "duration_s"].max())
        raise Wrong(f"stage {stage_id} ran {took:.2f} s; another stage of the report ran longer.")
    if not expected:
        raise Wrong(f"stage {stage_id} is the slowest, but no check finds a cause in its metrics "
                    "in this run: run the report's cell again.")
    if named != expected:
        raise Wrong(f"stage {stage_id} is the slowest, but its metrics do not point at {cause!r}.")
    return f"stage {stage_id} is the report's slowest stage, and its metrics show {cause}."


# ------------------------------------------------------------------ 06.2: a skew check of your own
def about_rows(transactions, rows: int = PROBLEM_ROWS, seed: int = 1):
    """About ``rows`` transactions at any scale: a sample when there are more, copies when fewer."""
    count = transactions.count()
    copies = -(-rows // max(count, 1))
    spark = transactions.sparkSession
    return (transactions.crossJoin(spark.range(copies).withColumnRenamed("id", "copy"))
            .sample(fraction=min(1.0, rows / (max(count, 1) * copies)), seed=seed))


def hashed(frame, rounds: int):
    """The same work for every row: rounds of SHA-256 over its transaction id (lesson 06)."""
    from pyspark.sql import functions as F

    digest = F.col("transaction_id").cast("string")
    for round_ in range(rounds):
        digest = F.sha2(F.concat(digest, F.lit(round_)), 256)
        if round_ % 20 == 19:  # one select per 20 rounds: deeper expressions exceed the analyzer's limit
            frame, digest = frame.select(digest.alias("digest")), F.col("digest")
    return frame.select(digest.alias("digest"))


# The three jobs a skew check is run on, per application and data folder: they are run once.
_SKEW_RUNS: dict[tuple, dict] = {}


def skew_runs(spark, data_dir) -> dict[str, tuple]:
    """Frames (stages, tasks) of three real jobs in this session: ``skewed`` (long, one task with
    nearly all rows), ``small skewed`` (the same shape on 20,000 rows: too short to matter) and
    ``even`` (long, the rows spread evenly)."""
    from prodspark.monitoring.rest import stages_frame, tasks_frame
    from prodspark.sparkui import trace

    key = (spark.sparkContext.applicationId, str(data_dir))
    if key not in _SKEW_RUNS:
        rows = about_rows(_transactions(spark, data_dir)).cache()
        rows.count()
        jobs = {
            "skewed": hashed(rows.repartitionByRange(32, "status"), 40),
            "small skewed": hashed(rows.limit(20_000).repartitionByRange(32, "status"), 40),
            "even": hashed(rows.repartition(32, "transaction_id"), 60),
        }
        api = _api(spark)
        runs = {}
        for name, job in jobs.items():
            run = trace(spark, job.write.format("noop").mode("overwrite").save, f"check 06.2: {name}")
            ids = {s["stageId"] for s in run.stages if s["status"] != "SKIPPED"}
            stages = stages_frame(api)
            runs[name] = (stages[stages["stage_id"].isin(ids)].reset_index(drop=True), tasks_frame(api, ids))
        rows.unpersist()
        _SKEW_RUNS.clear()
        _SKEW_RUNS[key] = runs
    return _SKEW_RUNS[key]


SHOULD_FIRE = {"skewed": True, "small skewed": False, "even": False}
WHY = {"small skewed": "a skewed job too short to matter (well under a second per stage)",
       "even": "a long job whose rows are spread evenly over its tasks",
       "skewed": "a long job with one task holding nearly all rows"}


@exercise("06.2", expects=Callable,  # type: ignore[arg-type]
          expects_text="a function (stages, tasks) -> bool")
def skew_check(answer, ctx) -> str:
    runs = skew_runs(ctx.spark, ctx.params.data_dir)
    for name, (stages, tasks) in runs.items():
        try:
            fired = answer(stages.copy(), tasks.copy())
        except Exception as exc:  # the learner's code: report it, do not crash the notebook
            raise Wrong(f"your function raised {type(exc).__name__}: {str(exc).strip()[:200]} "
                        f"(on the frames of {WHY[name]}).") from None
        if not isinstance(fired, bool):
            raise Wrong(f"your function returned {type(fired).__name__} {fired!r}; return True or False.")
        if fired != SHOULD_FIRE[name]:
            verb = "stayed quiet on" if SHOULD_FIRE[name] else "fired on"
            raise Wrong(f"it {verb} {WHY[name]}.")
    return "it fires on the long skewed job, and stays quiet on the short skewed job and on the even one."


# ------------------------------------------------------------------ 06.3: a PromQL alert for spill
def spill_job(spark, data_dir) -> Callable[[], None]:
    """A job that spills: each payment's share of its merchant's revenue, 1,000 rows in memory."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from prodspark.session import runtime_conf

    share = _transactions(spark, data_dir).select(
        "transaction_id", (F.col("amount") / F.sum("amount").over(Window.partitionBy("merchant_id"))).alias("share"))

    def run() -> None:
        with runtime_conf(spark, SMALL_WINDOW_BUFFER):
            share.write.format("noop").mode("overwrite").save()

    return run


def clean_job(spark, data_dir) -> Callable[[], None]:
    """A job that does not spill: payments counted per channel."""
    counted = _transactions(spark, data_dir).groupBy("channel").count()
    return lambda: counted.write.format("noop").mode("overwrite").save()


SCRAPE_WAIT_S = 2.5  # Prometheus scrapes every second: wait for two scrapes after a job
FIRE_TIMEOUT_S = 15.0


def _spilled_so_far(driver_url: str) -> float:
    from prodspark.monitoring.scrape import scrape

    samples = scrape(driver_url)
    found = samples[samples["name"].str.endswith("_driver_executor_diskBytesSpilled_Count")]
    if found.empty:
        raise Wrong("the driver's /metrics/prometheus has no executor spill counter: it has one in local mode "
                    "only (the driver is the executor there); run the exercise notebook with master='local[*]'.")
    return float(found["value"].sum())


@exercise("06.3", expects=str, expects_text="a PromQL expression (str)")
def spill_alert(answer: str, ctx) -> str:
    from urllib.parse import urlsplit

    from prodspark import prometheus, services
    from prodspark.monitoring.scrape import ScrapeError, endpoints
    from prodspark.sparkui import trace

    expression = answer.strip()
    if not expression:
        raise Wrong("the expression is empty.")
    if prometheus.find_prometheus() is None:
        raise Wrong(f"this check needs a real Prometheus. {prometheus.INSTALL_HINT}")
    driver = endpoints(ctx.spark)["driver"]
    try:
        spilled = _spilled_so_far(driver)
    except ScrapeError as exc:
        raise Wrong(f"{exc}") from None
    spark, data = ctx.spark, ctx.params.data_dir
    if spilled == 0:  # a counter's total must already be above 0, as in any application that ran a while
        trace(spark, spill_job(spark, data), "check 06.3: an earlier spill")
    address = urlsplit(driver)
    folder = ctx.params.output_dir / "06.3-prometheus"
    config = prometheus.write_config(folder, {"spark-driver": (address.netloc, address.path)}, interval="1s")
    server = prometheus.start_prometheus(config, port=services.free_port(), progress=lambda line: None)
    url = server.url or f"http://{services.HOST}:{server.port}"
    try:
        def fires() -> bool:
            try:
                return bool(prometheus.query(url, expression))
            except prometheus.PrometheusError as exc:
                raise Wrong(f"Prometheus refused the expression: {str(exc).split(': ', 1)[-1][:300]}") from None

        fires()  # a syntax error is reported before any job runs
        prometheus.wait_for_targets(url, ["spark-driver"], timeout=30)
        time.sleep(SCRAPE_WAIT_S)
        trace(spark, clean_job(spark, data), "check 06.3: a clean job")
        time.sleep(SCRAPE_WAIT_S)
        if fires():
            raise Wrong("it fires on a job that spills nothing (payments counted per channel).")
        trace(spark, spill_job(spark, data), "check 06.3: a spilling job")
        deadline = time.monotonic() + FIRE_TIMEOUT_S
        while not fires():
            if time.monotonic() > deadline:
                raise Wrong(f"it did not fire within {FIRE_TIMEOUT_S:.0f} s after a job that spilled.")
            time.sleep(0.5)
    finally:
        services.terminate(server)
        services.forget(prometheus.GROUP, server)
    return "a real Prometheus found it quiet on the clean job and firing on the spilling one."


