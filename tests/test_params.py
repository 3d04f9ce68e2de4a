"""Bad parameters get a clear message naming the value, before anything is written."""

import socket
import time

import pytest

from prodspark.errors import MasterUnreachable, ParameterError
from prodspark.masters import ensure_reachable, parse_master
from prodspark.params import check_parameters


@pytest.mark.parametrize("scale", [-1, 0, "abc", "2", True, None, float("nan"), float("inf")])
def test_bad_scale_is_refused_with_its_value(scale, tmp_path):
    with pytest.raises(ParameterError, match="scale") as error:
        check_parameters(scale=scale, data_dir=tmp_path / "d", output_dir=tmp_path / "o")
    assert repr(scale) in str(error.value) or str(scale) in str(error.value)


@pytest.mark.parametrize("seed", [-3, 1.5, "42", False, 2**63])
def test_bad_seed_is_refused(seed, tmp_path):
    with pytest.raises(ParameterError, match="seed"):
        check_parameters(seed=seed, data_dir=tmp_path / "d", output_dir=tmp_path / "o")


def test_good_parameters_are_normalised(tmp_path):
    params = check_parameters(scale=2, seed=7, master="local[2]", data_dir=tmp_path / "d",
                              output_dir=str(tmp_path / "o"))
    assert params.scale == 2.0 and isinstance(params.scale, float)
    assert params.seed == 7
    assert params.data_dir == (tmp_path / "d").resolve() and params.data_dir.is_dir()
    assert params.output_dir.is_dir()


def test_unwritable_output_folder_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ParameterError, match="output_dir") as error:
        check_parameters(data_dir=tmp_path / "d", output_dir=blocker / "out")
    assert str(blocker) in str(error.value)


@pytest.mark.parametrize("url,kind", [
    ("local", "local"), ("local[4]", "local"), ("local[*]", "local"), ("local[*,3]", "local"),
    ("local-cluster[2,1,1024]", "local-cluster"), ("spark://127.0.0.1:7077", "standalone"),
    ("spark://h1:7077,h2:7077", "standalone"), ("yarn", "yarn"), ("k8s://https://10.0.0.1:6443", "k8s"),
])
def test_valid_masters(url, kind):
    assert parse_master(url).kind == kind


@pytest.mark.parametrize("url,words", [
    ("mesos://host:5050", "Mesos support was removed"),
    ("lokal[*]", "unknown kind"),
    ("spark://127.0.0.1", "not HOST:PORT"),
    ("local[0]", "unknown kind"),
    ("spark://host:99999", "not HOST:PORT"),
    (7077, "must be a string"),
])
def test_invalid_masters_name_the_problem(url, words):
    with pytest.raises(ParameterError, match=words):
        parse_master(url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_master_fails_within_seconds():
    master = parse_master(f"spark://127.0.0.1:{_closed_port()}")
    started = time.perf_counter()
    with pytest.raises(MasterUnreachable, match="not reachable"):
        ensure_reachable(master)
    assert time.perf_counter() - started < 5


def test_start_spark_refuses_an_unreachable_master_before_starting_a_jvm():
    from prodspark.session import start_spark

    started = time.perf_counter()
    with pytest.raises(MasterUnreachable):
        start_spark(master=f"spark://127.0.0.1:{_closed_port()}")
    assert time.perf_counter() - started < 5
