"""Generate the course's datasets with Spark itself, at any scale, the same for a given seed.

Four datasets describe a fictional card-payments business:

- ``customers``: people with synthetic personal data (names, emails, phones, birth dates);
- ``merchants``: shops and services, each in one category;
- ``transactions``: card payments linking the two, with skewed keys and a six-month date range;
- ``raw_transactions``: the same kind of payments as a producer sends them, as JSON Lines,
  with a known share of broken records (the ``defect`` column says which, and why).

How the data stays the same for a seed, whatever the cluster
-------------------------------------------------------------
Every row starts as a number from ``spark.range``. Every "random" value in that row is
computed from a hash of three things: the seed, the row's number, and the column's name
(its *salt*). See :func:`_uniform`. So a value depends on nothing else: not on the number
of partitions, executors or cores, nor on the order tasks run in. ``F.rand`` would not do:
it depends on which partition a row is in.

Nothing is generated in Python: each dataset is one Spark query, so it scales from a few
thousand rows on a laptop to hundreds of gigabytes on a cluster.

    spark = start_spark(master="local[2]")
    generate(spark, ".course/data", scale=0.1, seed=42)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from prodspark import paths
from prodspark.errors import ParameterError
from prodspark.frames import first_row
from prodspark.params import check_scale, check_seed, check_writable_dir
from prodspark.timing import Timer

if TYPE_CHECKING:  # pyspark is imported only when a function needs it
    from pyspark.sql import Column, DataFrame, Row, SparkSession

DATASETS = ("customers", "merchants", "transactions", "raw_transactions")

# Rows at scale 1; a scale multiplies them all.
BASE_SIZES = {"customers": 20_000, "merchants": 1_000, "transactions": 200_000, "raw_transactions": 50_000}

# Above this many rows, spark.range gets one partition (so one output file) per million rows.
ROWS_PER_PARTITION = 1_000_000

# The broken records in raw_transactions, with the share of lines each kind gets.
DEFECT_RATES = (
    ("malformed_json", 0.02),  # a line cut short: not JSON at all
    ("missing_transaction_id", 0.01),
    ("missing_customer_id", 0.01),
    ("non_positive_amount", 0.01),  # 0 or negative
    ("unparseable_date", 0.005),  # "yesterday", "15/13/2024"
    ("impossible_date", 0.005),  # "2024-02-30", "2024-13-01"
    ("duplicate", 0.01),  # an exact copy of an earlier clean line
)
DEFECTS = tuple(name for name, _ in DEFECT_RATES)
DEFECT_SLOTS = 200  # every rate above is a whole number of 1/200ths (0.5%)
_DEFECT_TABLE = tuple(name for name, rate in DEFECT_RATES for _ in range(round(rate * DEFECT_SLOTS)))
assert len(_DEFECT_TABLE) == round(sum(rate for _, rate in DEFECT_RATES) * DEFECT_SLOTS)

# write_samples looks for its examples of each defect in this many first lines.
SAMPLE_SEARCH_LINES = 5_000

# The producer's contract for raw_transactions: what a reader should expect on each line.
RAW_SCHEMA_DDL = (
    "transaction_id STRING, customer_id STRING, merchant_id STRING, amount DECIMAL(12,2), "
    "currency STRING, transaction_date STRING, merchant_category STRING, channel STRING"
)

# Transactions happen from 2024-01-01 00:00:00 UTC to 2024-06-30 23:59:59 UTC.
FIRST_DAY = dt.date(2024, 1, 1)
LAST_DAY = dt.date(2024, 6, 30)

FIRST_NAMES = (
    "Alex", "Avery", "Bailey", "Blake", "Cameron", "Casey", "Charlie", "Dakota", "Drew", "Eden",
    "Elliot", "Emery", "Finley", "Frankie", "Harper", "Hayden", "Jamie", "Jesse", "Jordan", "Jules",
    "Kai", "Kendall", "Logan", "Morgan", "Noel", "Parker", "Peyton", "Quinn", "Reese", "Riley",
    "Robin", "Rowan", "Sage", "Sam", "Skyler", "Taylor", "Terry", "Toby", "Val", "Wren",
)
LAST_NAMES = (
    "Ashdown", "Birchwood", "Blackthorn", "Bramblefield", "Brightwater", "Brookhollow", "Cobblestone",
    "Copperleaf", "Dunmoor", "Elmsworth", "Fairbrook", "Fernsby", "Foxglove", "Greenhill", "Hartwell",
    "Hazelby", "Hollowell", "Ironwood", "Juniperson", "Kettleby", "Larkspur", "Lindenmoor", "Meadowcroft",
    "Millbrook", "Northcott", "Oakhurst", "Pebblestone", "Quillfeather", "Ravenscroft", "Redfern",
    "Rosewater", "Silverbirch", "Stonebridge", "Thistlewood", "Underbough", "Waverly", "Whitlock",
    "Willowby", "Yarrowdale", "Zephyrton",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved for examples (RFC 2606)
CITIES = (  # (city, ISO country code)
    ("New York", "US"), ("Chicago", "US"), ("Austin", "US"), ("Seattle", "US"),
    ("Toronto", "CA"), ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"),
    ("Berlin", "DE"), ("Paris", "FR"), ("Madrid", "ES"), ("Amsterdam", "NL"),
)
COUNTRIES = tuple(sorted({country for _, country in CITIES}))
SEGMENTS = (("consumer", 0.85), ("small_business", 0.12), ("enterprise", 0.03))

CATEGORIES = (  # (category, share of merchants, the last word of their names)
    ("grocery", 0.18, "Market"),
    ("restaurants", 0.16, "Kitchen"),
    ("online_services", 0.12, "Online"),
    ("fuel", 0.10, "Fuel"),
    ("clothing", 0.10, "Outfitters"),
    ("electronics", 0.08, "Electronics"),
    ("pharmacy", 0.07, "Pharmacy"),
    ("entertainment", 0.07, "Cinemas"),
    ("travel", 0.06, "Travel"),
    ("utilities", 0.06, "Energy"),
)
NAME_WORDS = (
    "Blue", "Harbor", "Maple", "Summit", "Golden", "Riverside", "Cedar", "Lantern", "Orchard", "Granite",
    "Willow", "Beacon", "Prairie", "Coral", "Falcon", "Meadow", "Crescent", "Pioneer", "Aurora", "Juniper",
)

CURRENCIES = (("USD", 0.80), ("EUR", 0.12), ("GBP", 0.08))
CHANNELS = (("online", 0.45), ("in_store", 0.35), ("mobile", 0.20))
STATUSES = (("approved", 0.93), ("declined", 0.05), ("refunded", 0.02))

# Amounts: log-normal-ish around a median, plus rare "big ticket" payments.
MEDIAN_AMOUNT = 35.0
AMOUNT_SPREAD = 1.1  # the sigma of the log of the amount
BIG_TICKET_SHARE = 0.005  # these are 10 to 50 times larger

UNPARSEABLE_DATES = ("yesterday", "15/13/2024", "N/A", "03-15-2024")
IMPOSSIBLE_DATES = ("2024-02-30", "2024-13-01", "2024-04-31", "2024-00-10")

# Skew: a row draws u uniform in [0, 1) and takes index floor(n * u**power).
CUSTOMER_SKEW_POWER = 2  # moderate: the busiest customer has ~1/sqrt(n) of all payments
MERCHANT_SKEW_POWER = 4  # heavy: the busiest merchant has ~1/n**(1/4) of all payments


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """How many rows each dataset has at one scale."""

    customers: int
    merchants: int
    transactions: int
    raw_transactions: int


def sizes_for(scale: float) -> Sizes:
    """Row counts at ``scale``: ``max(1, round(base * scale))`` for each dataset."""
    scale = check_scale(scale)
    return Sizes(**{name: max(1, round(base * scale)) for name, base in BASE_SIZES.items()})


# --------------------------------------------------------------------------- building blocks


def _uniform(seed: int, salt: str, id_col: str | Column = "id") -> Column:
    """A pseudo-random double in [0, 1), fixed by (seed, salt, row id) and nothing else.

    xxhash64 gives a 64-bit number; its lowest 53 bits, divided by 2**53, are a double
    in [0, 1) (a double holds 53 bits exactly). Use a different salt for each column, so
    that columns of one row are independent of each other.
    """
    from pyspark.sql import functions as F

    row_id = F.col(id_col) if isinstance(id_col, str) else id_col
    hashed = F.xxhash64(F.lit(seed).cast("long"), F.lit(salt), row_id.cast("long"))
    return F.pmod(hashed, F.lit(2**53)).cast("double") / float(2**53)


def _index(u: Column, n: int | Column) -> Column:
    """A whole number in 0..n-1 from a uniform u in [0, 1): each equally likely."""
    from pyspark.sql import functions as F

    return F.floor(u * n)


def _skewed_index(u: Column, n: int, power: int) -> Column:
    """A whole number in 0..n-1 where small numbers are much more likely (u**power)."""
    from pyspark.sql import functions as F

    return F.floor(F.pow(u, power) * n)  # Spark's pow is StrictMath.pow: the same on every JVM


def _pick(values: Sequence[str], u: Column) -> Column:
    """One of ``values``, each equally likely."""
    from pyspark.sql import functions as F

    return F.element_at(F.array(*[F.lit(v) for v in values]), (_index(u, len(values)) + 1).cast("int"))


def _weighted(choices: Sequence[tuple[str, float]], u: Column) -> Column:
    """One of the values in ``(value, weight)`` pairs, with probability proportional to weight."""
    from pyspark.sql import functions as F

    total = sum(weight for _, weight in choices)
    picked = None
    cumulative = 0.0
    for value, weight in choices[:-1]:
        cumulative += weight / total
        picked = (F if picked is None else picked).when(u < cumulative, F.lit(value))
    last = F.lit(choices[-1][0])
    return last if picked is None else picked.otherwise(last)


def _date_between(first: dt.date, last: dt.date, u: Column) -> Column:
    """A date from ``first`` to ``last`` (both included), each day equally likely."""
    from pyspark.sql import functions as F

    days = (last - first).days + 1
    return F.date_add(F.lit(first), _index(u, days).cast("int"))


def _id_width(count: int, minimum: int) -> int:
    """Digits for zero-padded ids up to ``count``: at least ``minimum``, so ids sort as text."""
    return max(minimum, len(str(count)))


def _padded_id(prefix: str, number: Column, width: int) -> Column:
    """``prefix`` and ``number`` zero-padded to ``width`` digits: ("C", 12, 7) -> "C0000012"."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(prefix), F.lpad(number.cast("string"), width, "0"))


def _customer_id(number: Column, sizes: Sizes) -> Column:
    return _padded_id("C", number, _id_width(sizes.customers, 7))


def _merchant_id(number: Column, sizes: Sizes) -> Column:
    return _padded_id("M", number, _id_width(sizes.merchants, 6))


def _transaction_id(number: Column, sizes: Sizes) -> Column:
    # raw_transactions continue the numbering of transactions, so ids never collide
    return _padded_id("T", number, _id_width(sizes.transactions + sizes.raw_transactions, 9))


def _row_numbers(spark: SparkSession, rows: int, num_partitions: int | None) -> DataFrame:
    """Rows numbered 1..rows in a column ``id``, in ``num_partitions`` partitions.

    By default, Spark's default parallelism up to a million rows, then one partition per
    million rows. The partitioning changes files and speed only, never the values.
    """
    if num_partitions is None and rows > ROWS_PER_PARTITION:
        num_partitions = math.ceil(rows / ROWS_PER_PARTITION)
    return spark.range(1, rows + 1, 1, num_partitions)


def _check_partitions(num_partitions: object) -> int | None:
    if num_partitions is None:
        return None
    if isinstance(num_partitions, bool) or not isinstance(num_partitions, int) or num_partitions < 1:
        raise ParameterError(f"num_partitions must be a whole number 1 or more, or None; got {num_partitions!r}.")
    return num_partitions


# --------------------------------------------------------------------------- datasets


def customers_df(spark: SparkSession, scale: float = 1.0, seed: int = 42, *,
                 num_partitions: int | None = None) -> DataFrame:
    """Customers with synthetic personal data (the course's PII for the security module).

    Names come from invented lists, emails use the reserved example.* domains and phone
    numbers the 555-0100..555-0199 range kept for fiction: none of it reaches a real person.
    """
    from pyspark.sql import functions as F

    sizes = sizes_for(scale)
    seed = check_seed(seed)

    def u(salt: str) -> Column:
        return _uniform(seed, f"customers.{salt}")

    city = _index(u("city"), len(CITIES)) + 1
    people = _row_numbers(spark, sizes.customers, _check_partitions(num_partitions)).select(
        "id",
        _pick(FIRST_NAMES, u("first_name")).alias("first_name"),
        _pick(LAST_NAMES, u("last_name")).alias("last_name"),
        _pick(EMAIL_DOMAINS, u("email_domain")).alias("email_domain"),
        (200 + _index(u("area_code"), 800)).alias("area_code"),
        _index(u("phone_line"), 100).alias("phone_line"),
        F.element_at(F.array(*[F.lit(name) for name, _ in CITIES]), city.cast("int")).alias("city"),
        F.element_at(F.array(*[F.lit(code) for _, code in CITIES]), city.cast("int")).alias("country"),
        _date_between(dt.date(1940, 1, 1), dt.date(2005, 12, 31), u("date_of_birth")).alias("date_of_birth"),
        _date_between(dt.date(2015, 1, 1), dt.date(2023, 12, 31), u("signup_date")).alias("signup_date"),
        _weighted(SEGMENTS, u("segment")).alias("segment"),
    )
    email = F.lower(F.concat("first_name", F.lit("."), "last_name", F.lit("."), "id", F.lit("@"), "email_domain"))
    return people.select(
        _customer_id(F.col("id"), sizes).alias("customer_id"),
        "first_name",
        "last_name",
        email.alias("email"),
        F.format_string("+1-%d-555-01%02d", "area_code", "phone_line").alias("phone"),
        "date_of_birth",
        "city",
        "country",
        "signup_date",
        "segment",
    )


def _merchant_category(seed: int, merchant_number: Column) -> Column:
    """The category of a merchant: shared by merchants_df and raw_transactions_lines."""
    shares = [(name, share) for name, share, _ in CATEGORIES]
    return _weighted(shares, _uniform(seed, "merchants.category", merchant_number))


def merchants_df(spark: SparkSession, scale: float = 1.0, seed: int = 42, *,
                 num_partitions: int | None = None) -> DataFrame:
    """Merchants: an invented name, a category, a country and an opening date."""
    from pyspark.sql import functions as F

    sizes = sizes_for(scale)
    seed = check_seed(seed)

    def u(salt: str) -> Column:
        return _uniform(seed, f"merchants.{salt}")

    category = _merchant_category(seed, F.col("id"))
    ending_of = F.create_map(*[F.lit(x) for name, _, word in CATEGORIES for x in (name, word)])
    name_ending = F.element_at(ending_of, category)
    merchants = _row_numbers(spark, sizes.merchants, _check_partitions(num_partitions))
    return merchants.select(
        _merchant_id(F.col("id"), sizes).alias("merchant_id"),
        F.concat_ws(" ", _pick(NAME_WORDS, u("name_1")), _pick(NAME_WORDS, u("name_2")), name_ending)
        .alias("merchant_name"),
        category.alias("category"),
        _pick(COUNTRIES, u("country")).alias("country"),
        _date_between(dt.date(2000, 1, 1), dt.date(2023, 12, 31), u("opened_date")).alias("opened_date"),
    )


def _amount(seed: int, number: Column) -> Column:
    """A positive amount, DECIMAL(12,2): log-normal-ish, typically 5 to 500, rarely thousands."""
    from pyspark.sql import functions as F

    def u(salt: str) -> Column:
        return _uniform(seed, f"transactions.amount.{salt}", number)

    # The sum of 4 uniforms is close to a bell curve: mean 2, standard deviation 1/sqrt(3).
    normal = (u("a") + u("b") + u("c") + u("d") - 2.0) * math.sqrt(3.0)
    amount = F.exp(F.lit(math.log(MEDIAN_AMOUNT)) + AMOUNT_SPREAD * normal)
    big_ticket = F.when(u("big") < BIG_TICKET_SHARE, 10 + 40 * u("factor")).otherwise(1.0)
    return (amount * big_ticket).cast("decimal(12,2)")


def _merchant_number(seed: int, sizes: Sizes, number: Column) -> Column:
    """Which merchant a transaction goes to: 1 is the busiest, then 2, and so on."""
    return _skewed_index(_uniform(seed, "transactions.merchant", number), sizes.merchants, MERCHANT_SKEW_POWER) + 1


def _transaction_columns(seed: int, sizes: Sizes, number: Column) -> dict[str, Column]:
    """Every field of transaction ``number``: shared by transactions_df and the raw lines."""
    from pyspark.sql import functions as F

    def u(salt: str) -> Column:
        return _uniform(seed, f"transactions.{salt}", number)

    customer = _skewed_index(u("customer"), sizes.customers, CUSTOMER_SKEW_POWER) + 1
    seconds = _index(u("time"), ((LAST_DAY - FIRST_DAY).days + 1) * 86_400)
    first_second = int(dt.datetime.combine(FIRST_DAY, dt.time(), dt.UTC).timestamp())
    return {
        "transaction_id": _transaction_id(number, sizes),
        "customer_id": _customer_id(customer, sizes),
        "merchant_id": _merchant_id(_merchant_number(seed, sizes, number), sizes),
        "amount": _amount(seed, number),
        "currency": _weighted(CURRENCIES, u("currency")),
        "transaction_ts": F.timestamp_seconds(F.lit(first_second) + seconds),
        # the UTC calendar day, computed without the session time zone
        "transaction_date": F.date_add(F.lit(FIRST_DAY), F.floor(seconds / 86_400).cast("int")),
        "channel": _weighted(CHANNELS, u("channel")),
        "status": _weighted(STATUSES, u("status")),
    }


def transactions_df(spark: SparkSession, scale: float = 1.0, seed: int = 42, *,
                    num_partitions: int | None = None) -> DataFrame:
    """Card payments from 2024-01-01 to 2024-06-30 (UTC), with skewed customers and merchants.

    Every customer_id and merchant_id exists in customers_df/merchants_df of the same
    scale and seed. transaction_date is the UTC day of transaction_ts.
    """
    from pyspark.sql import functions as F

    sizes = sizes_for(scale)
    seed = check_seed(seed)
    columns = _transaction_columns(seed, sizes, F.col("id"))
    payments = _row_numbers(spark, sizes.transactions, _check_partitions(num_partitions))
    return payments.select(*[column.alias(name) for name, column in columns.items()])


def _planned_defect(draw: Column) -> Column:
    """The defect a line's draw (uniform in [0, 1)) asks for, by DEFECT_RATES; null for clean.

    [0, 1) is cut into DEFECT_SLOTS slots of 0.5% each: the first slots name a defect (four
    for malformed_json's 2%, ...), the others are clean (try_element_at gives null past
    the end). One lookup instead of a chain of comparisons keeps the query small.
    """
    from pyspark.sql import functions as F

    table = F.array(*[F.lit(name) for name in _DEFECT_TABLE])
    return F.try_element_at(table, (F.floor(draw * DEFECT_SLOTS) + 1).cast("int"))


def _raw_defects(spark: SparkSession, seed: int, sizes: Sizes, num_partitions: int | None) -> DataFrame:
    """Line numbers (``id``) with their ``defect`` and ``record`` (the line whose payment they carry).

    A duplicate copies an earlier line, picked by hash. Only a clean line may be copied:
    when the picked line is not clean, the would-be duplicate stays a clean line itself.
    """
    from pyspark.sql import functions as F

    line = F.col("id")
    earlier = _index(_uniform(seed, "raw.duplicate_of"), line - 1) + 1  # one of the lines 1..id-1
    draws = _row_numbers(spark, sizes.raw_transactions, num_partitions).select(
        "id", _uniform(seed, "raw.defect").alias("draw"), earlier.alias("earlier")
    ).withColumn("earlier_draw", _uniform(seed, "raw.defect", "earlier"))

    planned = _planned_defect(F.col("draw"))
    can_copy = (line > 1) & _planned_defect(F.col("earlier_draw")).isNull()
    defect = F.when((planned == "duplicate") & ~can_copy, F.lit(None).cast("string")).otherwise(planned)
    record = F.when(F.col("defect") == "duplicate", F.col("earlier")).otherwise(line)
    return draws.select("id", "earlier", defect.alias("defect")).select("id", "defect", record.alias("record"))


def _cut_after_comma(seed: int, line: Column, defect: Column) -> Column:
    """Where a malformed line is cut: after its 1st to 7th comma (the JSON object never closes).

    Other lines get a cut after their 1000th comma, that is, they are left whole:
    ``substring_index`` keeps the whole text when it has fewer commas than asked for.
    """
    from pyspark.sql import functions as F

    return F.when(defect == "malformed_json", 1 + _index(_uniform(seed, "raw.malformed", line), 7)).otherwise(1000)


def _raw_lines(spark: SparkSession, scale: float, seed: int, num_partitions: int | None) -> DataFrame:
    """raw_transactions with the helper columns ``id`` (line number) and ``record``.

    Built in steps (defects, then fields, then the JSON line), each a select: Spark keeps
    a step apart when its columns are used more than once, so every hash is computed once
    per row.
    """
    from pyspark.sql import functions as F

    sizes = sizes_for(scale)
    seed = check_seed(seed)
    defects = _raw_defects(spark, seed, sizes, _check_partitions(num_partitions))

    # 1. the payment each line carries: raw records continue the numbering of transactions
    number = sizes.transactions + F.col("record")
    fields = _transaction_columns(seed, sizes, number)
    payments = defects.select(
        "id", "record", "defect",
        *[fields[name].alias(name) for name in ("transaction_id", "customer_id", "merchant_id", "amount")],
        fields["currency"].alias("currency"),
        fields["transaction_date"].cast("string").alias("transaction_date"),
        _merchant_category(seed, _merchant_number(seed, sizes, number)).alias("merchant_category"),
        fields["channel"].alias("channel"),
    )

    # 2. the defects that change a field, then the line as JSON (a null field: its key is left out)
    kind, line = F.coalesce(F.col("defect"), F.lit("clean")), F.col("id")
    amount = F.col("amount")
    zero = F.lit(0).cast("decimal(12,2)")
    bad_amount = F.when(_uniform(seed, "raw.amount_sign", line) < 0.5, zero).otherwise(-amount)
    bad_date = F.when(kind == "unparseable_date", _pick(UNPARSEABLE_DATES, _uniform(seed, "raw.date", line)))
    bad_date = bad_date.when(kind == "impossible_date", _pick(IMPOSSIBLE_DATES, _uniform(seed, "raw.date", line)))
    record = F.struct(
        F.when(kind != "missing_transaction_id", F.col("transaction_id")).alias("transaction_id"),
        F.when(kind != "missing_customer_id", F.col("customer_id")).alias("customer_id"),
        "merchant_id",
        F.when(kind == "non_positive_amount", bad_amount).otherwise(amount).alias("amount"),
        "currency",
        bad_date.otherwise(F.col("transaction_date")).alias("transaction_date"),
        "merchant_category",
        "channel",
    )
    value = F.to_json(record, {"ignoreNullFields": "true"})

    # 3. malformed lines are cut short, as by a lost connection: not JSON at all
    cut = _cut_after_comma(seed, line, kind).cast("int")
    value = F.call_function("substring_index", value, F.lit(","), cut)  # F.substring_index wants a fixed count
    return _computed_once(payments.select("id", "record", value.alias("value"), "defect"))


def _computed_once(df: DataFrame) -> DataFrame:
    """The same rows, behind a step that Spark's optimizer does not look through.

    For a filter such as ``.where(F.col("value").contains("T000"))``, or a join on
    ``value``, Spark moves the test down to the rows from spark.range, writing out each
    column as the expression that computes it. For the raw lines that expression holds
    hundreds of hashes, too big for the JVM (a compiled method is at most 64 KB): Spark
    logs "Failed to compile the generated Java code" and runs slowly. A generator such as
    ``inline`` (here: one row out for each row in) stops that, so each line is built once.
    """
    from pyspark.sql import functions as F

    return df.select(F.inline(F.array(F.struct(*df.columns))))


def raw_transactions_lines(spark: SparkSession, scale: float = 1.0, seed: int = 42, *,
                           num_partitions: int | None = None) -> DataFrame:
    """Payments as a producer sends them: ``value`` (one JSON Lines record) and ``defect``.

    ``defect`` is null for a clean line, else one of DEFECTS: the ground truth for checking
    a cleaning pipeline. Only ``value`` is written to disk. Clean lines follow the same logic
    as transactions_df, with transaction ids that continue after the last transaction.
    """
    return _raw_lines(spark, scale, seed, num_partitions).select("value", "defect")


# --------------------------------------------------------------------------- writing


def _check_datasets(datasets: object) -> tuple[str, ...]:
    """The requested dataset names, in the order of DATASETS."""
    names = (datasets,) if isinstance(datasets, str) else datasets
    try:
        requested = set(cast("Iterable[object]", names))  # not iterable: TypeError, below
    except TypeError:
        raise ParameterError(f"datasets must be a list of names from {DATASETS}, got {datasets!r}.") from None
    unknown = sorted(str(name) for name in requested - set(DATASETS))
    if unknown or not requested:
        raise ParameterError(
            f"datasets must name one or more of {', '.join(DATASETS)}; got {datasets!r}"
            + (f" (unknown: {', '.join(unknown)})." if unknown else ".")
        )
    return tuple(name for name in DATASETS if name in requested)


def _write_atomically(folder: Path, name: str, write: Callable[[str], None]) -> Path:
    """Let ``write`` fill ``<name>.tmp-<uuid>``, then put it in place of ``<name>``.

    An interrupted run leaves only a ``.tmp-`` folder behind, never a half-written
    ``<name>`` that looks complete.
    """
    final = folder / name
    temporary = folder / f"{name}.tmp-{uuid.uuid4().hex}"
    try:
        write(str(temporary))
        if final.exists():
            shutil.rmtree(final)
        temporary.rename(final)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return final


def _write_json(path: Path, content: dict) -> None:
    """Write a small JSON file: to a temporary name first, then renamed into place."""
    temporary = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
    temporary.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _defect_manifest(lines: DataFrame) -> dict:
    """Lines per defect, counted by Spark: the ground truth a cleaning pipeline is checked against."""
    counts = {row["defect"]: row["count"] for row in lines.groupBy("defect").count().collect()}
    return {
        "total_lines": sum(counts.values()),
        "clean_lines": counts.get(None, 0),
        "defects": {name: counts.get(name, 0) for name in DEFECTS},
    }


def _write_dataset(spark: SparkSession, folder: Path, name: str, scale: float, seed: int) -> dict:
    """Write one dataset under ``folder``; return its path and row count."""
    if name == "raw_transactions":
        lines = raw_transactions_lines(spark, scale, seed)
        path = _write_atomically(folder, name, lambda target: lines.select("value").write.text(target))
        manifest = {"scale": scale, "seed": seed, "path": name, **_defect_manifest(lines)}
        _write_json(folder / "raw_transactions_manifest.json", manifest)
        return {"path": str(path), "rows": manifest["total_lines"]}
    make = {"customers": customers_df, "merchants": merchants_df, "transactions": transactions_df}[name]
    path = _write_atomically(folder, name, lambda target: make(spark, scale, seed).write.parquet(target))
    return {"path": str(path), "rows": getattr(sizes_for(scale), name)}


def _default_progress(message: str) -> None:
    print(message, flush=True)


def _read_generated(folder: Path) -> dict | None:
    """The content of ``_generated.json``, or None when it is missing or unreadable."""
    try:
        return json.loads((folder / "_generated.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def generate(
    spark: SparkSession,
    data_dir: str | os.PathLike | None,
    scale: float = 1.0,
    seed: int = 42,
    datasets: Iterable[str] = DATASETS,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = True,
) -> dict[str, dict]:
    """Write the datasets under ``data_dir``; return {name: {"path", "rows", "seconds"}}.

    customers, merchants and transactions are Parquet folders; raw_transactions is a
    folder of JSON Lines text files, with its defect counts in raw_transactions_manifest.json.
    ``_generated.json`` (scale, seed, sizes, versions) is written last: it is there only
    when every dataset it lists was written completely.
    """
    import pyspark

    scale, seed = check_scale(scale), check_seed(seed)
    names = _check_datasets(datasets)
    folder = check_writable_dir(data_dir, "data_dir", paths.default_data_dir())
    if not overwrite:
        existing = [name for name in names if (folder / name).exists()]
        if existing:
            raise ParameterError(
                f"{', '.join(existing)} already exist(s) in {str(folder)!r}; pass overwrite=True to replace them."
            )
    report = progress or _default_progress

    previous = _read_generated(folder)
    (folder / "_generated.json").unlink(missing_ok=True)  # from here on, the folder is incomplete
    results: dict[str, dict] = {}
    for number, name in enumerate(names, 1):
        with Timer() as timer:
            written = _write_dataset(spark, folder, name, scale, seed)
        results[name] = {**written, "seconds": round(timer.seconds, 3)}
        report(f"[{number}/{len(names)}] {name}: {written['rows']:,} rows in {timer.seconds:.1f} s")

    listed = dict(results)
    if previous and previous.get("scale") == scale and previous.get("seed") == seed:
        # datasets written earlier with the same scale and seed stay listed
        for name, entry in previous.get("datasets", {}).items():
            if name in DATASETS and name not in listed and (folder / name).is_dir():
                listed[name] = entry
    _write_json(folder / "_generated.json", {
        "scale": scale,
        "seed": seed,
        "sizes": asdict(sizes_for(scale)),
        "pyspark": pyspark.__version__,
        "datasets": {name: listed[name] for name in DATASETS if name in listed},
    })
    return results


def ensure_generated(spark: SparkSession, data_dir: str | os.PathLike | None, scale: float = 1.0,
                     seed: int = 42) -> dict:
    """Generate the datasets unless ``data_dir`` already holds all of them for this scale and seed.

    Returns the content of ``_generated.json``. Notebooks call this: a re-run is instant.
    """
    scale, seed = check_scale(scale), check_seed(seed)
    folder = check_writable_dir(data_dir, "data_dir", paths.default_data_dir())
    info = _read_generated(folder)
    complete = (
        info is not None
        and info.get("scale") == scale
        and info.get("seed") == seed
        and all(name in info.get("datasets", {}) and (folder / name).is_dir() for name in DATASETS)
    )
    if not complete:
        generate(spark, folder, scale=scale, seed=seed)
        info = _read_generated(folder)
    if info is None:
        raise RuntimeError(f"{folder / '_generated.json'} could not be read back after the data was generated.")
    return info


# --------------------------------------------------------------------------- samples


@contextmanager
def _utc_session(spark: SparkSession) -> Iterator[None]:
    """Show timestamps in UTC inside the block, whatever the session's time zone."""
    key = "spark.sql.session.timeZone"
    before = spark.conf.get(key)
    spark.conf.set(key, "UTC")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def _write_csv(df: DataFrame, path: Path) -> None:
    """A small DataFrame as CSV with a header; every value formatted by Spark as text."""
    import csv

    from pyspark.sql import functions as F

    rows = df.select([F.col(name).cast("string").alias(name) for name in df.columns]).collect()
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(df.columns)
        writer.writerows(["" if value is None else value for value in row] for row in rows)


def _sample_raw_lines(spark: SparkSession, seed: int, rows: int) -> list[Row]:
    """The first clean lines, plus the first line of each defect, in line order (scale 1).

    The duplicate shown is the first one whose original is among the clean lines shown.
    Only the first SAMPLE_SEARCH_LINES lines are searched: each defect appears there.
    """
    from pyspark.sql import functions as F

    lines = _raw_lines(spark, 1.0, seed, None).where(F.col("id") <= SAMPLE_SEARCH_LINES).cache()
    try:
        clean = lines.where(F.col("defect").isNull()).orderBy("id").limit(max(1, rows - len(DEFECTS)))
        last_clean = first_row(clean.agg(F.max("id")))[0]
        showable = (F.col("defect") != "duplicate") | (F.col("record") <= last_clean)
        firsts = lines.where(F.col("defect").isNotNull() & showable).groupBy("defect").agg(F.min("id").alias("id"))
        sample = lines.join(firsts.select("id"), "id").unionByName(clean)
        return sample.orderBy("id").select("value", "defect").collect()
    finally:
        lines.unpersist()


def write_samples(spark: SparkSession, out_dir: str | os.PathLike | None = None, seed: int = 42,
                  rows: int = 20) -> dict[str, Path]:
    """Write small samples of every dataset at scale 1 (the ones in datasets/samples).

    ``customers.csv``, ``merchants.csv``, ``transactions.csv``: the first ``rows`` rows by id;
    ``raw_transactions.jsonl``: 2 * ``rows`` lines, with the first example of every defect;
    ``raw_transactions_defects.csv``: which of those lines (1 = the first) have which defect.
    """
    from pyspark.sql import functions as F

    seed = check_seed(seed)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError(f"rows must be a whole number 1 or more, got {rows!r}.")
    folder = check_writable_dir(out_dir, "out_dir", paths.REPO_ROOT / "datasets" / "samples")
    sizes = sizes_for(1.0)
    firsts = {  # the first `rows` rows of each dataset: their ids are the smallest ones
        "customers": customers_df(spark, 1.0, seed).where(F.col("customer_id") <= _customer_id(F.lit(rows), sizes)),
        "merchants": merchants_df(spark, 1.0, seed).where(F.col("merchant_id") <= _merchant_id(F.lit(rows), sizes)),
        "transactions": transactions_df(spark, 1.0, seed)
        .where(F.col("transaction_id") <= _transaction_id(F.lit(rows), sizes)),
    }
    written = {}
    with _utc_session(spark):
        for name, first_rows in firsts.items():
            written[name] = folder / f"{name}.csv"
            _write_csv(first_rows.orderBy(first_rows.columns[0]), written[name])
    lines = _sample_raw_lines(spark, seed, 2 * rows)
    written["raw_transactions"] = folder / "raw_transactions.jsonl"
    written["raw_transactions"].write_text("".join(line["value"] + "\n" for line in lines), encoding="utf-8")
    written["raw_transactions_defects"] = folder / "raw_transactions_defects.csv"
    labels = ["line,defect"]
    labels += [f"{number},{line['defect']}" for number, line in enumerate(lines, 1) if line["defect"]]
    written["raw_transactions_defects"].write_text("\n".join(labels) + "\n", encoding="utf-8")
    return written
