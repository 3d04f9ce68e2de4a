"""An application on the course's standalone cluster that loses an executor, run by tests/test_monitoring.py.

    python tests/monitoring_lost_executor.py OUT_DIR MASTER_URL

It kills one executor's JVM (SIGKILL, as a crashed machine would), waits until the REST API
reports it dead, and writes the executors frame to OUT_DIR/executors.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prodspark.executors import kill_executor, wait_for_registered_executors, wait_until_gone
from prodspark.monitoring.rest import RestApi, executors_frame
from prodspark.session import start_spark
from prodspark.waiting import wait_until


def main(out: Path, master: str) -> None:
    spark = start_spark(master=master, app_name="monitoring-lost-executor", delta=False,
                        conf={"spark.executor.memory": "512m", "spark.cores.max": "2"})
    try:
        executors = wait_for_registered_executors(spark, 2)
        spark.range(0, 100_000, 1, 4).selectExpr("id % 7 AS k").groupBy("k").count().collect()
        victim = sorted(e["id"] for e in executors)[0]
        killed = kill_executor(spark, victim)
        wait_until_gone([killed.pid])
        api = RestApi.for_session(spark)

        def reported_dead():
            rows = {e["id"]: e for e in api.executors(include_dead=True)}
            return rows.get(victim, {}).get("isActive") is False or None

        wait_until(reported_dead, 60, f"executor {victim} to be reported dead")
        (out / "executors.json").write_text(executors_frame(api).to_json(orient="records"))
        (out / "victim").write_text(victim)
    finally:
        spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
