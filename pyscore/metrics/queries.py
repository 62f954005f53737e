"""This module contains every metrics query, as named SQL text, and the small reference tables they join.

The SQL is kept plain (joins, GROUP BY, CASE, SUM, COUNT, ROW_NUMBER) and
returns only counts and pass-through values: every ratio is computed in Python
(``NaN`` when the denominator is 0) and every float comparison is precomputed
into 0/1 columns by ``frames``. So the same text runs unchanged on DuckDB and
on Spark SQL (which, in ANSI mode, raises on division by zero and orders NaN
differently).

Relations the queries read (built by ``pyscore.metrics.frames``):

- ``raw_decisions(row_id, message_id, tenant, scored_at, source, verdict, category, action,
  deciding_detector, subject, bundle_version)``: one row per decision-log record;
- ``fired(row_id, detector, mode)``: one row per fired detector (mode 'active' or 'shadow');
- ``detectors(det_id, detector, category, kind)``: one row per detector named in the log;
- ``detector_scores(row_id, det_id, score, threshold, gap, has_score, at_threshold, near_miss,
  barely)``: one row per (record, detector) score, the detector by integer id (millions of rows);
- ``contributions(row_id, signal, value, contribution)``;
- ``labels(message_id, label, category, source, technique, split, subject)`` (already filtered
  to the evaluated split; subject '' unless the labels carry one) and ``all_label_ids(message_id)`` (every labelled id, any split);
- ``feedback(message_id, event_time, kind, actor, fb_row)`` for online metrics;
- the reference tables of ``reference_tables()``.

Label semantics (see ``reference_tables``): a metric *group* is one of the
malicious categories, ``malicious`` (all four pooled) or ``spam``. A decision
*predicts* a group when its category is in it; the prediction is right when
the label is one of the group's positive labels (``malicious`` for malicious
groups; ``spam`` or ``malicious`` for the spam group, so unwanted mail junked
as spam is no false alarm). A message *belongs* to a group by its true
category and is *caught* when the decision's category catches that group (any
malicious category catches a malicious message: the category need not match;
spam is caught by spam or any malicious category). Spam mixed into a safe
source is labelled ``spam`` or ``safe``; either way a spam verdict on it is not
a false positive of the malicious groups.
"""

from __future__ import annotations

import pyarrow as pa

from pyscore.logschema import MALICIOUS_CATEGORIES

MALICIOUS_GROUP = "malicious"
SPAM_GROUP = "spam"
METRIC_GROUPS = (*MALICIOUS_CATEGORIES, MALICIOUS_GROUP, SPAM_GROUP)
TRIAGE_GROUPS = (MALICIOUS_GROUP, SPAM_GROUP)
DIMENSIONS = ("overall", "source", "tenant", "technique", "split")


def reference_tables() -> dict[str, pa.Table]:
    """The label-semantics tables every query joins (see the module docstring)."""
    pred, pos, belongs, catches = [], [], [], []
    for cat in MALICIOUS_CATEGORIES:
        pred += [(cat, cat), (cat, MALICIOUS_GROUP)]
        belongs += [(cat, cat), (cat, MALICIOUS_GROUP)]
        pos.append((cat, "malicious"))
    pred.append(("spam", SPAM_GROUP))
    belongs.append(("spam", SPAM_GROUP))
    pos += [(MALICIOUS_GROUP, "malicious"), (SPAM_GROUP, "spam"), (SPAM_GROUP, "malicious")]
    # Positive labels of the categories a detector or decision can also have:
    # a graymail verdict is right on anything not malicious, a safe one on safe mail.
    pos += [("graymail", "safe"), ("graymail", "spam"), ("safe", "safe")]
    for grp in (*MALICIOUS_CATEGORIES, MALICIOUS_GROUP):
        catches += [(grp, cat) for cat in MALICIOUS_CATEGORIES]
    catches += [(SPAM_GROUP, cat) for cat in (*MALICIOUS_CATEGORIES, "spam")]
    feedback_truth = [
        ("analyst_malicious", "malicious", 0),
        ("analyst_safe", "safe", 0),
        ("user_report_phish", "malicious", 1),
        ("user_report_spam", "spam", 1),
        ("release_from_quarantine", "safe", 1),
    ]
    return {
        "metric_groups": pa.table({"grp": list(METRIC_GROUPS)}),
        "pred_groups": _pairs(pred, "category", "grp"),
        "positive_labels": _pairs(pos, "grp", "label"),
        "label_groups": _pairs(belongs, "truth", "grp"),
        "catches": _pairs(catches, "grp", "category"),
        "feedback_truth": pa.table(
            {
                "kind": [k for k, _, _ in feedback_truth],
                "truth": [t for _, t, _ in feedback_truth],
                "priority": pa.array([p for _, _, p in feedback_truth], pa.int64()),
            }
        ),
    }


def _pairs(rows: list[tuple[str, str]], a: str, b: str) -> pa.Table:
    return pa.table({a: [r[0] for r in rows], b: [r[1] for r in rows]})


_TRIAGE_IN = ", ".join(f"'{g}'" for g in TRIAGE_GROUPS)

# Views, created in this order.
VIEWS: dict[str, str] = {
    # The latest record per message: a message scored twice counts once.
    "decisions": """
SELECT row_id, message_id, tenant, scored_at, source, verdict, category, action,
       deciding_detector, subject, bundle_version
FROM (SELECT r.row_id, r.message_id, r.tenant, r.scored_at, r.source, r.verdict, r.category,
             r.action, r.deciding_detector, r.subject, r.bundle_version,
             ROW_NUMBER() OVER (PARTITION BY r.message_id ORDER BY r.scored_at DESC, r.row_id DESC) AS rn
      FROM raw_decisions r) x
WHERE rn = 1""",
    "joined": """
SELECT d.row_id, d.message_id, d.tenant,
       CASE WHEN l.source <> '' THEN l.source ELSE d.source END AS source,
       d.verdict, d.category, d.action, d.deciding_detector,
       CASE WHEN d.subject <> '' THEN d.subject ELSE l.subject END AS subject,
       l.label, CASE WHEN l.label = 'malicious' THEN l.category ELSE l.label END AS truth,
       l.technique, l.split, 'all' AS overall
FROM decisions d JOIN labels l ON l.message_id = d.message_id""",
    # Whether each labelled message is a positive for each detector category (a small table).
    "message_positive": """
SELECT j.row_id, c.category, CASE WHEN p.label IS NULL THEN 0 ELSE 1 END AS pos
FROM joined j
CROSS JOIN (SELECT DISTINCT category FROM detectors) c
LEFT JOIN positive_labels p ON p.grp = c.category AND p.label = j.label""",
    "scored_labels": """
SELECT ds.det_id, ds.score, ds.at_threshold, mp.pos
FROM detector_scores ds
JOIN detectors d ON d.det_id = ds.det_id
JOIN message_positive mp ON mp.row_id = ds.row_id AND mp.category = d.category
WHERE ds.has_score = 1""",
    "triage_fn": f"""
SELECT j.row_id, lg.grp, j.truth, j.source, j.technique, j.message_id, j.subject
FROM joined j
JOIN label_groups lg ON lg.truth = j.truth
LEFT JOIN catches c ON c.grp = lg.grp AND c.category = j.category
WHERE c.grp IS NULL AND lg.grp IN ({_TRIAGE_IN})""",
    # The detector of the miss's own group that came closest below its threshold.
    "triage_fn_near": """
SELECT row_id, grp, detector
FROM (SELECT fn.row_id, fn.grp, d.detector,
             ROW_NUMBER() OVER (PARTITION BY fn.grp, fn.row_id ORDER BY ds.gap, d.detector) AS rk
      FROM triage_fn fn
      JOIN detector_scores ds ON ds.row_id = fn.row_id
      JOIN detectors d ON d.det_id = ds.det_id
      JOIN pred_groups pg ON pg.category = d.category AND pg.grp = fn.grp
      WHERE ds.near_miss = 1) x
WHERE rk = 1""",
    "triage_miss": """
SELECT fn.row_id, fn.grp, COALESCE(n.detector, '') AS detector, 0 AS barely,
       fn.truth, fn.source, fn.technique, fn.message_id, fn.subject
FROM triage_fn fn LEFT JOIN triage_fn_near n ON n.row_id = fn.row_id AND n.grp = fn.grp""",
    "triage_alarm": f"""
SELECT j.row_id, pg.grp, j.deciding_detector AS detector, COALESCE(ds.barely, 0) AS barely,
       j.truth, j.source, j.technique, j.message_id, j.subject
FROM joined j
JOIN pred_groups pg ON pg.category = j.category
LEFT JOIN positive_labels p ON p.grp = pg.grp AND p.label = j.label
LEFT JOIN detectors d ON d.detector = j.deciding_detector
LEFT JOIN detector_scores ds ON ds.row_id = j.row_id AND ds.det_id = d.det_id
WHERE p.label IS NULL AND pg.grp IN ({_TRIAGE_IN})""",
    "triage_all": """
SELECT 'false_negative' AS side, row_id, grp, detector, barely, truth, source, technique, message_id, subject
FROM triage_miss
UNION ALL
SELECT 'false_positive' AS side, row_id, grp, detector, barely, truth, source, technique, message_id, subject
FROM triage_alarm""",
}

# Per-group counts along one dimension; ``{dim}`` is one of DIMENSIONS (a column of ``joined``).
GROUPED_COUNTS = """
WITH pred AS (
  SELECT j.{dim} AS key, g.grp, COUNT(*) AS predicted,
         SUM(CASE WHEN p.label IS NULL THEN 0 ELSE 1 END) AS tp
  FROM joined j
  JOIN pred_groups g ON g.category = j.category
  LEFT JOIN positive_labels p ON p.grp = g.grp AND p.label = j.label
  GROUP BY j.{dim}, g.grp),
act AS (
  SELECT j.{dim} AS key, lg.grp, COUNT(*) AS actual,
         SUM(CASE WHEN c.category IS NULL THEN 0 ELSE 1 END) AS caught
  FROM joined j
  JOIN label_groups lg ON lg.truth = j.truth
  LEFT JOIN catches c ON c.grp = lg.grp AND c.category = j.category
  GROUP BY j.{dim}, lg.grp),
neg AS (
  SELECT j.{dim} AS key, m.grp, COUNT(*) AS total,
         SUM(CASE WHEN p.label IS NULL THEN 1 ELSE 0 END) AS negatives
  FROM joined j
  CROSS JOIN metric_groups m
  LEFT JOIN positive_labels p ON p.grp = m.grp AND p.label = j.label
  GROUP BY j.{dim}, m.grp)
SELECT n.key, n.grp, n.total, n.negatives,
       COALESCE(pr.predicted, 0) AS predicted, COALESCE(pr.tp, 0) AS tp,
       COALESCE(a.actual, 0) AS actual, COALESCE(a.caught, 0) AS caught
FROM neg n
LEFT JOIN pred pr ON pr.key = n.key AND pr.grp = n.grp
LEFT JOIN act a ON a.key = n.key AND a.grp = n.grp
ORDER BY n.key, n.grp"""

QUERIES: dict[str, str] = {
    "coverage": """
SELECT 'log_rows' AS item, COUNT(*) AS n FROM raw_decisions
UNION ALL SELECT 'decisions' AS item, COUNT(*) AS n FROM decisions
UNION ALL SELECT 'labelled' AS item, COUNT(*) AS n FROM joined
UNION ALL SELECT 'unlabeled' AS item, COUNT(*) AS n
  FROM decisions d LEFT JOIN all_label_ids a ON a.message_id = d.message_id
  WHERE a.message_id IS NULL
UNION ALL SELECT 'excluded_by_split' AS item, COUNT(*) AS n
  FROM decisions d JOIN all_label_ids a ON a.message_id = d.message_id
  LEFT JOIN labels l ON l.message_id = d.message_id
  WHERE l.message_id IS NULL
UNION ALL SELECT 'labels_without_decision' AS item, COUNT(*) AS n
  FROM labels l LEFT JOIN decisions d ON d.message_id = l.message_id
  WHERE d.message_id IS NULL""",
    "unlabeled_ids": """
SELECT d.message_id FROM decisions d LEFT JOIN all_label_ids a ON a.message_id = d.message_id
WHERE a.message_id IS NULL ORDER BY d.message_id LIMIT 20""",
    "undecided_ids": """
SELECT l.message_id FROM labels l LEFT JOIN decisions d ON d.message_id = l.message_id
WHERE d.message_id IS NULL ORDER BY l.message_id LIMIT 20""",
    "bundle_versions": """
SELECT bundle_version, COUNT(*) AS n FROM decisions GROUP BY bundle_version ORDER BY bundle_version""",
    "confusion": """
SELECT truth, category AS predicted, COUNT(*) AS n
FROM joined GROUP BY truth, category ORDER BY truth, predicted""",
    "detector_attributed": """
SELECT j.deciding_detector AS detector, j.category, COUNT(*) AS decided,
       SUM(CASE WHEN p.label IS NULL THEN 0 ELSE 1 END) AS tp
FROM joined j LEFT JOIN positive_labels p ON p.grp = j.category AND p.label = j.label
WHERE j.deciding_detector <> ''
GROUP BY j.deciding_detector, j.category ORDER BY detector, j.category""",
    "detector_fired": """
SELECT f.detector, f.mode, COUNT(*) AS fired,
       SUM(CASE WHEN p.label IS NULL THEN 0 ELSE 1 END) AS fired_tp
FROM fired f
JOIN joined j ON j.row_id = f.row_id
LEFT JOIN detectors i ON i.detector = f.detector
LEFT JOIN positive_labels p ON p.grp = i.category AND p.label = j.label
GROUP BY f.detector, f.mode ORDER BY f.detector, f.mode""",
    "detector_scored": """
WITH s AS (
  SELECT det_id, COUNT(*) AS scored, SUM(pos) AS positives, SUM(at_threshold) AS at_threshold,
         SUM(CASE WHEN at_threshold = 1 AND pos = 1 THEN 1 ELSE 0 END) AS at_threshold_tp
  FROM scored_labels GROUP BY det_id)
SELECT d.detector, d.category, d.kind, s.scored, s.positives, s.at_threshold, s.at_threshold_tp
FROM s JOIN detectors d ON d.det_id = s.det_id ORDER BY d.detector""",
    "detector_kinds": """
SELECT detector, category, kind FROM detectors ORDER BY detector""",
    # Cumulative counts at each distinct score, highest first: one PR-curve point per score.
    "pr_points": """
WITH g AS (
  SELECT det_id, score, COUNT(*) AS n, SUM(pos) AS npos
  FROM scored_labels GROUP BY det_id, score)
SELECT d.detector, g.score,
       SUM(g.n) OVER (PARTITION BY g.det_id ORDER BY g.score DESC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS flagged,
       SUM(g.npos) OVER (PARTITION BY g.det_id ORDER BY g.score DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS tp
FROM g JOIN detectors d ON d.det_id = g.det_id ORDER BY d.detector, g.score DESC""",
    "triage_counts": """
SELECT side, grp, detector, barely, truth, source, technique, COUNT(*) AS n
FROM triage_all
GROUP BY side, grp, detector, barely, truth, source, technique
ORDER BY side, grp, detector, barely, truth, source, technique""",
    "triage_signals": """
SELECT t.side, t.grp, t.detector, t.barely, c.signal, COUNT(*) AS n,
       SUM(c.contribution) AS total_contribution
FROM triage_all t JOIN contributions c ON c.row_id = t.row_id
GROUP BY t.side, t.grp, t.detector, t.barely, c.signal
ORDER BY t.side, t.grp, t.detector, t.barely, c.signal""",
    "triage_examples": """
SELECT side, grp, detector, barely, message_id, subject
FROM (SELECT side, grp, detector, barely, message_id, subject,
             ROW_NUMBER() OVER (PARTITION BY side, grp, detector, barely ORDER BY message_id) AS rk
      FROM triage_all) x
WHERE rk <= 3 ORDER BY side, grp, detector, barely, message_id""",
}
for _dim in DIMENSIONS:
    QUERIES[f"by_{_dim}"] = GROUPED_COUNTS.format(dim=_dim)

# Online metrics: decisions joined to feedback events.
ONLINE_VIEWS: dict[str, str] = {
    "decisions": VIEWS["decisions"],
    # One resolving event per message: the latest analyst label, else the latest user event.
    "feedback_resolved": """
SELECT message_id, kind, truth, analyst
FROM (SELECT f.message_id, f.kind, t.truth,
             CASE WHEN t.priority = 0 THEN 1 ELSE 0 END AS analyst,
             ROW_NUMBER() OVER (PARTITION BY f.message_id
                                ORDER BY t.priority, f.event_time DESC, f.fb_row DESC) AS rk
      FROM feedback f JOIN feedback_truth t ON t.kind = f.kind) x
WHERE rk = 1""",
}

ONLINE_QUERIES: dict[str, str] = {
    "online_counts": f"""
SELECT d.tenant, COUNT(*) AS decisions,
       SUM(CASE WHEN m.grp IS NULL THEN 0 ELSE 1 END) AS flagged,
       SUM(CASE WHEN m.grp IS NOT NULL AND r.truth = 'malicious' THEN 1 ELSE 0 END) AS confirmed,
       SUM(CASE WHEN m.grp IS NOT NULL AND r.truth IN ('safe', 'spam') THEN 1 ELSE 0 END) AS disputed,
       SUM(CASE WHEN m.grp IS NOT NULL AND r.analyst = 1 THEN 1 ELSE 0 END) AS reviewed,
       SUM(CASE WHEN m.grp IS NOT NULL AND r.analyst = 1 AND r.truth = 'malicious' THEN 1 ELSE 0 END)
         AS reviewed_malicious,
       SUM(CASE WHEN m.grp IS NULL AND r.truth = 'malicious' THEN 1 ELSE 0 END) AS reported_misses,
       SUM(CASE WHEN r.message_id IS NULL THEN 0 ELSE 1 END) AS with_feedback
FROM decisions d
LEFT JOIN pred_groups m ON m.category = d.category AND m.grp = '{MALICIOUS_GROUP}'
LEFT JOIN feedback_resolved r ON r.message_id = d.message_id
GROUP BY d.tenant ORDER BY d.tenant""",
    "feedback_kinds": """
SELECT f.kind, COUNT(*) AS n,
       SUM(CASE WHEN d.message_id IS NULL THEN 1 ELSE 0 END) AS unmatched
FROM feedback f LEFT JOIN decisions d ON d.message_id = f.message_id
GROUP BY f.kind ORDER BY f.kind""",
}
