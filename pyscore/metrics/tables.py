"""This module contains the text rendering of metrics: aligned tables for a terminal.

Rates print with three decimals and ``-`` for NaN (an empty group has no
rate). Strings that come from messages are made printable (control
characters escaped) and shortened, so a hostile message id cannot break the
table or the terminal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pyscore.metrics.offline import MetricsResult
from pyscore.metrics.online import Estimate, OnlineResult
from pyscore.metrics.queries import MALICIOUS_GROUP, SPAM_GROUP

Column = tuple[str, str]  # (row key, header)
MAX_TEXT = 48


def cell(value: Any, limit: int = MAX_TEXT) -> str:
    """One value as table text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, Estimate):
        if math.isnan(value.value):
            return "-"
        return f"{value.value:.3f} [{value.low:.3f}, {value.high:.3f}] ({value.k}/{value.n})"
    return printable(str(value), limit)


def printable(text: str, limit: int = MAX_TEXT) -> str:
    """Control and non-printable characters escaped, long text cut with an ellipsis."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def format_table(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]], *,
                 wide: tuple[str, ...] = ()) -> str:
    """An aligned text table: numbers right-aligned, text left-aligned; '(none)' when there are no rows.

    Text is cut at MAX_TEXT characters, except in the ``wide`` columns.
    """
    if not rows:
        return f"{title}\n  (none)\n"
    texts = [[cell(r.get(key), 200 if key in wide else MAX_TEXT) for key, _ in columns] for r in rows]
    numeric = [all(_is_number(r.get(key)) for r in rows) for key, _ in columns]
    widths = [max(len(h), *(len(t[i]) for t in texts)) for i, (_, h) in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  " + "  ".join(parts).rstrip()

    header = line([h for _, h in columns])
    rule = "  " + "  ".join("-" * w for w in widths)
    return "\n".join([title, header, rule, *(line(t) for t in texts)]) + "\n"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Estimate) and not isinstance(value, bool) or value is None


GROUP_COLUMNS: list[Column] = [
    ("actual", "actual"), ("caught", "caught"), ("recall", "recall"), ("fnr", "FNR"),
    ("predicted", "alarms"), ("tp", "TP"), ("fp", "FP"), ("precision", "precision"),
    ("negatives", "negatives"), ("fpr", "FPR"),
]


def format_tables(result: MetricsResult) -> str:
    """Every table of an offline evaluation, as one text block."""
    parts = [coverage_text(result), operating_point_text(result)]
    parts.append(format_table("By category (metric group)", [("group", "group"), *GROUP_COLUMNS], result.by_category))
    for dim, title in (("source", "By source"), ("tenant", "By tenant"), ("split", "By split")):
        if dim in result.by_dimension:
            rows = [r for r in result.by_dimension[dim] if r["group"] in (MALICIOUS_GROUP, SPAM_GROUP)]
            parts.append(format_table(title, [("key", dim), ("group", "group"), ("total", "messages"),
                                              *GROUP_COLUMNS], rows))
    if "source" in result.by:
        parts.append(format_table("By source pair (pooled)", [("key", "sources"), ("group", "group"),
                                                               *GROUP_COLUMNS], result.source_pairs))
    if "technique" in result.by_dimension:
        rows = [{**r, "key": r["key"] or "(none)"} for r in result.by_dimension["technique"]
                if r["group"] == MALICIOUS_GROUP and (r["actual"] or r["key"])]
        parts.append(format_table("By injected technique (malicious)", [
            ("key", "technique"), ("actual", "actual"), ("caught", "caught"), ("recall", "recall"),
            ("fnr", "FNR"), ("predicted", "alarms"), ("fp", "FP"), ("precision", "precision")], rows))
    if "detector" in result.by:
        parts.append(format_table("By detector (attributed to the deciding detector; fired = active or shadow)", [
            ("detector", "detector"), ("category", "category"), ("kind", "kind"), ("mode", "mode"),
            ("decided", "decided"), ("tp", "TP"), ("fp", "FP"), ("precision", "precision"),
            ("attributed_recall", "attr. recall"), ("fired", "fired"), ("fired_precision", "fired prec."),
            ("fired_recall", "fired recall"), ("fired_fpr", "fired FPR")], result.detectors))
        parts.append(format_table("Detector scores (precision-recall)", [
            ("detector", "detector"), ("kind", "kind"), ("scored", "scored"), ("positives", "positives"),
            ("average_precision", "avg precision"), ("threshold_flagged", "at threshold"),
            ("threshold_precision", "precision@thr"), ("threshold_recall", "recall@thr")], result.pr_curves))
    parts.append(confusion_text(result))
    parts.append(triage_text(result))
    return "\n".join(parts)


def coverage_text(result: MetricsResult) -> str:
    c = result.coverage
    lines = [
        "Coverage",
        f"  log records {c['log_rows']}, decisions {c['decisions']} "
        f"(duplicate records of a message {c['duplicate_records']}, latest kept)",
        f"  labelled decisions {c['labelled']}" + (f" (split {printable(result.split)})" if result.split else ""),
    ]
    if len(result.bundle_versions) > 1:
        shown = ", ".join(f"{printable(r['bundle_version'], 24)} ({r['n']})" for r in result.bundle_versions)
        lines.append(f"  WARNING: the log mixes bundle versions: {shown}")
    if c["unlabeled"]:
        lines.append(f"  WARNING: {c['unlabeled']} decision(s) have no label and are not in any metric; "
                     f"e.g. {', '.join(printable(i, 40) for i in result.unlabeled_ids[:5])}")
    if c["labels_without_decision"]:
        lines.append(f"  WARNING: {c['labels_without_decision']} labelled message(s) have no decision; "
                     f"e.g. {', '.join(printable(i, 40) for i in result.undecided_ids[:5])}")
    if c["excluded_by_split"]:
        lines.append(f"  {c['excluded_by_split']} decision(s) belong to other splits (excluded)")
    return "\n".join(lines) + "\n"


def operating_point_text(result: MetricsResult) -> str:
    op = result.operating_point
    return (f"Operating point (the policy as decided, all malicious): precision {cell(op['precision'])}, "
            f"recall {cell(op['recall'])}, FNR {cell(op['fnr'])}, FPR {cell(op['fpr'])}\n")


def confusion_text(result: MetricsResult) -> str:
    """True category (rows) x decided category (columns)."""
    truths = sorted({r["truth"] for r in result.confusion})
    preds = sorted({r["predicted"] for r in result.confusion})
    counts = {(r["truth"], r["predicted"]): r["n"] for r in result.confusion}
    rows = [{"truth": t, **{p: counts.get((t, p), 0) for p in preds}} for t in truths]
    return format_table("Confusion (true category x decided category)",
                        [("truth", "true \\ decided"), *((p, p) for p in preds)], rows)


def triage_text(result: MetricsResult) -> str:
    rows = []
    for g in result.triage:
        rows.append({
            "side": "miss" if g["side"] == "false_negative" else "false alarm",
            "group": g["group"], "detector": g["detector"] or "(none)",
            "n": g["n"], "share": g["share"],
            "sources": ", ".join(f"{printable(k, 20)} {v}" for k, v in list(g["source"].items())[:3]),
            "signals": ", ".join(printable(s["signal"], 24) for s in g["signals"][:3]),
            "hint": g["hint"],
        })
    cols = [("side", "kind"), ("group", "group"), ("detector", "near / deciding detector"), ("n", "n"),
            ("share", "share"), ("sources", "top sources"), ("signals", "top signals"), ("hint", "hint")]
    return format_table("Triage (misses and false alarms grouped by the detector near its threshold)", cols, rows,
                        wide=("hint",))


def format_online(result: OnlineResult) -> str:
    """Online estimates (overall and per tenant) and feedback counts."""
    cols = [("tenant", "tenant"), ("decisions", "decisions"), ("flagged", "flagged"),
            ("with_feedback", "feedback"), ("precision_undisputed", "precision (undisputed)"),
            ("precision_reviewed", "precision (analyst-reviewed)"), ("fnr_estimate", "FNR (reported misses)")]
    parts = [format_table(f"Online (Wilson intervals, z={result.z:g})", cols, [result.overall, *result.by_tenant]),
             format_table("Feedback events", [("kind", "kind"), ("n", "events"), ("unmatched", "not in log")],
                          result.feedback_kinds)]
    parts += [f"NOTE: {n}\n" for n in result.notes]
    return "\n".join(parts)
