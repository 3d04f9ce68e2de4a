"""The dataset generator: deterministic, scaled, consistent, skewed, with known defects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DecimalType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)
from pyspark.testing import assertDataFrameEqual, assertSchemaEqual

from prodspark import datagen
from prodspark.datagen import (
    DATASETS,
    DEFECTS,
    RAW_SCHEMA_DDL,
    customers_df,
    ensure_generated,
    generate,
    merchants_df,
    raw_transactions_lines,
    sizes_for,
    transactions_df,
    write_samples,
)
from prodspark.errors import ParameterError

SCALE = 0.05  # 1,000 customers, 50 merchants, 10,000 transactions, 2,500 raw lines
# Every test uses the same scale and seed where it can: Spark compiles a query again for new
# constants, and compiling, not the data, is most of the time here.
SEED = 7
SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"
MAKERS = [customers_df, merchants_df, transactions_df, raw_transactions_lines]


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """One generate() run at a small scale, shared by the tests that read files back."""
    folder = tmp_path_factory.mktemp("data")
    messages: list[str] = []
    results = generate(spark, folder, scale=SCALE, seed=SEED, progress=messages.append)
    return folder, results, messages


@pytest.fixture(scope="module")
def raw_lines(spark):
    """The raw lines with their defect labels, computed once (cached) for the tests below."""
    lines = raw_transactions_lines(spark, SCALE, SEED).cache()
    yield lines
    lines.unpersist()


def _read(spark, folder: Path, name: str):
    return spark.read.parquet(str(folder / name))


# --------------------------------------------------------------------------- sizes and parameters


def test_sizes_follow_scale():
    assert sizes_for(1) == datagen.Sizes(
        customers=20_000, merchants=1_000, transactions=200_000, raw_transactions=50_000
    )
    assert sizes_for(0.1) == datagen.Sizes(2_000, 100, 20_000, 5_000)
    assert sizes_for(1e-9) == datagen.Sizes(1, 1, 1, 1)  # never an empty dataset


def test_generated_row_counts_follow_scale(generated, spark):
    folder, results, messages = generated
    sizes = sizes_for(SCALE)
    for name in ("customers", "merchants", "transactions"):
        assert _read(spark, folder, name).count() == getattr(sizes, name) == results[name]["rows"]
    assert spark.read.text(str(folder / "raw_transactions")).count() == sizes.raw_transactions
    assert re.fullmatch(r"\[3/4\] transactions: 10,000 rows in \d+\.\d s", messages[2])


@pytest.mark.parametrize("scale", [-1, 0, "abc", True, float("nan")])
def test_bad_scale_is_refused(scale, spark, tmp_path):
    with pytest.raises(ParameterError, match="scale"):
        generate(spark, tmp_path, scale=scale, progress=lambda _: None)
    with pytest.raises(ParameterError, match="scale"):
        customers_df(spark, scale=scale)


@pytest.mark.parametrize("seed", [-3, 1.5, "42", 2**64])
def test_bad_seed_is_refused(seed, spark, tmp_path):
    with pytest.raises(ParameterError, match="seed"):
        generate(spark, tmp_path, seed=seed, progress=lambda _: None)
    with pytest.raises(ParameterError, match="seed"):
        transactions_df(spark, seed=seed)


def test_unknown_dataset_is_refused(spark, tmp_path):
    with pytest.raises(ParameterError, match="orders"):
        generate(spark, tmp_path, datasets=("customers", "orders"), progress=lambda _: None)


def test_unwritable_folder_is_named_before_any_work(spark, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ParameterError, match="data_dir") as error:
        generate(spark, blocker / "data", scale=SCALE, progress=lambda _: None)
    assert str(blocker / "data") in str(error.value)


# --------------------------------------------------------------------------- determinism


@pytest.mark.full  # about 12 s with the test below: the quick tier keeps within its 3 minutes
@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_same_seed_gives_the_same_data_whatever_the_partitioning(make, spark):
    one_partition = make(spark, SCALE, SEED, num_partitions=1)
    seven_partitions = make(spark, SCALE, SEED, num_partitions=7).repartition(3)
    assertDataFrameEqual(seven_partitions, one_partition)


@pytest.mark.full
def test_another_seed_gives_other_data(spark):
    first = transactions_df(spark, SCALE, seed=SEED)
    second = transactions_df(spark, SCALE, seed=SEED + 1)
    same_rows = first.intersect(second).count()
    assert same_rows == 0
    # ids are the same (they are row numbers); the values behind them differ
    changed = first.alias("a").join(second.alias("b"), "transaction_id").where(F.col("a.amount") != F.col("b.amount"))
    assert changed.count() > 0.9 * sizes_for(SCALE).transactions


@pytest.mark.full  # generates every dataset again: the full suite (the quick tier stays within 3 min)
def test_committed_samples_equal_freshly_generated_ones(spark, tmp_path):
    written = write_samples(spark, tmp_path, seed=42)
    assert sorted(path.name for path in written.values()) == sorted(path.name for path in SAMPLES.iterdir())
    for path in written.values():
        assert path.read_text(encoding="utf-8") == (SAMPLES / path.name).read_text(encoding="utf-8"), path.name


def test_raw_sample_shows_every_defect():
    labels = (SAMPLES / "raw_transactions_defects.csv").read_text(encoding="utf-8").splitlines()[1:]
    lines = (SAMPLES / "raw_transactions.jsonl").read_text(encoding="utf-8").splitlines()
    defects = {int(number): defect for number, defect in (label.split(",") for label in labels)}
    assert sorted(defects.values()) == sorted(DEFECTS) and len(lines) == 40
    duplicate = lines[[n for n, d in defects.items() if d == "duplicate"][0] - 1]
    assert lines.count(duplicate) == 2  # its original is in the sample too


# --------------------------------------------------------------------------- content


def test_schemas(spark):
    assertSchemaEqual(transactions_df(spark, 0.01).schema, StructType([
        StructField("transaction_id", StringType()),
        StructField("customer_id", StringType()),
        StructField("merchant_id", StringType()),
        StructField("amount", DecimalType(12, 2)),
        StructField("currency", StringType()),
        StructField("transaction_ts", TimestampType()),
        StructField("transaction_date", DateType()),
        StructField("channel", StringType()),
        StructField("status", StringType()),
    ]))
    customers = customers_df(spark, 0.01).schema
    assert [field.name for field in customers] == [
        "customer_id", "first_name", "last_name", "email", "phone", "date_of_birth",
        "city", "country", "signup_date", "segment",
    ]
    assert customers["date_of_birth"].dataType == customers["signup_date"].dataType == DateType()
    assert merchants_df(spark, 0.01).schema["opened_date"].dataType == DateType()


def test_ids_are_unique_padded_and_referenced(generated, spark):
    folder, _, _ = generated
    customers, merchants = _read(spark, folder, "customers"), _read(spark, folder, "merchants")
    transactions = _read(spark, folder, "transactions")
    assert transactions.select("transaction_id").distinct().count() == transactions.count()
    assert customers.where(~F.col("customer_id").rlike(r"^C\d{7}$")).count() == 0
    assert merchants.where(~F.col("merchant_id").rlike(r"^M\d{6}$")).count() == 0
    assert transactions.join(customers, "customer_id", "left_anti").count() == 0
    assert transactions.join(merchants, "merchant_id", "left_anti").count() == 0


def test_synthetic_pii_uses_reserved_ranges(generated, spark):
    customers = _read(spark, generated[0], "customers")
    assert customers.where(~F.col("email").rlike(r"^[a-z]+\.[a-z]+\.\d+@example\.(com|org|net)$")).count() == 0
    assert customers.where(~F.col("phone").rlike(r"^\+1-[2-9]\d\d-555-01\d\d$")).count() == 0
    born = customers.agg(F.min("date_of_birth"), F.max("date_of_birth")).first()
    assert born[0].year >= 1940 and born[1].year <= 2005


def test_merchants_are_heavily_skewed(generated, spark):
    transactions = _read(spark, generated[0], "transactions")
    merchants = sizes_for(SCALE).merchants
    top = transactions.groupBy("merchant_id").count().orderBy(F.desc("count")).first()["count"]
    assert top / transactions.count() > 5 * (1 / merchants)


def test_dates_amounts_and_choices(generated, spark):
    transactions = _read(spark, generated[0], "transactions")
    stats = transactions.agg(
        F.min("transaction_ts").cast("string"), F.max("transaction_ts").cast("string"),
        F.min("amount"), F.count_if(F.col("transaction_date") != F.to_date("transaction_ts")),
    ).first()
    assert stats[0] >= "2024-01-01 00:00:00" and stats[1] <= "2024-06-30 23:59:59"
    assert stats[2] > 0
    assert stats[3] == 0  # the session time zone is UTC in the course
    currencies = {row[0] for row in transactions.select("currency").distinct().collect()}
    assert currencies == {"USD", "EUR", "GBP"}


# --------------------------------------------------------------------------- raw lines


def test_raw_lines_have_every_defect(raw_lines):
    counts = dict(raw_lines.groupBy("defect").count().collect())
    assert all(counts.get(kind, 0) > 0 for kind in DEFECTS), counts


def test_raw_files_match_their_manifest(generated, spark):
    folder, results, _ = generated
    manifest = json.loads((folder / "raw_transactions_manifest.json").read_text())
    assert manifest["total_lines"] == results["raw_transactions"]["rows"] == sizes_for(SCALE).raw_transactions
    assert manifest["clean_lines"] + sum(manifest["defects"].values()) == manifest["total_lines"]

    parsed = (
        spark.read.schema(RAW_SCHEMA_DDL + ", _corrupt_record STRING")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .json(str(folder / "raw_transactions"))
        .cache()
    )
    valid = F.col("_corrupt_record").isNull()
    counts = parsed.agg(
        F.count("*"),
        F.count_if(~valid),
        F.count_if(valid & F.col("transaction_id").isNull()),
        F.count_if(valid & F.col("customer_id").isNull()),
        F.count_if(valid & (F.col("amount") <= 0)),
        F.count_if(valid & F.try_to_date("transaction_date", "yyyy-MM-dd").isNull()),
    ).first()
    parsed.unpersist()
    defects = manifest["defects"]
    assert counts[0] == manifest["total_lines"]
    assert counts[1] == defects["malformed_json"]
    assert counts[2] == defects["missing_transaction_id"]
    assert counts[3] == defects["missing_customer_id"]
    assert counts[4] == defects["non_positive_amount"]
    assert counts[5] == defects["unparseable_date"] + defects["impossible_date"]


def test_duplicates_copy_a_clean_line_and_ids_exist(raw_lines, generated, spark):
    folder = generated[0]
    clean = raw_lines.where(F.col("defect").isNull())
    duplicates = raw_lines.where(F.col("defect") == "duplicate")
    assert duplicates.join(clean, "value", "left_anti").count() == 0
    assert clean.select("value").distinct().count() == clean.count()  # the originals are unique
    fields = clean.select(F.from_json("value", RAW_SCHEMA_DDL).alias("r")).select("r.*")
    assert fields.join(_read(spark, folder, "customers"), "customer_id", "left_anti").count() == 0
    assert fields.join(_read(spark, folder, "merchants"), "merchant_id", "left_anti").count() == 0
    assert fields.join(_read(spark, folder, "transactions"), "transaction_id").count() == 0


# --------------------------------------------------------------------------- files


def test_generate_leaves_complete_folders_only(generated):
    folder, _, _ = generated
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted([*DATASETS, "_generated.json", "raw_transactions_manifest.json"])
    info = json.loads((folder / "_generated.json").read_text())
    assert (info["scale"], info["seed"]) == (SCALE, SEED)
    assert list(info["datasets"]) == list(DATASETS)


def test_ensure_generated_does_not_regenerate(generated, spark, monkeypatch):
    folder, _, _ = generated
    stamp = (folder / "_generated.json").stat().st_mtime_ns
    calls = []
    monkeypatch.setattr(datagen, "generate", lambda *args, **kwargs: calls.append(kwargs))
    info = ensure_generated(spark, folder, scale=SCALE, seed=SEED)
    assert calls == [] and info["seed"] == SEED
    assert (folder / "_generated.json").stat().st_mtime_ns == stamp

    ensure_generated(spark, folder, scale=SCALE, seed=SEED + 1)  # other data: generate again
    assert calls and calls[0]["seed"] == SEED + 1


def test_generate_refuses_to_overwrite_when_asked_not_to(generated, spark):
    folder, _, _ = generated
    with pytest.raises(ParameterError, match="overwrite"):
        generate(spark, folder, scale=SCALE, seed=SEED, datasets=["merchants"], overwrite=False)
