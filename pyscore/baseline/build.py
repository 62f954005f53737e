"""This module contains the offline baseline build: SQL aggregates of Parquet events -> a snapshot.

The aggregates are written once in SQL that DuckDB (the embedded default) and
Spark SQL both run (with explicit DOUBLE casts: DuckDB reads ``2.0`` as a DECIMAL); only the views that flatten the recipient and reply-to
lists differ (``unnest`` vs ``LATERAL VIEW explode``). Both engines give the
same tables, row for row; the decayed counts are sums of doubles whose order
may differ in the last bit, which the float32 store absorbs.

The aggregates equal what the online store computes when it observes the same
events in time order (tested), so a snapshot built here and one grown online
answer the same lookups. Definitions (per tenant):

- senders / domains: messages sent, first and last time, active UTC days,
  decayed count at the last time (sum of 2^-((last - t) / half_life)),
  verdict counts, distinct recipients (senders) or distinct senders
  (domains), and solicited: recipient rows of messages sent by the tenant's
  own members to this address / domain;
- global domains (across tenants): the same, distinct = number of tenants;
- pairs and reply-to pairs: count, first, last, decayed;
- recipients: received, from first-time senders (the message has its
  sender's first time), malicious and spam counts, first time;
- names: messages, and the first six addresses by (first time, address).
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pyscore.baseline.store import (
    ENTRY_DTYPES,
    NAME_SLOTS,
    SECONDS_PER_DAY,
    BaselineStore,
    hash_column,
)

ENGINES = ("duckdb", "spark")


def _counts(prefix: str = "") -> str:
    return ", ".join(
        f"CAST(sum(CASE WHEN {prefix}verdict = '{v}' THEN 1 ELSE 0 END) AS BIGINT) AS {v}"
        for v in ("benign", "malicious", "spam")
    )


def _entity_sql(key: str, partition: str, tenant_expr: str, distinct: str, solicited_sql: str | None, h: float) -> str:
    """Sent stats grouped by (tenant_expr, key), joined with distinct and solicited counts."""
    sol_cte = solicited_sql or "SELECT '' AS tenant, '' AS k, CAST(0 AS BIGINT) AS solicited FROM ev WHERE 1 = 0"
    return f"""
WITH w AS (
  SELECT {tenant_expr} AS tenant, {key} AS k, sender, t, verdict,
         max(t) OVER (PARTITION BY {partition}) AS last_t
  FROM ev),
sent AS (
  SELECT tenant, k, min(t) AS first_seen, max(t) AS last_seen,
         sum(pow(2.0, CAST(t - last_t AS DOUBLE) / CAST({h!r} AS DOUBLE))) AS decayed,
         count(*) AS messages, count(DISTINCT floor(CAST(t AS DOUBLE) / CAST(86400 AS DOUBLE))) AS active_days, {_counts()}
  FROM w GROUP BY tenant, k),
dist AS (SELECT tenant, k, count(DISTINCT {distinct}) AS d FROM ({{dist_source}}) ds GROUP BY tenant, k),
sol AS ({sol_cte}),
keys AS (SELECT tenant, k FROM sent UNION SELECT tenant, k FROM sol)
SELECT keys.tenant AS tenant, keys.k AS k,
  coalesce(sent.first_seen, 0) AS first_seen, coalesce(sent.last_seen, 0) AS last_seen,
  coalesce(sent.decayed, 0.0) AS decayed, coalesce(sent.messages, 0) AS messages,
  coalesce(sent.active_days, 0) AS active_days, coalesce(dist.d, 0) AS distinct_count,
  coalesce(sol.solicited, 0) AS solicited, coalesce(sent.benign, 0) AS benign,
  coalesce(sent.malicious, 0) AS malicious, coalesce(sent.spam, 0) AS spam
FROM keys
LEFT JOIN sent ON keys.tenant = sent.tenant AND keys.k = sent.k
LEFT JOIN dist ON keys.tenant = dist.tenant AND keys.k = dist.k
LEFT JOIN sol ON keys.tenant = sol.tenant AND keys.k = sol.k
ORDER BY tenant, k
"""  # {dist_source}: the rows counted for `distinct`, filled per table


def _pair_sql(source: str, other: str, h: float) -> str:
    return f"""
WITH w AS (
  SELECT tenant, sender, {other} AS other, t,
         max(t) OVER (PARTITION BY tenant, sender, {other}) AS last_t
  FROM {source})
SELECT tenant, sender, other, min(t) AS first_seen, max(t) AS last_seen,
       sum(pow(2.0, CAST(t - last_t AS DOUBLE) / CAST({h!r} AS DOUBLE))) AS decayed, count(*) AS n
FROM w GROUP BY tenant, sender, other
ORDER BY tenant, sender, other
"""


def aggregate_sql(half_life_seconds: float) -> dict[str, str]:
    """The SQL of every aggregate table, over views ev, ev_rcpt and ev_reply."""
    h = float(half_life_seconds)
    senders = _entity_sql(
        "sender", "tenant, sender", "tenant", "address",
        "SELECT tenant, address AS k, count(*) AS solicited FROM ev_rcpt WHERE sender_own GROUP BY tenant, address", h,
    ).replace("{dist_source}", "SELECT tenant, sender AS k, address FROM ev_rcpt")
    domains = _entity_sql(
        "sender_domain", "tenant, sender_domain", "tenant", "sender",
        "SELECT tenant, domain AS k, count(*) AS solicited FROM ev_rcpt WHERE sender_own GROUP BY tenant, domain", h,
    ).replace("{dist_source}", "SELECT tenant, sender_domain AS k, sender FROM ev")
    global_domains = _entity_sql(
        "sender_domain", "sender_domain", "''", "tn", None, h,
    ).replace("{dist_source}", "SELECT '' AS tenant, sender_domain AS k, tenant AS tn FROM ev")
    return {
        "senders": senders,
        "domains": domains,
        "global_domains": global_domains,
        "pairs": _pair_sql("ev_rcpt", "address", h),
        "reply_to": _pair_sql("ev_reply", "reply_to", h),
        "recipients": f"""
WITH sf AS (SELECT tenant, sender, min(t) AS first_t FROM ev GROUP BY tenant, sender)
SELECT r.tenant AS tenant, r.address AS address, min(r.t) AS first_seen, count(*) AS received,
       CAST(sum(CASE WHEN r.t = sf.first_t THEN 1 ELSE 0 END) AS BIGINT) AS from_first_time,
       {_counts("r.")}
FROM ev_rcpt r JOIN sf ON r.tenant = sf.tenant AND r.sender = sf.sender
GROUP BY r.tenant, r.address
ORDER BY tenant, address
""",
        "names": """
SELECT tenant, name_key, count(*) AS messages, count(DISTINCT sender) AS distinct_count
FROM ev WHERE name_key <> '' GROUP BY tenant, name_key ORDER BY tenant, name_key
""",
        "name_addresses": f"""
WITH f AS (SELECT tenant, name_key, sender, min(t) AS first_t FROM ev WHERE name_key <> ''
           GROUP BY tenant, name_key, sender),
ranked AS (SELECT tenant, name_key, sender,
                  row_number() OVER (PARTITION BY tenant, name_key ORDER BY first_t, sender) AS rk FROM f)
SELECT tenant, name_key, sender, rk FROM ranked WHERE rk <= {NAME_SLOTS} ORDER BY tenant, name_key, rk
""",
    }


_EV_COLUMNS = "tenant, message_id, {time} AS t, sender, sender_domain, name_key, sender_own, verdict, recipients, reply_to"

DUCKDB_VIEWS = [
    "CREATE OR REPLACE TEMP VIEW ev AS SELECT " + _EV_COLUMNS.format(time='"time"') + " FROM pyscore_raw_events",
    "CREATE OR REPLACE TEMP VIEW ev_rcpt AS SELECT e.tenant, e.t, e.sender, e.sender_own, e.verdict, "
    "u.r.address AS address, u.r.domain AS domain FROM ev e, unnest(e.recipients) AS u(r)",
    "CREATE OR REPLACE TEMP VIEW ev_reply AS SELECT e.tenant, e.t, e.sender, u.x AS reply_to "
    "FROM ev e, unnest(e.reply_to) AS u(x)",
]
SPARK_VIEWS = [
    "CREATE OR REPLACE TEMP VIEW ev AS SELECT " + _EV_COLUMNS.format(time="`time`") + " FROM pyscore_raw_events",
    "CREATE OR REPLACE TEMP VIEW ev_rcpt AS SELECT e.tenant, e.t, e.sender, e.sender_own, e.verdict, "
    "r.address AS address, r.domain AS domain FROM ev e LATERAL VIEW explode(e.recipients) x AS r",
    "CREATE OR REPLACE TEMP VIEW ev_reply AS SELECT e.tenant, e.t, e.sender, y AS reply_to "
    "FROM ev e LATERAL VIEW explode(e.reply_to) z AS y",
]


def _check_paths(paths: Sequence[str | os.PathLike]) -> list[str]:
    out = [str(Path(p).resolve()) for p in paths]
    if not out:
        raise ValueError("baseline build: no events files given")
    for p in out:
        if not Path(p).is_file():
            raise FileNotFoundError(f"baseline build: no events file {p}")
    return out


def aggregates_duckdb(paths: Sequence[str | os.PathLike], half_life_seconds: float) -> dict[str, pa.Table]:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.read_parquet(_check_paths(paths)).create_view("pyscore_raw_events")
        for sql in DUCKDB_VIEWS:
            con.execute(sql)
        return {name: con.sql(sql).to_arrow_table() for name, sql in aggregate_sql(half_life_seconds).items()}
    finally:
        con.close()


def aggregates_spark(paths: Sequence[str | os.PathLike], half_life_seconds: float, spark=None) -> dict[str, pa.Table]:
    """The same aggregates with Spark SQL (a local session when ``spark`` is None)."""
    from pyscore.spark import local_session

    spark = spark or local_session()
    spark.read.parquet(*_check_paths(paths)).createOrReplaceTempView("pyscore_raw_events")
    for sql in SPARK_VIEWS:
        spark.sql(sql)
    return {name: spark.sql(sql).toArrow() for name, sql in aggregate_sql(half_life_seconds).items()}


def _i64(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(pc.fill_null(table[name], 0).cast(pa.int64()), dtype=np.int64)


def _entity_records(table: pa.Table, tenant_keyed: bool) -> np.ndarray:
    keys = hash_column(table["k"], hash_column(table["tenant"])) if tenant_keyed else hash_column(table["k"])
    rec = np.zeros(table.num_rows, dtype=ENTRY_DTYPES["senders"])
    rec["key"] = keys
    rec["decayed"] = np.asarray(table["decayed"].cast(pa.float64()), dtype=np.float64)
    for name, col in (("first_seen", "first_seen"), ("last_seen", "last_seen"), ("messages", "messages"),
                      ("active_days", "active_days"), ("distinct", "distinct_count"), ("solicited", "solicited"),
                      ("benign", "benign"), ("malicious", "malicious"), ("spam", "spam")):
        rec[name] = _i64(table, col)
    return rec


def _pair_records(table: pa.Table) -> np.ndarray:
    rec = np.zeros(table.num_rows, dtype=ENTRY_DTYPES["pairs"])
    rec["key"] = hash_column(table["other"], hash_column(table["sender"], hash_column(table["tenant"])))
    rec["first_seen"], rec["last_seen"] = _i64(table, "first_seen"), _i64(table, "last_seen")
    rec["decayed"] = np.asarray(table["decayed"].cast(pa.float64()))
    rec["count"] = _i64(table, "n")
    return rec


def _recipient_records(table: pa.Table) -> np.ndarray:
    rec = np.zeros(table.num_rows, dtype=ENTRY_DTYPES["recipients"])
    rec["key"] = hash_column(table["address"], hash_column(table["tenant"]))
    for name in ("first_seen", "received", "from_first_time", "malicious", "spam"):
        rec[name] = _i64(table, name)
    return rec


def _name_records(names: pa.Table, addresses: pa.Table) -> np.ndarray:
    rec = np.zeros(names.num_rows, dtype=ENTRY_DTYPES["names"])
    rec["key"] = hash_column(names["name_key"], hash_column(names["tenant"]))
    rec["messages"] = _i64(names, "messages")
    rec["distinct"] = np.minimum(_i64(names, "distinct_count"), NAME_SLOTS)
    index = {(t, k): i for i, (t, k) in enumerate(zip(names["tenant"].to_pylist(), names["name_key"].to_pylist(), strict=True))}
    who = hash_column(addresses["sender"], hash_column(addresses["tenant"]))
    who[who == 0] = 1  # the store's key of hash 0
    for t, k, rank, h in zip(addresses["tenant"].to_pylist(), addresses["name_key"].to_pylist(),
                             _i64(addresses, "rk"), who, strict=True):
        rec["addresses"][index[(t, k)], rank - 1] = h
    return rec


def records_from_aggregates(aggs: dict[str, pa.Table]) -> dict[str, np.ndarray]:
    """The store's records (ENTRY_DTYPES) of every table from the SQL aggregates."""
    return {
        "senders": _entity_records(aggs["senders"], True),
        "domains": _entity_records(aggs["domains"], True),
        "global_domains": _entity_records(aggs["global_domains"], False),
        "pairs": _pair_records(aggs["pairs"]),
        "recipients": _recipient_records(aggs["recipients"]),
        "names": _name_records(aggs["names"], aggs["name_addresses"]),
        "reply_to": _pair_records(aggs["reply_to"]),
    }


@dataclass
class BuildReport:
    engine: str
    sql_seconds: float
    load_seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


def build_memory_store(paths: Sequence[str | os.PathLike], *, engine: str = "duckdb", half_life_days: float = 30.0,
                       spark=None) -> tuple[BaselineStore, BuildReport]:
    """An in-memory store holding the aggregates of the Parquet events files."""
    if engine not in ENGINES:
        raise ValueError(f"baseline build: engine {engine!r} is not one of {ENGINES}")
    half_life = half_life_days * SECONDS_PER_DAY
    start = _time.perf_counter()
    aggs = aggregates_duckdb(paths, half_life) if engine == "duckdb" else aggregates_spark(paths, half_life, spark)
    sql_seconds = _time.perf_counter() - start
    start = _time.perf_counter()
    store = BaselineStore.memory(half_life_days=half_life_days)
    records = records_from_aggregates(aggs)
    for table, rec in records.items():
        store.put_entries(table, rec)
    report = BuildReport(engine, sql_seconds, _time.perf_counter() - start,
                         {t: len(r) for t, r in records.items()}, store.stats())
    return store, report


def build_store(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *, engine: str = "duckdb",
                half_life_days: float = 30.0, spark=None) -> BuildReport:
    """Build the baseline of Parquet events files into store directory ``out`` (replacing one there)."""
    store, report = build_memory_store(paths, engine=engine, half_life_days=half_life_days, spark=spark)
    start = _time.perf_counter()
    store.save_as(out)
    report.load_seconds += _time.perf_counter() - start
    return report
