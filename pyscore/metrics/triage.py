"""This module contains false-positive / false-negative triage: misses and false alarms grouped by cause.

A miss (a message of the malicious or spam group that the decision did not
catch) is grouped by the model of its group that came nearest below its
threshold (within ``near_margin`` of it, relative to ``max(|threshold|, 1)``;
rules and lists score 0 or 1 and are never "near");
misses no detector came near form the "capability gap" group: no threshold
tuning would catch them, a new signal or detector is needed. A false alarm is
grouped by the deciding detector and whether it fired *barely* (a model
within the margin above its threshold: tuning may clear it) or confidently (its signals
do not separate these messages). Each group carries the breakdown by true
category, source and technique, the signals most often among the top
contributions, and a few example message ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pyscore.metrics.backend import Rows

FALSE_NEGATIVE = "false_negative"
FALSE_POSITIVE = "false_positive"
TOP_SIGNALS = 5


def assemble(counts: Rows, signals: Rows, examples: Rows, *, near_margin: float) -> Rows:
    """Triage groups, largest first, from the ``triage_counts``, ``triage_signals`` and ``triage_examples`` rows."""
    groups: dict[tuple, dict[str, Any]] = {}
    side_totals: Counter = Counter()
    for r in counts:
        key = (r["side"], r["grp"], r["detector"], int(r["barely"]))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "side": r["side"], "group": r["grp"], "detector": r["detector"], "barely": bool(key[3]),
                "n": 0, "truth": Counter(), "source": Counter(), "technique": Counter(),
                "signals": [], "examples": [],
            }
        n = int(r["n"])
        g["n"] += n
        g["truth"][r["truth"]] += n
        g["source"][r["source"]] += n
        if r["technique"]:
            g["technique"][r["technique"]] += n
        side_totals[(r["side"], r["grp"])] += n
    sig: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in signals:
        key = (r["side"], r["grp"], r["detector"], int(r["barely"]))
        n = int(r["n"])
        sig[key].append({"signal": r["signal"], "n": n, "mean_contribution": float(r["total_contribution"] or 0) / n})
    for r in examples:
        key = (r["side"], r["grp"], r["detector"], int(r["barely"]))
        if key in groups:
            groups[key]["examples"].append({"message_id": r["message_id"], "subject": r["subject"]})
    out = []
    for key, g in groups.items():
        top = sorted(sig.get(key, []), key=lambda s: (-s["n"], -abs(s["mean_contribution"]), s["signal"]))
        g["signals"] = top[:TOP_SIGNALS]
        g["share"] = g["n"] / side_totals[(g["side"], g["group"])]
        for k in ("truth", "source", "technique"):
            g[k] = dict(g[k].most_common())
        g["hint"] = hint(g, near_margin)
        out.append(g)
    out.sort(key=lambda g: (g["side"], g["group"], -g["n"], g["detector"], g["barely"]))
    return out


def hint(group: dict[str, Any], near_margin: float) -> str:
    """One line naming the likely gap behind a triage group."""
    det, grp = group["detector"], group["group"]
    if group["side"] == FALSE_NEGATIVE:
        if not det:
            return (f"no {grp} detector came within {near_margin:g} of its threshold: "
                    "capability gap (a new signal or detector is needed)")
        return f"{det} was just below its threshold: tune its threshold or strengthen its features"
    if not det:
        return "decided without a detector (policy default): check the policy's category actions"
    if group["barely"]:
        return f"{det} fired just above its threshold: raising it would clear these"
    return f"{det} fired confidently: its signals do not separate these messages (capability gap)"
