"""spark-submit command lines: one application, every cluster manager."""

import pytest

from prodspark.masters import parse_master
from prodspark.submit import MANAGERS, show_commands, submit_command


@pytest.mark.parametrize("manager", MANAGERS)
def test_every_command_names_a_valid_master_and_keeps_the_settings(manager):
    args = submit_command(manager, "pipeline.py", {"spark.executor.cores": "4"})
    assert args[0] == "spark-submit"
    parse_master(args[args.index("--master") + 1])  # raises on a malformed master URL
    assert "spark.executor.cores=4" in args
    assert args[-1].endswith("pipeline.py")


def test_kubernetes_runs_the_application_from_the_image_in_cluster_mode():
    args = submit_command("kubernetes", "pipeline.py")
    assert args[args.index("--deploy-mode") + 1] == "cluster"
    assert args[-1] == "local:///opt/app/pipeline.py"
    assert any(a.startswith("spark.kubernetes.container.image=") for a in args)


def test_an_unknown_manager_is_named():
    with pytest.raises(ValueError, match="unknown cluster manager 'mesos'"):
        submit_command("mesos", "pipeline.py")


def test_the_printed_commands_can_be_pasted_into_a_shell(capsys):
    show_commands("pipeline.py")
    out = capsys.readouterr().out
    assert out.count("spark-submit") == len(MANAGERS)
    assert all(line.endswith("\\") for block in out.split("\n\n") for line in block.splitlines()[1:-1])
