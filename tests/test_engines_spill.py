"""Module 01's small Spark application that sorts more than its heap: its command, its report, its clean-up."""

import subprocess
import sys
import time

import psutil
import pytest
from pyspark.testing import assertDataFrameEqual

from prodspark.engines_spill import SpillRun, spill_command
from prodspark.engines_spill_job import rows_to_sort, size_bytes
from prodspark.errors import ParameterError
from prodspark.processes import stop_process_tree

MIB = 2**20


def test_the_command_is_spark_submit_on_a_small_local_jvm(tmp_path):
    command = spill_command(1_000, tmp_path / "r.json", driver_memory="640m", master="local[2]")
    assert command[0].endswith("spark-submit")
    assert command[command.index("--master") + 1] == "local[2]"
    assert "spark.driver.memory=640m" in command
    assert "spark.driver.bindAddress=127.0.0.1" in command
    assert command[-3].endswith("engines_spill_job.py") and command[-2:] == ["1000", str(tmp_path / "r.json")]


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": 0}, "rows must be a whole number"),
    ({"rows": True}, "rows must be a whole number"),
    ({"rows": 10, "driver_memory": "lots"}, "driver_memory must be a JVM size"),
    ({"rows": 10, "driver_memory": "256m"}, "below the 450 MiB"),
    ({"rows": 10, "master": "spark://127.0.0.1:7077"}, "local master"),
])
def test_bad_arguments_get_a_clear_message(tmp_path, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        spill_command(result_path=tmp_path / "r.json", **kwargs)


def test_size_metrics_are_read_from_their_first_figure():
    assert size_bytes("total (min, med, max (stageId: taskId))\n512.0 MiB (256.0 MiB, ...)") == 512 * MIB
    assert size_bytes("1,024.0 KiB") == MIB
    assert size_bytes("") == 0


def run(heap_mib=400, sorted_mib=600, spilled_mib=700):
    return SpillRun(rows=1_000, heap_bytes=heap_mib * MIB, driver_memory="512m", master="local[2]",
                    sorted_bytes=sorted_mib * MIB, memory_bytes_spilled=spilled_mib * MIB,
                    disk_bytes_spilled=80 * MIB, shuffle_write_bytes=90 * MIB, tasks=4, failed_tasks=0,
                    seconds=4.0, wall_seconds=11.0)


def test_the_report_says_what_was_measured():
    assert run().times_heap == pytest.approx(1.5)
    assert "more than its whole heap, and finished by spilling 700 MiB (80 MiB on disk)" in str(run())
    assert "less than its heap" in str(run(sorted_mib=300))
    assert "without spilling" in str(run(spilled_mib=0))


def test_stopping_a_process_stops_its_children_too():
    parent = subprocess.Popen([sys.executable, "-c",
                               "import subprocess, sys, time; "
                               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                               "time.sleep(60)"])
    try:
        children = []
        deadline = time.monotonic() + 10
        while not children and time.monotonic() < deadline:
            time.sleep(0.1)
            children = psutil.Process(parent.pid).children(recursive=True)
        assert children, "the test's child process did not start"
        assert stop_process_tree(parent.pid) == []
        assert parent.wait(timeout=5) is not None
        for child in children:
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    finally:
        parent.kill()
        parent.wait()


def test_the_rows_to_sort_come_out_in_key_order(spark):
    data = rows_to_sort(spark, 200)
    expected = sorted(data.collect(), key=lambda row: row.key)
    assertDataFrameEqual(data.orderBy("key"), expected, checkRowOrder=True)
    assert [field.name for field in data.schema] == ["key", "payload"]


def test_the_class_archive_option_goes_to_the_driver_jvm(tmp_path):
    command = spill_command(1_000, tmp_path / "r.json", java_options="-XX:SharedArchiveFile=/tmp/spill.jsa")
    options = next(arg for arg in command if arg.startswith("spark.driver.extraJavaOptions="))
    assert "-Dlog4j.configurationFile=" in options and options.endswith(" -XX:SharedArchiveFile=/tmp/spill.jsa")


def test_the_report_says_what_its_jvm_did_with_the_class_archive():
    import dataclasses

    assert "an earlier run wrote" in dataclasses.replace(run(), class_archive="read").class_archive_note
    written = dataclasses.replace(run(), class_archive="written")
    assert "wrote them to a class-data archive" in written.class_archive_note
    assert run().class_archive_note == "its JVM loaded Spark's classes one by one"


def test_set_up_writes_the_class_archive_once_and_then_leaves_it(tmp_path, monkeypatch):
    from prodspark import class_archive, engines_spill

    archive = tmp_path / "spill.jsa"
    monkeypatch.setattr(class_archive, "archive_path", lambda: archive)
    calls = []

    def fake_run(rows):  # the JVM writes the archive at exit, as run_spill_job's does
        calls.append(rows)
        archive.write_bytes(b"archive")
        return SpillRun(**{**vars(run()), "class_archive": "written"})

    monkeypatch.setattr(engines_spill, "run_spill_job", fake_run)
    said = []
    assert engines_spill.prepare_class_archive(rows=10, progress=said.append) is True
    assert engines_spill.prepare_class_archive(rows=10, progress=said.append) is False
    assert calls == [10] and "Wrote the class-data archive" in said[0] and "is there" in said[1]

    archive.unlink()
    monkeypatch.setattr(engines_spill, "run_spill_job", lambda rows: run())  # the JVM wrote none
    assert engines_spill.prepare_class_archive(rows=10, progress=said.append) is False
    assert "WARNING" in said[-1] and "lesson 01 will write it" in said[-1]
