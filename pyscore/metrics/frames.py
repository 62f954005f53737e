"""This module contains the readers that turn decision logs, labels and feedback into flat SQL relations.

Decision logs hold list columns (fired detectors, detector scores,
contributions). The metrics SQL sees them as long tables keyed by ``row_id``
(the record's position in the log), so it needs no engine-specific UNNEST.
Float comparisons against thresholds are done here, once, into 0/1 columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pyscore.logschema import CATEGORIES, DETECTOR_KINDS, MALICIOUS_CATEGORIES, conform
from pyscore.metrics.queries import reference_tables

TableLike = Any  # pa.Table, pandas.DataFrame, or a path to Parquet (file or directory) / CSV


def read_table(source: TableLike, what: str) -> pa.Table:
    """A decision log, labels or feedback table from a table, DataFrame, Parquet file or directory, or CSV."""
    if isinstance(source, pa.Table):
        return conform(source, what)
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        return conform(pa.Table.from_pandas(source, preserve_index=False), what)
    if not isinstance(source, str | Path):
        raise ValueError(f"{what}: expected a pyarrow Table, DataFrame or path, got {type(source).__name__}")
    path = Path(source)
    if path.is_dir() and (path / "index.parquet").is_file():  # a pyscore dataset: its index holds the labels
        path = path / "index.parquet"
    if path.is_dir():
        # Hidden files are a writer's temporaries: never read them.
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"{what}: no .parquet files under {path}")
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"{what}: no such file or directory: {path}")
    tables = [conform(_read_file(p, what), what) for p in files]
    return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]


def _read_file(path: Path, what: str) -> pa.Table:
    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            # Read every column as text so '' stays '' and ids keep leading zeros.
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                strings_can_be_null=False, column_types=_csv_types(path)))
        import pyarrow.parquet as pq

        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{what}: cannot read {path}: {exc}") from None


def _csv_types(path: Path) -> dict[str, pa.DataType]:
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    return {name: (pa.float64() if name == "time" else pa.string()) for name in header}


def log_relations(log: pa.Table, *, near_margin: float) -> dict[str, pa.Table]:
    """``raw_decisions``, ``fired``, ``detector_scores`` and ``contributions`` from a conformed log."""
    n = log.num_rows
    row_id = pa.array(np.arange(n, dtype=np.int64))
    subject = log.column("subject").cast(pa.string()) if "subject" in log.column_names else pa.array([""] * n, pa.string())
    raw = pa.table(
        {
            "row_id": row_id,
            "message_id": log.column("message_id"),
            "tenant": log.column("tenant"),
            "scored_at": log.column("time"),
            "source": log.column("source"),
            "verdict": log.column("verdict"),
            "category": log.column("category"),
            "action": log.column("action"),
            "deciding_detector": log.column("deciding_detector"),
            "subject": pc.fill_null(subject, ""),
            "bundle_version": log.column("bundle_version"),
        }
    )
    active_ids, active = _explode(log.column("fired"))
    shadow_ids, shadow = _explode(log.column("shadow_fired"))
    fired = pa.table(
        {
            "row_id": pa.concat_arrays([active_ids, shadow_ids]),
            "detector": pa.concat_arrays([active.cast(pa.string()), shadow.cast(pa.string())]),
            "mode": pa.array(["active"] * len(active) + ["shadow"] * len(shadow), pa.string()),
        }
    )
    fired = fired.filter(pc.is_valid(fired.column("detector")))
    scores, detectors = _detector_scores(log.column("detector_scores"), near_margin)
    return {
        "raw_decisions": raw,
        "fired": fired,
        "detector_scores": scores,
        "detectors": detectors,
        "contributions": _contributions(log.column("contributions")),
    }


def _explode(col: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(row ids, values) of a list column; null lists contribute nothing."""
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if isinstance(arr, pa.ChunkedArray):  # zero chunks
        arr = pa.array([], col.type)
    return pc.list_parent_indices(arr).cast(pa.int64()), pc.list_flatten(arr)


def _detector_scores(col: pa.ChunkedArray, near_margin: float) -> tuple[pa.Table, pa.Table]:
    """(``detector_scores`` keyed by integer ``det_id``, ``detectors``): millions of rows carry no strings."""
    ids, items = _explode(col)
    keep = pc.is_valid(items)  # a null entry carries nothing: drop it with its row id
    ids, items = ids.filter(keep), items.filter(keep)
    names, det_id = _codes(pc.fill_null(items.field("detector"), ""))
    categories, cat_code = _codes(pc.fill_null(items.field("category"), ""))
    kinds, kind_code = _codes(pc.fill_null(items.field("kind"), ""))
    _check_values(categories, CATEGORIES, "detector_scores.category")
    _check_values(kinds, DETECTOR_KINDS, "detector_scores.kind")
    if "" in names.to_pylist():
        raise ValueError("decision log: detector_scores has an entry with an empty detector name")
    detectors = _detector_table(names, det_id, categories, cat_code, kinds, kind_code)
    _check_unique_pairs(ids.to_numpy(), det_id, names)
    score = pc.fill_null(items.field("score"), np.nan).to_numpy(zero_copy_only=False)
    threshold = pc.fill_null(items.field("threshold"), np.nan).to_numpy(zero_copy_only=False)
    # Distance to the threshold, relative for large thresholds (margins), absolute for probabilities.
    # Only a model's score can be near its threshold: a rule or list scores 0 or 1.
    graded = kind_code == kinds.to_pylist().index("model") if "model" in kinds.to_pylist() else \
        np.zeros(len(kind_code), bool)
    with np.errstate(invalid="ignore"):
        gap = (threshold - score) / np.maximum(np.abs(threshold), 1.0)
        at = score >= threshold
        near = graded & (gap > 0) & (gap <= near_margin)
        barely = graded & (gap <= 0) & (gap >= -near_margin)
    scores = pa.table(
        {
            "row_id": ids,
            "det_id": pa.array(det_id),
            "score": pa.array(np.where(np.isnan(score), 0.0, score)),
            "threshold": pa.array(threshold),
            "gap": pa.array(np.where(np.isnan(gap), np.inf, gap)),
            "has_score": pa.array((~np.isnan(score)).astype(np.int64)),
            "at_threshold": pa.array(at.astype(np.int64)),
            "near_miss": pa.array(near.astype(np.int64)),
            "barely": pa.array(barely.astype(np.int64)),
        }
    )
    return scores, detectors


def _codes(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(distinct values, int64 code of each element)."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return enc.dictionary, enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _detector_table(names: pa.Array, det_id: np.ndarray, categories: pa.Array, cat_code: np.ndarray,
                    kinds: pa.Array, kind_code: np.ndarray) -> pa.Table:
    """One row per detector; a detector logged with two categories or kinds is an error."""
    n = len(names)
    nc, nk = max(len(categories), 1), max(len(kinds), 1)
    keys = np.unique((det_id * nc + cat_code) * nk + kind_code)  # one int key per combination: a fast sort
    combos = np.stack([keys // (nc * nk), keys // nk % nc, keys % nk], axis=1)
    if len(combos) != n:
        d = int(combos[np.flatnonzero(np.diff(combos[:, 0]) == 0)[0], 0])
        seen = {(categories[int(c)].as_py(), kinds[int(k)].as_py()) for i, c, k in combos if i == d}
        raise ValueError(
            f"decision log: detector {names[d].as_py()!r} appears with different categories / kinds "
            f"{sorted(seen)}; evaluate one bundle version at a time"
        )
    return pa.table({
        "det_id": pa.array(np.arange(n, dtype=np.int64)),
        "detector": names,
        "category": categories.take(pa.array(combos[:, 1])) if n else pa.array([], pa.string()),
        "kind": kinds.take(pa.array(combos[:, 2])) if n else pa.array([], pa.string()),
    })


def _check_unique_pairs(row_ids: np.ndarray, det_id: np.ndarray, names: pa.Array) -> None:
    if len(row_ids) == 0:
        return
    key = np.sort(row_ids * len(names) + det_id)
    dup = np.flatnonzero(key[1:] == key[:-1])
    if len(dup):
        k = int(key[dup[0]])
        count = int(np.count_nonzero(key == k))
        raise ValueError(
            f"decision log: record {k // len(names)} lists detector {names[k % len(names)].as_py()!r} "
            f"{count} times in detector_scores"
        )


def _contributions(col: pa.ChunkedArray) -> pa.Table:
    ids, items = _explode(col)
    keep = pc.is_valid(items)
    ids, items = ids.filter(keep), items.filter(keep)
    return pa.table(
        {
            "row_id": ids,
            "signal": pc.fill_null(items.field("signal"), ""),
            "value": items.field("value").cast(pa.float64()),
            "contribution": pc.fill_null(items.field("contribution").cast(pa.float64()), 0.0),
        }
    )


def label_relations(labels: pa.Table, *, split: str | None) -> dict[str, pa.Table]:
    """``labels`` (filtered to ``split``) and ``all_label_ids`` from a conformed labels table."""
    ids = labels.column("message_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pa.table({"message_id": ids}).group_by("message_id").aggregate([([], "count_all")])
        dup = counts.filter(pc.greater(counts.column("count_all"), 1)).column("message_id")[0].as_py()
        raise ValueError(f"labels: message_id {dup!r} is labelled more than once")
    mal = pc.equal(labels.column("label"), "malicious")
    bad = labels.filter(pc.and_(mal, pc.invert(pc.is_in(labels.column("category"), pa.array(MALICIOUS_CATEGORIES)))))
    if bad.num_rows:
        row = bad.slice(0, 1).to_pylist()[0]
        raise ValueError(
            f"labels: message_id {row['message_id']!r} is malicious with category {row['category']!r} "
            f"(a malicious label needs one of {', '.join(MALICIOUS_CATEGORIES)})"
        )
    cols = ["message_id", "label", "category", "source", "technique", "split"]
    kept = labels.select(cols)
    # A dataset index carries the subject; triage examples show it when the log does not.
    subject = (pc.fill_null(labels.column("subject").cast(pa.string()), "") if "subject" in labels.column_names
               else pa.array([""] * labels.num_rows, pa.string()))
    kept = kept.append_column("subject", subject)
    if split is not None:
        kept = kept.filter(pc.equal(kept.column("split"), split))
    return {"labels": kept, "all_label_ids": labels.select(["message_id"])}


def feedback_relation(feedback: pa.Table) -> pa.Table:
    """``feedback`` from a conformed feedback table; ``fb_row`` breaks ties between equal times."""
    return pa.table(
        {
            "message_id": feedback.column("message_id"),
            "event_time": pc.fill_null(feedback.column("time"), -np.inf),
            "kind": feedback.column("kind"),
            "actor": feedback.column("actor"),
            "fb_row": pa.array(np.arange(feedback.num_rows, dtype=np.int64)),
        }
    )


def offline_relations(log: pa.Table, labels: pa.Table, *, split: str | None, near_margin: float) -> dict[str, pa.Table]:
    """Every relation the offline queries read."""
    return {**log_relations(log, near_margin=near_margin), **label_relations(labels, split=split),
            **reference_tables()}


def _check_values(arr: pa.Array, allowed: tuple[str, ...], where: str) -> None:
    bad = pc.unique(arr.filter(pc.invert(pc.is_in(arr, pa.array(allowed)))))
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.to_pylist()[:3])
        raise ValueError(f"decision log: {where} has unexpected value(s) {shown} (expected one of {', '.join(allowed)})")
