"""prodspark.monitoring: the REST API, the StatusTracker, event logs, Prometheus, the timeline and
the health checks, each against what a real Spark run reports.

The fast tests use the shared session. The full ones run tests/monitoring_app.py in its own JVM
(its own heap, task retries, event logs and the driver's Prometheus sink) at several seeds, and
check every health check both ways on its problem jobs and their clean twins.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from prodspark.errors import ParameterError
from prodspark.monitoring import eventlog, health, rest, scrape, timeline
from prodspark.monitoring.health import GC, SKEW, SPILL, TASK_FAILURES, Severity, severity
from prodspark.monitoring.progress import ProgressPoller, ProgressSample
from prodspark.sparkui import SparkUI, SparkUIError, trace

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def small_run(spark):
    """A two-stage query traced on the shared session, and the REST API that reports it."""
    query = spark.range(0, 40_000, 1, 4).groupBy((F.col("id") % 5).alias("k")).count()
    return trace(spark, query.collect, "monitoring: a small groupBy"), rest.RestApi.for_session(spark)


# ---------------------------------------------------------------------- REST
def test_the_rest_api_reports_the_traced_stages_and_their_tasks(spark, small_run):
    run, api = small_run
    assert api.app_id == spark.sparkContext.applicationId
    assert api.app_id in [app["id"] for app in api.applications()]
    ran = [s for s in run.stages if s["status"] == "COMPLETE"]
    first = ran[0]
    detailed = api.stage(first["stageId"], first["attemptId"])
    assert len(detailed["tasks"]) == first["numTasks"]
    assert detailed["taskMetricsDistributions"]["quantiles"] == list(rest.DEFAULT_QUANTILES)
    summary = api.task_summary(first["stageId"], first["attemptId"], quantiles=(0.0, 0.5, 1.0))
    assert summary["quantiles"] == [0.0, 0.5, 1.0] and len(summary["executorRunTime"]) == 3
    assert summary["executorRunTime"][2] == max(t["taskMetrics"]["executorRunTime"]
                                                 for t in detailed["tasks"].values())
    assert len(api.tasks(first["stageId"], first["attemptId"])) == first["numTasks"]
    assert "sparkProperties" in api.environment() and isinstance(api.storage(), list)
    assert any(set(e.get("successJobIds", [])) & {j["jobId"] for j in run.jobs} for e in api.sql())


def test_the_frames_have_one_row_per_stage_attempt_task_and_executor(small_run):
    run, api = small_run
    stages = rest.stages_frame(api)
    assert list(stages.columns) == rest.STAGE_COLUMNS
    mine = stages[stages["stage_id"].isin([s["stageId"] for s in run.stages])]
    assert len(mine) == len(run.stages)
    done = mine[mine["status"] == "COMPLETE"]
    assert (done["duration_s"] > 0).all() and (done["executor_run_time_s"] > 0).all()
    assert done["shuffle_write_bytes"].sum() == sum(s["shuffleWriteBytes"] for s in run.stages)
    tasks = rest.tasks_frame(api, stage_ids=done["stage_id"])
    assert list(tasks.columns) == rest.TASK_COLUMNS and len(tasks) == done["num_tasks"].sum()
    assert (tasks["status"] == "SUCCESS").all() and (tasks["launch_s"] > 0).all()
    assert math.isclose(tasks["executor_run_time_s"].sum(), done["executor_run_time_s"].sum(), abs_tol=1e-6)
    executors = rest.executors_frame(api)
    assert list(executors.columns) == rest.EXECUTOR_COLUMNS
    assert executors.loc[executors["executor_id"] == "driver", "is_active"].all()


def test_spark_ui_is_the_rest_api_of_a_session(spark):
    ui = SparkUI(spark)
    assert isinstance(ui, rest.RestApi) and issubclass(SparkUIError, rest.RestApiError)
    assert ui.url == rest.RestApi.for_session(spark).url


def test_bad_addresses_and_arguments_get_clear_messages(spark, small_run):
    _, api = small_run
    with pytest.raises(ParameterError, match="http"):
        rest.RestApi("localhost:4040", "local-1")
    with pytest.raises(ParameterError, match="application id"):
        rest.RestApi.for_history("http://127.0.0.1:18080", "")
    with pytest.raises(ParameterError, match="quantiles"):
        api.task_summary(0, quantiles=(0.5, 2.0))
    with pytest.raises(ParameterError, match="stage_id"):
        api.stage(-1)
    with pytest.raises(rest.RestApiError, match="404.*event log"):
        rest.RestApi(api.url, "local-0").jobs()
    with pytest.raises(rest.RestApiError, match="did not answer http://127.0.0.1:9/api/v1/applications"):
        rest.RestApi.for_history("http://127.0.0.1:9", "local-1").applications()
    with pytest.raises(ParameterError, match="RestApi"):
        rest.stages_frame("http://127.0.0.1:4040")


# ---------------------------------------------------------------------- StatusTracker
def test_the_poller_samples_a_running_job_and_stops_cleanly(spark):
    work = F.sum(F.length(F.sha2(F.col("id").cast("string"), 256)))
    with ProgressPoller(spark, interval=0.02) as poller:
        spark.range(0, 600_000, 1, 8).select(work).collect()
    assert not poller.running and poller.polls >= 2
    samples = poller.samples
    assert samples and all(isinstance(s, ProgressSample) for s in samples)
    assert [s.t for s in samples] == sorted(s.t for s in samples)
    last = {}
    for sample in samples:
        last[sample.stage_id] = sample
    assert any(s.num_tasks == 8 and s.completed == 8 and s.active == 0 for s in last.values()), last
    assert list(poller.frame().columns) == ["t", "job_id", "stage_id", "num_tasks", "completed", "active", "failed"]
    with pytest.raises(ParameterError, match="interval"):
        ProgressPoller(spark, interval=0)


def test_the_poller_uses_only_the_five_status_tracker_methods(spark):
    calls = []

    class Recording:
        def __init__(self, tracker):
            self.tracker = tracker

        def __getattr__(self, name):
            calls.append(name)
            return getattr(self.tracker, name)

    poller = ProgressPoller(spark, interval=0.05, group="nothing-runs-here")
    poller._tracker = Recording(poller._tracker)
    poller.poll()
    ProgressPoller(spark)._tracker.getActiveStageIds()  # exists in PySpark 4.1
    assert set(calls) <= {"getActiveJobsIds", "getActiveStageIds", "getJobIdsForGroup", "getJobInfo",
                          "getStageInfo"}


# ---------------------------------------------------------------------- Prometheus
def test_the_executors_endpoint_answers_by_default_with_the_app_id_label(spark):
    urls = scrape.endpoints(spark)
    metrics = scrape.scrape(urls["executors"])
    assert list(metrics.columns) == ["name", "labels", "value", "family", "type"]
    executor = metrics[metrics["name"].str.startswith("metrics_executor_")]
    assert len(executor) and {row["application_id"] for row in executor["labels"]} == {
        spark.sparkContext.applicationId}
    assert spark.sparkContext.getConf().get("spark.ui.prometheus.enabled", None) is None, "on by default"


def test_the_driver_endpoint_is_served_with_the_servlet_sink(spark):
    # The shared session is started with driver_prometheus_conf() (tests/conftest.py).
    driver = scrape.scrape(scrape.endpoints(spark)["driver"])
    assert driver["name"].str.contains(spark.sparkContext.applicationId.replace("-", "_")).any()
    conf = scrape.driver_prometheus_conf()
    assert conf["spark.metrics.conf.*.sink.prometheusServlet.class"] == \
        "org.apache.spark.metrics.sink.PrometheusServlet"
    with pytest.raises(scrape.ScrapeError, match="exposition format"):
        scrape.parse("this is { not prometheus")
    parsed = scrape.parse('up{job="spark"} 1\n# TYPE t counter\nt_total 3\n')
    assert parsed.set_index("name")["value"].to_dict() == {"up": 1.0, "t_total": 3.0}


# ---------------------------------------------------------------------- timeline
def test_slots_put_overlapping_tasks_of_one_executor_in_different_lanes():
    tasks = pd.DataFrame({"executor_id": ["1", "1", "1", "2"], "launch_s": [0.0, 0.5, 1.2, 0.0],
                          "duration_s": [1.0, 1.0, 0.3, 2.0], "stage_id": 0, "status": "SUCCESS"})
    assert timeline.slots(tasks) == [("1", 0), ("1", 1), ("1", 0), ("2", 0)]
    assert timeline.slots(tasks, cores=1) == [("1", 0), ("1", 0), ("1", 0), ("2", 0)]
    with pytest.raises(ParameterError, match="cores"):
        timeline.slots(tasks, cores={"1": 0})


def test_the_timeline_draws_one_lane_per_slot(small_run):
    _, api = small_run
    tasks = rest.tasks_frame(api)
    executors = rest.executors_frame(api)
    cores = dict(zip(executors["executor_id"], executors["total_cores"], strict=True))
    figure = timeline.task_timeline(tasks, "the shared session's tasks", cores=cores)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels and set(labels) <= {"executor driver · slot 0", "executor driver · slot 1"}
    with pytest.raises(ParameterError, match="launch_s"):
        timeline.task_timeline(tasks.drop(columns=["launch_s"]), "x")
    import matplotlib.pyplot as plt

    plt.close(figure)


# ---------------------------------------------------------------------- event logs (files made here)
def _events(app: str, tasks: int) -> list[dict]:
    start = 1_700_000_000_000
    events = [{"Event": "SparkListenerLogStart", "Spark Version": "4.1.4"},
              {"Event": "SparkListenerApplicationStart", "App Name": "made", "App ID": app, "Timestamp": start,
               "User": "me"}]
    for n in range(tasks):
        events.append({"Event": "SparkListenerTaskEnd", "Stage ID": 0, "Stage Attempt ID": 0,
                       "Task End Reason": {"Reason": "Success"},
                       "Task Info": {"Task ID": n, "Index": n, "Attempt": 0, "Executor ID": "driver",
                                     "Host": "localhost", "Launch Time": start + 1000 + n,
                                     "Finish Time": start + 2000 + n, "Failed": False, "Killed": False},
                       "Task Metrics": {"Executor Run Time": 900, "JVM GC Time": 10}})
    return events


def _zstd_frames(events: list[dict], per_frame: int) -> bytes:
    import zstandard

    compressor = zstandard.ZstdCompressor()
    lines = [json.dumps(e).encode() + b"\n" for e in events]
    return b"".join(compressor.compress(b"".join(lines[i:i + per_frame])) for i in range(0, len(lines), per_frame))


def test_rolled_files_are_read_in_numeric_order_frame_by_frame(tmp_path):
    app = "local-1700000000000"
    folder = tmp_path / f"eventlog_v2_{app}"
    folder.mkdir()
    events = _events(app, 30)
    parts = [events[:2], events[2:12], events[12:22], events[22:]]
    for number, part in zip((1, 2, 10, 11), parts, strict=True):
        (folder / f"events_{number}_{app}.zstd").write_bytes(_zstd_frames(part, 3))
    (folder / f"appstatus_{app}.inprogress").write_bytes(b"")
    assert eventlog.find_event_log(tmp_path, app) == folder
    log = eventlog.read_events(folder)
    assert [f.name for f in log.files] == [f"events_{n}_{app}.zstd" for n in (1, 2, 10, 11)]
    assert list(log) == events and log.incomplete == [] and log.in_progress
    tasks = eventlog.tasks_frame_from_events(log)
    assert list(tasks["task_id"]) == list(range(30)) and list(tasks.columns) == rest.TASK_COLUMNS
    assert eventlog.app_info(log)["completed"] is False


def test_an_unfinished_frame_or_line_is_left_out_and_reported(tmp_path):
    app = "local-1700000000001"
    events = _events(app, 20)
    data = _zstd_frames(events, 4)
    cut = tmp_path / f"{app}.zstd.inprogress"
    cut.write_bytes(data[: len(data) - 40])
    log = eventlog.read_events(eventlog.find_event_log(tmp_path, app))
    read = list(log)
    assert read == events[: len(read)] and 0 < len(read) < len(events)
    assert any("not finished" in note for note in log.incomplete)
    plain = tmp_path / "plain" / app
    plain.parent.mkdir()
    text = "".join(json.dumps(e) + "\n" for e in events)
    plain.write_text(text[:-25])
    log = eventlog.read_events(plain)
    assert list(log) == events[:-1] and "last line" in log.incomplete[0]


def test_event_log_mistakes_get_clear_messages(tmp_path):
    with pytest.raises(eventlog.EventLogError, match="not a folder of event logs"):
        eventlog.find_event_log(tmp_path / "missing", "local-1")
    with pytest.raises(eventlog.EventLogError, match="no event log of application local-2"):
        eventlog.find_event_log(tmp_path, "local-2")
    lz4 = tmp_path / "local-3.lz4"
    lz4.write_bytes(b"\x04\x22\x4d\x18")
    with pytest.raises(eventlog.EventLogError, match="compressed with lz4.*compression.codec=zstd"):
        list(eventlog.read_events(lz4))
    broken = tmp_path / "local-4.zstd"
    broken.write_bytes(b"this is not zstd at all")
    with pytest.raises(eventlog.EventLogError, match="not valid zstd"):
        list(eventlog.read_events(broken))
    with pytest.raises(ParameterError, match="read_events"):
        eventlog.stages_frame_from_events(str(broken))


# ---------------------------------------------------------------------- health: grading
@pytest.mark.parametrize(("value", "expected"), [
    (0.0, Severity.NONE), (1.999, Severity.NONE), (2, Severity.LOW), (3.99, Severity.LOW),
    (4, Severity.MODERATE), (8, Severity.SEVERE), (15.99, Severity.SEVERE), (16, Severity.CRITICAL),
    (1e12, Severity.CRITICAL), (math.inf, Severity.CRITICAL), (math.nan, Severity.NONE)])
def test_severity_is_reached_at_each_threshold(value, expected):
    assert severity(value, SKEW) is expected


def test_dr_elephants_thresholds_and_their_boundaries():
    assert (SKEW, SPILL, GC, TASK_FAILURES) == ((2, 4, 8, 16), (0.01, 0.1, 0.25, 0.5), (0.08, 0.09, 0.1, 0.15),
                                                (0.05, 0.1, 0.15, 0.2))
    assert severity(0.0099, SPILL) is Severity.NONE and severity(0.01, SPILL) is Severity.LOW
    assert severity(0.5, SPILL) is Severity.CRITICAL and severity(0.4999, SPILL) is Severity.SEVERE
    assert [severity(v, GC) for v in (0.079, 0.08, 0.09, 0.1, 0.15)] == list(Severity)
    assert health.threshold_of(Severity.SEVERE, GC) == 0.1 and math.isnan(health.threshold_of(Severity.NONE, GC))
    for bad in ((1, 2, 3), (4, 3, 2, 1), "2,4,8,16"):
        with pytest.raises(ParameterError, match="four ascending"):
            severity(1.0, bad)
    with pytest.raises(ParameterError, match="number"):
        severity("3", SKEW)


def _stage(**values) -> dict:
    row = {"stage_id": 0, "attempt": 0, "name": "s", "status": "COMPLETE", "num_tasks": 2, "failed_tasks": 0,
           "duration_s": 10.0, "executor_run_time_s": 10.0, "gc_time_s": 0.0, "input_bytes": 100,
           "output_bytes": 0, "shuffle_read_bytes": 0, "shuffle_write_bytes": 0, "memory_spilled_bytes": 0,
           "disk_spilled_bytes": 0, "submitted_s": 1.0}
    row.update(values)
    return row


def _task(stage: int, run: float) -> dict:
    return {"stage_id": stage, "attempt": 0, "status": "SUCCESS", "executor_run_time_s": run}


def test_checks_are_gated_on_the_stage_duration():
    stages = pd.DataFrame([_stage(gc_time_s=5.0, memory_spilled_bytes=100)])
    tasks = pd.DataFrame([_task(0, 9.0), _task(0, 0.5), _task(0, 0.5)])
    found = {f.check: f for f in health.check_stages(stages, tasks, min_stage_s=5)}
    assert set(found) == {"skew", "spill", "gc"}
    assert found["skew"].severity is Severity.CRITICAL and found["spill"].threshold == 0.5
    assert health.check_stages(stages, tasks, min_stage_s=11) == []
    assert health.check_stages(stages, tasks, at_least=Severity.CRITICAL, min_stage_s=0) != []
    with pytest.raises(ParameterError, match="stages_frame"):
        health.check_stages(stages.drop(columns=["gc_time_s"]), tasks)
    with pytest.raises(ParameterError, match="min_stage_s"):
        health.check_stages(stages, tasks, min_stage_s=-1)


def test_lost_executors_are_found_and_the_drivers_releases_are_not_alarms(small_run):
    _, api = small_run
    executors = rest.executors_frame(api)
    assert health.check_executors(executors) == []
    lost = executors.iloc[0].to_dict() | {"executor_id": "3", "is_active": False, "failed_tasks": 2,
                                           "remove_reason": "Command exited with code 137"}
    released = lost | {"executor_id": "4", "failed_tasks": 0, "remove_reason": "Executor killed by driver."}
    found = health.check_executors(pd.concat([executors, pd.DataFrame([lost, released])]))
    assert [(f.executor_id, f.severity) for f in found] == [("3", Severity.SEVERE), ("4", Severity.LOW)]
    assert health.check_executors(pd.DataFrame([released]), at_least=Severity.MODERATE) == []


# ---------------------------------------------------------------------- one real application per seed
# One seed in the full tier (each application takes about a minute); two more in the extended.
@pytest.fixture(scope="module", params=[42, pytest.param(1, marks=pytest.mark.extended),
                                        pytest.param(7, marks=pytest.mark.extended)])
def problem_app(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"monitoring-app-{request.param}")
    done = subprocess.run([sys.executable, str(HERE / "monitoring_app.py"), str(out), str(request.param)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    return out, result


def _frames_equal(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs)
    for column in ours.columns:
        for a, b in zip(ours[column], theirs[column], strict=True):
            same = (a == b) or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
            assert same or (isinstance(a, float) and math.isclose(a, b, abs_tol=1e-6)), (column, a, b)


@pytest.mark.full
def test_the_event_log_is_rolled_zstd_and_says_what_the_rest_api_said(problem_app):
    out, result = problem_app
    app = result["app_id"]
    folder = eventlog.find_event_log(out / "events", app)
    assert folder.name == f"eventlog_v2_{app}"
    log = eventlog.read_events(folder)
    assert [f.name for f in log.files] == [f"events_1_{app}.zstd"]
    info = eventlog.app_info(log)
    assert info["completed"] and info["app_id"] == app and not log.in_progress and log.incomplete == []
    live = result["live_log"]  # the same log read while the application still ran
    assert live["in_progress"] and 0 < live["events"] < sum(1 for _ in log)
    _frames_equal(eventlog.stages_frame_from_events(log), pd.DataFrame(result["stages"]))
    _frames_equal(eventlog.tasks_frame_from_events(log), pd.DataFrame(result["tasks"]))
    events_executors = eventlog.executors_frame_from_events(log)
    rest_executors = pd.DataFrame(result["executors"])
    assert list(events_executors.columns) == list(rest_executors.columns)
    assert events_executors["completed_tasks"].tolist() == rest_executors["completed_tasks"].tolist()


PROBLEMS = [("skew", "even", "skew"), ("spill", "nospill", "spill"), ("gc", "nogc", "gc"),
            ("retry", "noretry", "failed_tasks")]


@pytest.mark.full
@pytest.mark.parametrize(("problem", "twin", "check"), PROBLEMS)
def test_each_check_fires_on_its_problem_and_stays_quiet_on_the_clean_twin(problem_app, problem, twin, check):
    out, result = problem_app
    log = eventlog.read_events(eventlog.find_event_log(out / "events", result["app_id"]))
    stages, tasks = eventlog.stages_frame_from_events(log), eventlog.tasks_frame_from_events(log)
    findings = health.check_stages(stages, tasks, min_stage_s=0.5)
    fired = [f for f in findings if f.check == check and f.stage_id in result["groups"][problem]]
    # Worth acting on from moderate up (lesson 06): an even stage of a second can show a low 2x from warm-up.
    quiet = [f for f in findings if f.check == check and f.stage_id in result["groups"][twin]
             and f.severity >= Severity.MODERATE]
    assert fired and all(f.severity >= Severity.LOW for f in fired), findings
    assert quiet == [], quiet
    rest_findings = health.check_stages(pd.DataFrame(result["stages"]), pd.DataFrame(result["tasks"]),
                                        min_stage_s=0.5)
    assert [(f.check, f.stage_id, f.severity) for f in rest_findings] == [
        (f.check, f.stage_id, f.severity) for f in findings], "the same findings from the REST API's frames"


@pytest.mark.full
def test_the_drivers_prometheus_endpoint_names_the_app(problem_app):
    _, result = problem_app
    app = result["app_id"]
    assert any(app.replace("-", "_") in name for name in result["driver_metrics"])
    executor_labels = [labels for labels in result["executor_metric_labels"] if "application_id" in labels]
    assert executor_labels and {labels["application_id"] for labels in executor_labels} == {app}


@pytest.mark.full
def test_progress_and_the_timeline_show_the_retried_task(problem_app):
    out, result = problem_app
    progress = pd.DataFrame(result["progress"])
    retried = progress[progress["stage_id"].isin(result["groups"]["retry"])]
    assert retried["failed"].max() == 1 and (retried.groupby("stage_id")["completed"].max() > 0).all()
    log = eventlog.read_events(eventlog.find_event_log(out / "events", result["app_id"]))
    tasks = eventlog.tasks_frame_from_events(log, stage_ids=result["groups"]["retry"])
    failed = tasks[tasks["status"] == "FAILED"]
    assert len(failed) == 1 and "planned failure" in failed["error"].iloc[0]
    figure = timeline.task_timeline(tasks, "a task that failed once, and its retry")
    assert sum("✗ task" in text.get_text() for text in figure.axes[0].texts) == 1
    import matplotlib.pyplot as plt

    plt.close(figure)


@pytest.mark.full
def test_with_the_default_gate_only_the_problem_jobs_are_reported(problem_app):
    out, result = problem_app
    log = eventlog.read_events(eventlog.find_event_log(out / "events", result["app_id"]))
    findings = health.check_stages(eventlog.stages_frame_from_events(log), eventlog.tasks_frame_from_events(log))
    problems = {stage for group in ("skew", "spill", "gc", "retry") for stage in result["groups"][group]}
    assert findings and {f.stage_id for f in findings} <= problems, [str(f) for f in findings]


@pytest.mark.extended  # the course's standalone cluster: executors of their own to lose
def test_an_executor_killed_on_the_cluster_is_reported_lost(standalone_cluster, tmp_path):
    done = subprocess.run([sys.executable, str(HERE / "monitoring_lost_executor.py"), str(tmp_path),
                           standalone_cluster.master_url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    executors = pd.read_json(tmp_path / "executors.json", dtype={"executor_id": str})
    victim = (tmp_path / "victim").read_text()
    found = health.check_executors(executors)
    assert [(f.executor_id, f.severity) for f in found] == [(victim, Severity.SEVERE)], executors.to_dict("records")
    assert found[0].detail.startswith("removed (")


@pytest.mark.full
def test_the_history_server_serves_the_same_frames_as_the_event_log(problem_app):
    from prodspark import history_server, services

    out, result = problem_app
    app = result["app_id"]
    server = history_server.start_history_server(out / "events", port=services.free_port(), progress=lambda _: None)
    try:
        history_server.wait_for_application(server.url, app)
        api = rest.RestApi.for_history(server.url, app)
        assert app in [a["id"] for a in api.applications()]
        log = eventlog.read_events(eventlog.find_event_log(out / "events", app))
        _frames_equal(rest.stages_frame(api), eventlog.stages_frame_from_events(log))
        _frames_equal(rest.tasks_frame(api), eventlog.tasks_frame_from_events(log))
        stages = rest.stages_frame(api)
        hashed = stages[stages["stage_id"].isin(result["groups"]["skew"]) & (stages["num_tasks"] == 8)]
        summary = api.task_summary(int(hashed["stage_id"].iloc[0]), quantiles=(0.5, 1.0))
        assert summary["executorRunTime"][1] > 4 * summary["executorRunTime"][0], "the skewed stage, served again"
    finally:
        services.terminate(server)
        services.forget(history_server.GROUP, server)
