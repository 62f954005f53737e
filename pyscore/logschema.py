"""This module contains the Arrow schemas of decision logs, labels and feedback, declared once.

The engine writes decision logs with ``DECISION_LOG_SCHEMA``; ``pyscore.metrics``
reads them back together with labels (``LABELS_SCHEMA``) and feedback events
(``FEEDBACK_SCHEMA``). ``conform`` checks a table against one of these schemas
and names the first thing that is wrong (missing column, uncastable type,
value outside its vocabulary) instead of letting a metric silently drop rows.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

VERDICTS = ("malicious", "suspicious", "safe")
MALICIOUS_CATEGORIES = ("credential_phishing", "bec", "malware", "callback_scam")
CATEGORIES = (*MALICIOUS_CATEGORIES, "spam", "graymail", "safe")
ACTIONS = ("deliver", "banner", "junk", "quarantine")
DETECTOR_KINDS = ("rule", "model", "list")
LABELS = ("malicious", "spam", "safe")
FEEDBACK_KINDS = (
    "user_report_phish",
    "user_report_spam",
    "release_from_quarantine",
    "analyst_malicious",
    "analyst_safe",
)

DETECTOR_SCORE_TYPE = pa.struct(
    [
        ("detector", pa.string()),
        ("score", pa.float64()),
        ("threshold", pa.float64()),
        ("category", pa.string()),
        ("kind", pa.string()),
    ]
)
CONTRIBUTION_TYPE = pa.struct(
    [("signal", pa.string()), ("value", pa.float32()), ("contribution", pa.float64())]
)

DECISION_LOG_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("tenant", pa.string()),
        ("time", pa.float64()),  # epoch seconds: when scored (message time on replay)
        ("source", pa.string()),  # '' when unknown
        ("verdict", pa.string()),  # VERDICTS
        ("category", pa.string()),  # CATEGORIES
        ("action", pa.string()),  # ACTIONS
        ("score", pa.float64()),  # the deciding detector's score; NaN for default deliver
        ("deciding_detector", pa.string()),  # '' for default deliver
        ("fired", pa.list_(pa.string())),  # active detectors that fired
        ("shadow_fired", pa.list_(pa.string())),  # shadow detectors that fired
        ("detector_scores", pa.list_(DETECTOR_SCORE_TYPE)),  # every model and every rule
        ("contributions", pa.list_(CONTRIBUTION_TYPE)),  # top features of the deciding model
        ("bundle_version", pa.string()),
    ]
)

LABELS_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("label", pa.string()),  # LABELS
        ("category", pa.string()),  # CATEGORIES; a malicious label names its category
        ("source", pa.string()),
        ("technique", pa.string()),  # injected attack technique, '' if none
        ("split", pa.string()),
    ]
)

FEEDBACK_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("time", pa.float64()),
        ("kind", pa.string()),  # FEEDBACK_KINDS
        ("actor", pa.string()),
    ]
)

# Columns whose values must come from a fixed vocabulary, per schema.
_VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "decision log": {"verdict": VERDICTS, "category": CATEGORIES, "action": ACTIONS},
    "labels": {"label": LABELS, "category": (*CATEGORIES, "")},
    "feedback": {"kind": FEEDBACK_KINDS},
}
# String columns where a null means "unknown" and is read as ''.
_EMPTY_WHEN_NULL = {
    "decision log": ("source", "deciding_detector", "tenant", "bundle_version"),
    "labels": ("category", "source", "technique", "split"),
    "feedback": ("actor",),
}
_REQUIRED_NON_NULL = {
    "decision log": ("message_id", "verdict", "category", "action"),
    "labels": ("message_id", "label"),
    "feedback": ("message_id", "kind"),
}
_SCHEMAS = {"decision log": DECISION_LOG_SCHEMA, "labels": LABELS_SCHEMA, "feedback": FEEDBACK_SCHEMA}


def conform(table: pa.Table, what: str) -> pa.Table:
    """``table`` cast to the schema named ``what`` ('decision log', 'labels' or 'feedback').

    Extra columns are kept (after the schema's own); missing columns, columns
    that cannot be cast, nulls in key columns and out-of-vocabulary values raise
    ValueError naming the column and an offending value.
    """
    if what not in _SCHEMAS:
        raise ValueError(f"unknown table kind {what!r} (expected one of {', '.join(_SCHEMAS)})")
    schema = _SCHEMAS[what]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
    columns, fields = [], []
    for f in schema:
        col = table.column(f.name)
        if not col.type.equals(f.type):
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"{what}: column {f.name} has type {col.type}, expected {f.type}: {exc}") from None
        if f.name in _EMPTY_WHEN_NULL[what]:
            col = pc.fill_null(col, "")
        columns.append(col)
        fields.append(f)
    for name in table.column_names:
        if name not in schema.names:
            columns.append(table.column(name))
            fields.append(table.schema.field(name))
    out = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    for name in _REQUIRED_NON_NULL[what]:
        nulls = out.column(name).null_count
        if nulls:
            raise ValueError(f"{what}: column {name} has {nulls} null value(s)")
    for name, allowed in _VOCABULARIES[what].items():
        _check_vocabulary(out.column(name), allowed, f"{what}: column {name}")
    return out


def _check_vocabulary(col: pa.ChunkedArray, allowed: tuple[str, ...], where: str) -> None:
    bad = pc.unique(pc.filter(col, pc.invert(pc.is_in(col, pa.array(allowed)))))
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.to_pylist()[:3])
        raise ValueError(f"{where}: unexpected value(s) {shown} (expected one of {', '.join(allowed)})")
