"""This module contains the HTML report: one self-contained file of metrics tables and inline SVG plots.

The file references nothing outside itself (no script, stylesheet, font or
image URL), and every string that can come from a message or a bundle
(message ids, subjects, detector, signal, source and technique names) is
HTML-escaped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from pyscore.metrics import frames
from pyscore.metrics.offline import BREAKDOWNS, MetricsResult, evaluate
from pyscore.metrics.online import OnlineResult, online_metrics
from pyscore.metrics.queries import MALICIOUS_GROUP, SPAM_GROUP
from pyscore.metrics.tables import cell
from pyscore.report.svg import Series, stacked_bars, xy_chart

MAX_CURVES = 10
MAX_BARS = 30

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff4e0;border-left:4px solid #f0a020;padding:6px 10px;margin:6px 0}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px}.chart text{font-size:11px;fill:#333}
.grid{stroke:#eee}.frame{fill:none;stroke:#999}
.legend{font-size:12px;margin:4px 0 12px}.key{margin-right:14px;white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
.muted{color:#777}code{font-size:12px}
"""


def write_report(log: Any, labels: Any, out_path: str | Path, feedback: Any = None, *,
                 split: str | None = None, near_margin: float = 0.2,
                 title: str = "pyscore evaluation report") -> Path:
    """Evaluate ``log`` against ``labels`` (and ``feedback``) and write the HTML report to ``out_path``.

    ``log``, ``labels`` and ``feedback`` are tables or paths, as for
    ``pyscore.metrics.evaluate``. The file is written to a temporary name beside
    ``out_path`` and renamed, so a failure never leaves a partial report.
    """
    log_table = frames.read_table(log, "decision log")
    result = evaluate(log_table, labels, by=BREAKDOWNS, split=split, near_margin=near_margin)
    online = online_metrics(log_table, feedback) if feedback is not None else None
    return write_html(render_report(result, online, title=title), out_path)


def write_html(text: str, out_path: str | Path) -> Path:
    """``text`` written to ``out_path`` via a temporary file and an atomic rename."""
    out = Path(out_path)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"report: directory {out.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def render_report(result: MetricsResult, online: OnlineResult | None = None, *,
                  title: str = "pyscore evaluation report") -> str:
    """The report as one HTML string."""
    body = [f"<h1>{escape(title)}</h1>", summary_html(result), pr_html(result), confusion_html(result),
            detectors_html(result), triage_html(result), groups_html(result)]
    if online is not None:
        body.append(online_html(online))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def table(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> str:
    """An HTML table of ``rows``; numbers right-aligned, every value escaped."""
    if not rows:
        return '<p class="muted">(none)</p>'
    head = "".join(f"<th>{escape(h)}</th>" for _, h in columns)
    lines = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key)
            num = isinstance(v, int | float) and not isinstance(v, bool)
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{escape(cell(v, 200))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def summary_html(result: MetricsResult) -> str:
    c, op = result.coverage, result.operating_point
    spam = result.group(SPAM_GROUP)
    cards = [("decisions", c["decisions"]), ("labelled", c["labelled"]),
             ("precision (malicious)", op["precision"]), ("recall (malicious)", op["recall"]),
             ("false-positive rate", op["fpr"]), ("false-negative rate", op["fnr"]),
             ("precision (spam)", spam["precision"]), ("recall (spam)", spam["recall"])]
    out = ['<h2 id="summary">Summary: the policy\'s operating point</h2><div class="cards">']
    out += [f'<div class="card">{escape(k)}<b>{escape(cell(v))}</b></div>' for k, v in cards]
    out.append("</div>")
    if len(result.bundle_versions) > 1:
        shown = ", ".join(f"<code>{escape(cell(r['bundle_version']))}</code> ({r['n']})" for r in result.bundle_versions)
        out.append(f'<div class="warn">The log mixes bundle versions: {shown}</div>')
    if result.split:
        out.append(f"<p>Split: <code>{escape(result.split)}</code>; "
                   f"{c['excluded_by_split']} decision(s) of other splits excluded.</p>")
    if c["duplicate_records"]:
        out.append(f"<p>{c['duplicate_records']} repeated record(s) of a message: the latest counts.</p>")
    if c["unlabeled"]:
        ids = ", ".join(f"<code>{escape(cell(i))}</code>" for i in result.unlabeled_ids[:10])
        out.append(f'<div class="warn">{c["unlabeled"]} decision(s) have no label and are in no metric, '
                   f"e.g. {ids}</div>")
    if c["labels_without_decision"]:
        ids = ", ".join(f"<code>{escape(cell(i))}</code>" for i in result.undecided_ids[:10])
        out.append(f'<div class="warn">{c["labels_without_decision"]} labelled message(s) have no decision, '
                   f"e.g. {ids}</div>")
    out.append('<p class="muted">Malicious metrics count only malicious labels as positives; spam metrics '
               "count spam and malicious labels. A spam verdict on spam inside a safe source is therefore "
               "no false alarm of the malicious groups.</p>")
    return "\n".join(out)


def pr_html(result: MetricsResult) -> str:
    out = ['<h2 id="pr-curves">Precision-recall curves</h2>']
    curves = [c for c in result.pr_curves if c["kind"] == "model" and c["positives"]]
    curves.sort(key=lambda c: (-(c["average_precision"] if c["average_precision"] == c["average_precision"]
                                 else -1.0), c["detector"]))
    series = []
    for c in curves[:MAX_CURVES]:
        pts = [(r, p) for _, p, r in c["points"]]
        tip = (f"{c['detector']} at its threshold: precision {cell(c['threshold_precision'])}, "
               f"recall {cell(c['threshold_recall'])}")
        name = f"{c['detector']} (AP {cell(c['average_precision'])})"
        series.append(Series(name, pts, markers=[(c["threshold_recall"], c["threshold_precision"], tip)]))
    points = [c for c in result.pr_curves if c["kind"] != "model" and c["threshold_flagged"] and c["positives"]]
    if points:
        series.append(Series(f"rules and lists at their thresholds ({len(points)})", [], line=False, color="#555",
                             markers=[(c["threshold_recall"], c["threshold_precision"],
                                       f"{c['detector']}: precision {cell(c['threshold_precision'])}, "
                                       f"recall {cell(c['threshold_recall'])}") for c in points]))
    if series:
        out.append(xy_chart(series, x_label="recall", y_label="precision"))
        out.append('<p class="muted">Circles mark each model\'s threshold. Positives per detector: malicious '
                   "labels for malicious categories; spam or malicious labels for spam. Recall is over the "
                   "labelled messages the detector scored.</p>")
    else:
        out.append('<p class="muted">(no detector scores with labelled positives)</p>')
    out.append(table([("detector", "detector"), ("category", "category"), ("kind", "kind"), ("scored", "scored"),
                      ("positives", "positives"), ("average_precision", "average precision"),
                      ("threshold_flagged", "at threshold"), ("threshold_precision", "precision at threshold"),
                      ("threshold_recall", "recall at threshold")], result.pr_curves))
    return "\n".join(out)


def confusion_html(result: MetricsResult) -> str:
    truths = sorted({r["truth"] for r in result.confusion})
    preds = sorted({r["predicted"] for r in result.confusion})
    counts = {(r["truth"], r["predicted"]): int(r["n"]) for r in result.confusion}
    out = ['<h2 id="confusion">Confusion by category</h2>']
    if not truths:
        return out[0] + '<p class="muted">(no labelled decisions)</p>'
    head = "".join(f"<th>{escape(p)}</th>" for p in preds)
    rows = []
    for t in truths:
        total = sum(counts.get((t, p), 0) for p in preds) or 1
        tds = []
        for p in preds:
            n = counts.get((t, p), 0)
            alpha = 0.08 + 0.6 * n / total if n else 0
            style = f' style="background:rgba(31,119,180,{alpha:.2f})"' if n else ""
            tds.append(f'<td class="num"{style}>{n}</td>')
        rows.append(f"<tr><th>{escape(t)}</th>{''.join(tds)}</tr>")
    out.append(f"<table><thead><tr><th>true \\ decided</th>{head}</tr></thead><tbody>{''.join(rows)}"
               "</tbody></table>")
    return "\n".join(out)


def detectors_html(result: MetricsResult) -> str:
    out = ['<h2 id="detectors">Detector attribution</h2>',
           '<p class="muted">Each alarm is credited to the detector that decided it; "fired" counts every '
           "message a detector fired on (active or shadow), whether or not it decided.</p>"]
    decided = [d for d in result.detectors if d["decided"]][:MAX_BARS]
    if decided:
        out.append(stacked_bars([(d["detector"], (d["tp"], d["fp"])) for d in decided],
                                parts_names=("true alarms", "false alarms"), colors=("#2ca02c", "#d62728")))
    out.append(table([("detector", "detector"), ("category", "category"), ("kind", "kind"), ("mode", "mode"),
                      ("decided", "decided"), ("tp", "TP"), ("fp", "FP"), ("precision", "precision"),
                      ("attributed_recall", "attributed recall"), ("fired", "fired"),
                      ("fired_precision", "fired precision"), ("fired_recall", "fired recall"),
                      ("fired_fpr", "fired FPR")], result.detectors))
    return "\n".join(out)


def triage_html(result: MetricsResult) -> str:
    out = ['<h2 id="triage">Triage: misses and false alarms</h2>',
           f'<p class="muted">Misses are grouped by the detector of their group nearest below its threshold '
           f"(within {result.near_margin:g}); false alarms by the deciding detector and whether it fired barely "
           "above its threshold.</p>"]
    rows = []
    for g in result.triage:
        rows.append({
            "side": "miss" if g["side"] == "false_negative" else "false alarm",
            "group": g["group"], "detector": g["detector"] or "(none near)",
            "barely": ("barely" if g["barely"] else "confident") if g["side"] == "false_positive" else "",
            "n": g["n"], "share": g["share"],
            "truth": _counts(g["truth"]), "source": _counts(g["source"]), "technique": _counts(g["technique"]),
            "signals": "; ".join(f"{s['signal']} ({s['n']}, {s['mean_contribution']:+.3f})" for s in g["signals"]),
            "examples": "; ".join(e["message_id"] + (f" [{e['subject']}]" if e["subject"] else "")
                                  for e in g["examples"]),
            "hint": g["hint"],
        })
    out.append(table([("side", "kind"), ("group", "group"), ("detector", "detector"), ("barely", "fired"),
                      ("n", "n"), ("share", "share"), ("truth", "true categories"), ("source", "sources"),
                      ("technique", "techniques"), ("signals", "top signals (n, mean contribution)"),
                      ("examples", "examples"), ("hint", "likely gap")], rows))
    return "\n".join(out)


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{k or '(none)'} {v}" for k, v in list(counter.items())[:4])


GROUP_COLUMNS = [("actual", "actual"), ("caught", "caught"), ("recall", "recall"), ("fnr", "FNR"),
                 ("predicted", "alarms"), ("tp", "TP"), ("fp", "FP"), ("precision", "precision"),
                 ("negatives", "negatives"), ("fpr", "FPR")]


def groups_html(result: MetricsResult) -> str:
    out = ['<h2 id="categories">By category</h2>',
           table([("group", "group"), *GROUP_COLUMNS], result.by_category)]
    titles = {"source": "By source", "tenant": "By tenant", "split": "By split"}
    for dim, title in titles.items():
        if dim in result.by_dimension:
            rows = [r for r in result.by_dimension[dim] if r["group"] in (MALICIOUS_GROUP, SPAM_GROUP)]
            out += [f'<h2 id="{dim}s">{title}</h2>',
                    table([("key", dim), ("group", "group"), ("total", "messages"), *GROUP_COLUMNS], rows)]
        if dim == "source" and "source" in result.by:
            out += ['<h2 id="source-pairs">By source pair (two sources pooled)</h2>',
                    table([("key", "sources"), ("group", "group"), *GROUP_COLUMNS], result.source_pairs)]
    if "technique" in result.by_dimension:
        rows = [{**r, "key": r["key"] or "(none)"} for r in result.by_dimension["technique"]
                if r["group"] == MALICIOUS_GROUP and (r["actual"] or r["key"])]
        out += ['<h2 id="techniques">By injected technique (malicious)</h2>',
                table([("key", "technique"), ("actual", "actual"), ("caught", "caught"), ("recall", "recall"),
                       ("fnr", "FNR"), ("predicted", "alarms"), ("fp", "FP"), ("precision", "precision")], rows)]
    return "\n".join(out)


def online_html(online: OnlineResult) -> str:
    cols = [("tenant", "tenant"), ("decisions", "decisions"), ("flagged", "flagged"),
            ("with_feedback", "with feedback"), ("precision_undisputed", "precision (undisputed)"),
            ("precision_reviewed", "precision (analyst-reviewed)"), ("fnr_estimate", "FNR (reported misses)")]
    out = ['<h2 id="online">Online: feedback</h2>',
           f'<p class="muted">Estimates with Wilson intervals (z = {online.z:g}). Undisputed precision is an upper '
           "bound (not every false alarm is released); the false-negative rate from reported misses is a lower "
           "bound (not every miss is reported).</p>",
           table(cols, [online.overall, *online.by_tenant]),
           table([("kind", "feedback kind"), ("n", "events"), ("unmatched", "not in the log")],
                 online.feedback_kinds)]
    out += [f'<div class="warn">{escape(n)}</div>' for n in online.notes]
    return "\n".join(out)
