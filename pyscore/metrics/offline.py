"""This module contains offline metrics: a decision log joined to labels -> precision, recall, FNR, FPR.

``evaluate`` reports, for each metric group (each malicious category, all
malicious pooled, spam; the label semantics are in ``pyscore.metrics.queries``):

- precision = right alarms / alarms of the group (NaN when there are none),
- recall = caught / messages of the group, false-negative rate = 1 - recall,
- false-positive rate = wrong alarms / messages that are not positives of the group,

overall ("the policy's operating point"), per source, per source pair, per
tenant and per injected technique; per detector, attributed (an alarm is
credited to the deciding detector only) and as fired (active or shadow);
precision-recall curves of every detector's scores with the point at its
threshold; the confusion of true and decided categories; and triage groups.

Decisions without a label and labels without a decision are counted and
listed in ``coverage``, never silently dropped; a message logged twice counts
once, with its latest record.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from pyscore.metrics import frames, triage
from pyscore.metrics.backend import Backend, DuckDBBackend, Rows
from pyscore.metrics.queries import MALICIOUS_GROUP, METRIC_GROUPS, QUERIES, SPAM_GROUP, VIEWS

BREAKDOWNS = ("category", "source", "tenant", "technique", "detector", "split")
NAN = float("nan")


@dataclass
class MetricsResult:
    """Every offline metric of one evaluation; rows are plain dicts (see ``format_tables``)."""

    coverage: dict[str, int]
    unlabeled_ids: list[str]
    undecided_ids: list[str]
    by_category: Rows
    by_dimension: dict[str, Rows] = field(default_factory=dict)
    source_pairs: Rows = field(default_factory=list)
    detectors: Rows = field(default_factory=list)
    pr_curves: Rows = field(default_factory=list)
    confusion: Rows = field(default_factory=list)
    triage: Rows = field(default_factory=list)
    bundle_versions: Rows = field(default_factory=list)  # bundle_version, n (decisions)
    split: str | None = None
    near_margin: float = 0.2
    by: tuple[str, ...] = BREAKDOWNS

    @property
    def operating_point(self) -> dict[str, Any]:
        """The pooled malicious row: precision, recall, FNR and FPR of the policy as it decided."""
        return next(r for r in self.by_category if r["group"] == MALICIOUS_GROUP)

    def group(self, name: str) -> dict[str, Any]:
        """The overall row of one metric group."""
        for row in self.by_category:
            if row["group"] == name:
                return row
        raise KeyError(f"no metric group {name!r} (groups: {', '.join(METRIC_GROUPS)})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (NaN becomes None)."""
        return json_ready(asdict(self))


def evaluate(
    log: Any,
    labels: Any,
    *,
    by: tuple[str, ...] | list[str] = ("source", "category", "detector", "tenant", "technique"),
    split: str | None = None,
    near_margin: float = 0.2,
    backend: Backend | None = None,
) -> MetricsResult:
    """Metrics of a decision log (table or Parquet path) against labels (table, Parquet or CSV path).

    ``by`` picks the breakdowns (of ``BREAKDOWNS``; the overall per-category
    rows are always there); ``split`` keeps only labels of that split (other
    decisions are counted as ``excluded_by_split``); ``near_margin`` is the
    distance to a threshold, relative to ``max(|threshold|, 1)``, that triage
    calls "near".
    """
    unknown = [b for b in by if b not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"unknown breakdown(s) {', '.join(map(repr, unknown))} (expected some of {', '.join(BREAKDOWNS)})")
    if not (near_margin >= 0 and math.isfinite(near_margin)):
        raise ValueError(f"near_margin must be a finite number >= 0, got {near_margin!r}")
    log_table = frames.read_table(log, "decision log")
    label_table = frames.read_table(labels, "labels")
    relations = frames.offline_relations(log_table, label_table, split=split, near_margin=near_margin)
    out = (backend or DuckDBBackend()).run(relations, VIEWS, QUERIES)
    return build_result(out, by=tuple(by), split=split, near_margin=near_margin)


def build_result(out: dict[str, Rows], *, by: tuple[str, ...], split: str | None, near_margin: float) -> MetricsResult:
    """A MetricsResult from the rows of every named query."""
    coverage = {r["item"]: int(r["n"]) for r in out["coverage"]}
    coverage["duplicate_records"] = coverage["log_rows"] - coverage["decisions"]
    found = {r["grp"]: r for r in out["by_overall"]}
    empty = dict.fromkeys(("total", "negatives", "predicted", "tp", "actual", "caught"), 0)
    # No labelled decision at all still yields every group, with NaN rates.
    overall = [group_row(found.get(g, {**empty, "key": "all", "grp": g})) for g in METRIC_GROUPS]
    for r in overall:
        r.pop("key")
    result = MetricsResult(
        coverage=coverage,
        unlabeled_ids=[r["message_id"] for r in out["unlabeled_ids"]],
        undecided_ids=[r["message_id"] for r in out["undecided_ids"]],
        by_category=overall,
        confusion=out["confusion"],
        bundle_versions=out["bundle_versions"],
        triage=triage.assemble(out["triage_counts"], out["triage_signals"], out["triage_examples"],
                               near_margin=near_margin),
        split=split,
        near_margin=near_margin,
        by=by,
    )
    for dim in ("source", "tenant", "technique", "split"):
        if dim in by:
            result.by_dimension[dim] = [group_row(r) for r in out[f"by_{dim}"]]
    if "source" in by:
        result.source_pairs = source_pairs(result.by_dimension["source"])
    if "detector" in by:
        result.detectors = detector_rows(out, overall)
        result.pr_curves = pr_curves(out)
    return result


def ratio(num: float, den: float) -> float:
    """num / den, NaN when den is 0: an empty group has no rate, not a rate of 0."""
    return num / den if den else NAN


def group_row(r: dict[str, Any]) -> dict[str, Any]:
    """Counts of one (key, group) plus their rates."""
    predicted, tp, actual, caught = (int(r[k] or 0) for k in ("predicted", "tp", "actual", "caught"))
    negatives = int(r["negatives"] or 0)
    fp, fn = predicted - tp, actual - caught
    return {
        "key": r["key"],
        "group": r["grp"],
        "total": int(r["total"] or 0),
        "actual": actual,
        "negatives": negatives,
        "predicted": predicted,
        "tp": tp,
        "fp": fp,
        "caught": caught,
        "fn": fn,
        "precision": ratio(tp, predicted),
        "recall": ratio(caught, actual),
        "fnr": ratio(fn, actual),
        "fpr": ratio(fp, negatives),
    }


def source_pairs(rows: Rows) -> Rows:
    """Metrics of every two sources pooled (e.g. phishing_pot + enron), for groups with both classes present."""
    by_key: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_key[r["key"]][r["group"]] = r
    out = []
    for a, b in combinations(sorted(by_key), 2):
        for grp in (MALICIOUS_GROUP, SPAM_GROUP):
            ra, rb = by_key[a].get(grp), by_key[b].get(grp)
            if ra is None or rb is None:
                continue
            summed = {k: ra[k] + rb[k] for k in ("total", "negatives", "predicted", "tp", "actual", "caught")}
            if summed["actual"] == 0 or summed["negatives"] == 0:
                continue
            row = group_row({**summed, "key": f"{a} + {b}", "grp": grp})
            out.append(row)
    return out


def detector_rows(out: dict[str, Rows], overall: Rows) -> Rows:
    """One row per detector: attributed alarms, fired alarms (active or shadow), and rates."""
    positives = {r["group"]: r["total"] - r["negatives"] for r in overall}
    negatives = {r["group"]: r["negatives"] for r in overall}
    info: dict[str, dict[str, Any]] = defaultdict(lambda: {"category": "", "kind": "", "mode": "", "decided": 0,
                                                           "tp": 0, "fired": 0, "fired_tp": 0})
    for r in out["detector_kinds"]:
        info[r["detector"]].update(category=r["category"], kind=r["kind"])
    for r in out["detector_attributed"]:
        d = info[r["detector"]]
        d["decided"] += int(r["decided"])
        d["tp"] += int(r["tp"] or 0)
        d["category"] = d["category"] or r["category"]
    for r in out["detector_fired"]:
        d = info[r["detector"]]
        d["fired"] += int(r["fired"])
        d["fired_tp"] += int(r["fired_tp"] or 0)
        d["mode"] = "active" if "active" in (d["mode"], r["mode"]) else r["mode"]
    rows = []
    for name, d in info.items():
        grp = d["category"]
        pos, neg = positives.get(grp, 0), negatives.get(grp, 0)
        fp, fired_fp = d["decided"] - d["tp"], d["fired"] - d["fired_tp"]
        mode = d["mode"] or ("active" if d["decided"] else "")
        rows.append({
            "detector": name, "category": grp, "kind": d["kind"], "mode": mode,
            "decided": d["decided"], "tp": d["tp"], "fp": fp,
            "precision": ratio(d["tp"], d["decided"]), "attributed_recall": ratio(d["tp"], pos),
            "fired": d["fired"], "fired_tp": d["fired_tp"],
            "fired_precision": ratio(d["fired_tp"], d["fired"]), "fired_recall": ratio(d["fired_tp"], pos),
            "fired_fpr": ratio(fired_fp, neg),
        })
    rows.sort(key=lambda r: (-r["decided"], -r["fired"], r["detector"]))
    return rows


def pr_curves(out: dict[str, Rows]) -> Rows:
    """Precision-recall points (score >= each distinct score) per detector, average precision, threshold point."""
    points: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for r in out["pr_points"]:
        points[r["detector"]].append((float(r["score"]), int(r["flagged"]), int(r["tp"] or 0)))
    curves = []
    for r in out["detector_scored"]:
        name, pos = r["detector"], int(r["positives"] or 0)
        pts = [(s, ratio(tp, n), ratio(tp, pos)) for s, n, tp in points[name]]
        at, at_tp = int(r["at_threshold"] or 0), int(r["at_threshold_tp"] or 0)
        curves.append({
            "detector": name, "category": r["category"], "kind": r["kind"],
            "scored": int(r["scored"]), "positives": pos,
            "points": pts, "average_precision": average_precision(pts),
            "threshold_precision": ratio(at_tp, at), "threshold_recall": ratio(at_tp, pos),
            "threshold_flagged": at,
        })
    return curves


def average_precision(points: list[tuple[float, float, float]]) -> float:
    """Sum over thresholds, highest first, of (recall step) x precision (scikit-learn's definition)."""
    if not points or math.isnan(points[0][2]):
        return NAN
    ap, prev_recall = 0.0, 0.0
    for _, precision, recall in points:
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    return ap


def json_ready(value: Any) -> Any:
    """A copy of nested dicts / lists / dataclass dicts with NaN replaced by None (for JSON)."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
