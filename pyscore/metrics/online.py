"""This module contains online metrics: feedback events joined to decisions, with Wilson intervals.

Each message's feedback resolves to one truth: the latest analyst label
(``analyst_malicious`` / ``analyst_safe``) wins; without one, the latest user
event (``user_report_phish`` -> malicious, ``user_report_spam`` -> spam,
``release_from_quarantine`` -> safe). A message is *flagged* when its decided
category is malicious. From those:

- precision (undisputed) = flagged messages without a safe/spam resolution /
  flagged: an upper bound, since not every false alarm is released;
- precision (analyst-reviewed) = flagged and labelled malicious by an analyst /
  flagged with an analyst label: unbiased when analysts review a random sample;
- estimated false-negative rate = reported misses / (reported misses +
  undisputed flagged): a lower bound, since not every miss is reported.

Each comes with a Wilson score interval (``z`` = 1.96 for 95 %).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pyscore.metrics import frames
from pyscore.metrics.backend import Backend, DuckDBBackend, Rows
from pyscore.metrics.offline import json_ready
from pyscore.metrics.queries import ONLINE_QUERIES, ONLINE_VIEWS, reference_tables

NAN = float("nan")
_COUNTS = ("decisions", "flagged", "confirmed", "disputed", "reviewed", "reviewed_malicious",
           "reported_misses", "with_feedback")


def wilson_interval(k: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n; (NaN, NaN) when n is 0."""
    if k < 0 or n < 0 or k > n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return NAN, NAN
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


@dataclass
class Estimate:
    """A proportion k/n with its Wilson interval."""

    k: int
    n: int
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, k: int, n: int, *, z: float) -> Estimate:
        low, high = wilson_interval(k, n, z=z)
        return cls(k, n, k / n if n else NAN, low, high)


@dataclass
class OnlineResult:
    """Online estimates overall and per tenant, plus feedback counts by kind."""

    overall: dict[str, Any]
    by_tenant: Rows
    feedback_kinds: Rows
    unmatched_feedback: int
    z: float = 1.96
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def online_metrics(log: Any, feedback: Any, *, z: float = 1.96, backend: Backend | None = None) -> OnlineResult:
    """Online precision and estimated false-negative rate of a decision log given feedback events."""
    if not (z > 0 and math.isfinite(z)):
        raise ValueError(f"z must be a finite number > 0, got {z!r}")
    log_table = frames.read_table(log, "decision log")
    fb_table = frames.read_table(feedback, "feedback")
    relations = {
        **frames.log_relations(log_table, near_margin=0.0),
        "feedback": frames.feedback_relation(fb_table),
        **reference_tables(),
    }
    out = (backend or DuckDBBackend()).run(relations, ONLINE_VIEWS, ONLINE_QUERIES)
    tenants = []
    total = dict.fromkeys(_COUNTS, 0)
    for r in out["online_counts"]:
        counts = {k: int(r[k] or 0) for k in _COUNTS}
        for k in _COUNTS:
            total[k] += counts[k]
        tenants.append({"tenant": r["tenant"], **estimates(counts, z=z)})
    kinds = [{"kind": r["kind"], "n": int(r["n"]), "unmatched": int(r["unmatched"] or 0)}
             for r in out["feedback_kinds"]]
    unmatched = sum(r["unmatched"] for r in kinds)
    notes = []
    if unmatched:
        notes.append(f"{unmatched} feedback event(s) name a message that is not in the decision log")
    return OnlineResult(overall={"tenant": "(all)", **estimates(total, z=z)}, by_tenant=tenants,
                        feedback_kinds=kinds, unmatched_feedback=unmatched, z=z, notes=notes)


def estimates(c: dict[str, int], *, z: float) -> dict[str, Any]:
    """The three online estimates from one set of counts."""
    undisputed = c["flagged"] - c["disputed"]
    return {
        **c,
        "precision_undisputed": Estimate.of(undisputed, c["flagged"], z=z),
        "precision_reviewed": Estimate.of(c["reviewed_malicious"], c["reviewed"], z=z),
        "fnr_estimate": Estimate.of(c["reported_misses"], c["reported_misses"] + undisputed, z=z),
    }
