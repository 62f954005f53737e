"""This package contains the metrics of decision logs: offline (labels), online (feedback), triage, tables.

All of it is SQL over flat relations (``queries``), run by DuckDB in process
(``backend``) or by Spark SQL (``spark``) with the same query text.
"""

from pyscore.metrics.offline import MetricsResult, evaluate
from pyscore.metrics.online import OnlineResult, online_metrics, wilson_interval
from pyscore.metrics.tables import format_online, format_tables

__all__ = [
    "MetricsResult",
    "OnlineResult",
    "evaluate",
    "format_online",
    "format_tables",
    "online_metrics",
    "wilson_interval",
]
