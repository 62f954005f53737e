"""This module contains detector training: feature matrix + labels -> a Model of compiled-ready detectors.

- per-category detectors (one binary model per category: this category
  against every other message) or one multi-class detector (safe / spam /
  malicious);
- scikit-learn HistGradientBoosting (default), LightGBM or XGBoost, one thread,
  seeded;
- time-aware validation: the latest ``validation_fraction`` of the training
  rows (by timestamp) is held out; the model is fitted on the earlier rows;
- each output's threshold is the lowest score whose alerts reach the target
  precision on validation (scored by the compiled forest, the way the engine
  will score), stored with the model together with the validation metrics;
- the signal schema hash is pinned in the model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyscore._dtypes import FEATURE_DTYPE
from pyscore.models.modelfile import Detector, Model

ALGOS = ("hgb", "lightgbm", "xgboost")
MODES = ("multiclass", "per-category")
LABEL_ORDER = ("safe", "spam", "malicious")
FEATURES_FILE = "features.parquet"
INDEX_FILE = "index.parquet"
SCHEMA_KEYS = (b"pyscore.schema_hash", b"pyscore.signals.schema_hash")


@dataclass(frozen=True)
class TrainConfig:
    algo: str = "hgb"
    mode: str = "multiclass"
    target_precision: float = 0.999
    validation_fraction: float = 0.2
    n_trees: int = 200
    max_depth: int = 6
    learning_rate: float = 0.1
    min_positives: int = 10  # per-category: fewer training positives -> no detector
    seed: int = 0

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo {self.algo!r} is not one of {ALGOS}")
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {MODES}")
        if not 0 < self.target_precision <= 1:
            raise ValueError(f"target precision {self.target_precision} is not in (0, 1]")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation fraction {self.validation_fraction} is not in (0, 1)")
        if self.n_trees < 1 or self.max_depth < 1:
            raise ValueError("n_trees and max_depth must be positive")


@dataclass
class TrainingData:
    """Rows of the training pool (and the test split, if any), aligned with the feature matrix."""

    X: np.ndarray  # float32 (n, F)
    labels: np.ndarray  # str (n,): safe | spam | malicious
    categories: np.ndarray  # str (n,)
    timestamps: np.ndarray  # float64 (n,), NaN unknown
    is_test: np.ndarray  # bool (n,)
    feature_names: list[str]
    schema_hash: str


# -- thresholds ---------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    recall: float
    alerts: int
    target_met: bool


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, target_precision: float) -> ThresholdChoice:
    """The lowest threshold whose alerts (score >= threshold) reach the target precision.

    When no threshold reaches it, the one with the highest precision (then
    the most alerts) is kept and ``target_met`` is False; with no positive
    at all the threshold is NaN (the output never fires).
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.sum() == 0 or len(s) == 0:
        return ThresholdChoice(math.nan, math.nan, math.nan, 0, False)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # Candidate cuts: the last position of each distinct score (ties alert together).
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s_sorted) - 1]
    tp = np.cumsum(y_sorted)[last]
    alerts = last + 1
    precision = tp / alerts
    recall = tp / y.sum()
    ok = np.flatnonzero(precision >= target_precision)
    if ok.size:
        j = ok[-1]  # most alerts among the cuts that reach the target
        met = True
    else:
        best = precision.max()
        j = np.flatnonzero(precision == best)[-1]
        met = False
    return ThresholdChoice(float(s_sorted[last[j]]), float(precision[j]), float(recall[j]), int(alerts[j]), met)


# -- splits ---------------------------------------------------------------------


def time_split(timestamps: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows): validation is the latest ``fraction`` by time.

    Rows without a timestamp sort first (they are never the "latest"); ties
    keep their order, so the split is deterministic.
    """
    t = np.asarray(timestamps, dtype=np.float64)
    order = np.argsort(np.where(np.isnan(t), -np.inf, t), kind="stable")
    n_val = max(1, int(round(len(t) * fraction)))
    if n_val >= len(t):
        raise ValueError(f"{len(t)} training rows are too few for a validation split")
    return np.sort(order[:-n_val]), np.sort(order[-n_val:])


# -- fitting --------------------------------------------------------------------


def fit(algo: str, X: np.ndarray, y: np.ndarray, n_classes: int, config: TrainConfig) -> Any:
    """A fitted model of the given library; y holds class indices 0..n_classes-1."""
    if algo == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        model = HistGradientBoostingClassifier(
            max_iter=config.n_trees, max_depth=config.max_depth, learning_rate=config.learning_rate,
            early_stopping=False, random_state=config.seed,
        )  # fmt: skip
        with threadpool_limits(1):  # OpenMP threads only fight on a shared machine
            return model.fit(X, y)
    if algo == "lightgbm":
        import lightgbm as lgb

        params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": config.seed,
                  "max_depth": config.max_depth, "num_leaves": min(31, 2**config.max_depth),
                  "learning_rate": config.learning_rate, "deterministic": True}  # fmt: skip
        if n_classes > 2:
            params.update(objective="multiclass", num_class=n_classes)
        return lgb.train(params, lgb.Dataset(X, y), num_boost_round=config.n_trees)
    if algo == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "max_depth": config.max_depth, "eta": config.learning_rate,
                  "nthread": 1, "seed": config.seed, "tree_method": "hist"}  # fmt: skip
        if n_classes > 2:
            params.update(objective="multi:softprob", num_class=n_classes)
        return xgb.train(params, xgb.DMatrix(X, y, missing=np.nan), num_boost_round=config.n_trees)
    raise ValueError(f"algo {algo!r} is not one of {ALGOS}")


def _detector(
    name: str, category: str, outputs: list[str], positives: list[np.ndarray | None],
    data: TrainingData, fit_rows: np.ndarray, val_rows: np.ndarray, y_class: np.ndarray, config: TrainConfig,
) -> Detector:  # fmt: skip
    """Fit, compile, pick thresholds on validation, measure on test; y_class: class index per row."""
    from pyscore.models.forest import CompiledForest
    from pyscore.models.importer import import_forest, to_treelite

    n_classes = len(outputs) if len(outputs) > 1 else 2
    source = fit(config.algo, data.X[fit_rows], y_class[fit_rows], n_classes, config)
    tl_model = to_treelite(source)
    forest = CompiledForest(import_forest(tl_model), name=name, outputs=tuple(outputs))
    thresholds, metrics = [], {"fit_rows": int(len(fit_rows)), "validation_rows": int(len(val_rows))}
    val_scores = forest.predict(data.X[val_rows])
    test_rows = np.flatnonzero(data.is_test)
    test_scores = forest.predict(data.X[test_rows]) if len(test_rows) else None
    for j, (output, positive) in enumerate(zip(outputs, positives, strict=True)):
        if positive is None:  # the negative class of a multi-class model never fires
            thresholds.append(math.nan)
            continue
        choice = choose_threshold(positive[val_rows], val_scores[:, j], config.target_precision)
        thresholds.append(choice.threshold)
        entry = {"validation": asdict(choice), "validation_positives": int(positive[val_rows].sum())}
        if test_scores is not None and not math.isnan(choice.threshold):
            alerts = test_scores[:, j] >= choice.threshold
            y_test = positive[test_rows]
            tp = int((alerts & y_test).sum())
            entry["test"] = {"alerts": int(alerts.sum()), "true_alerts": tp, "positives": int(y_test.sum()),
                             "precision": tp / alerts.sum() if alerts.sum() else math.nan,
                             "recall": tp / y_test.sum() if y_test.sum() else math.nan}  # fmt: skip
        metrics[output] = entry
    return Detector(name=name, algo=config.algo, outputs=list(outputs), thresholds=thresholds,
                    treelite=tl_model.serialize_bytes(), category=category, metrics=_finite(metrics))  # fmt: skip


def _finite(obj: Any) -> Any:
    """Metrics as JSON-safe values (NaN -> None)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def train_detectors(data: TrainingData, config: TrainConfig | None = None) -> Model:
    """Train the configured detectors on ``data``'s training pool (every row not in test)."""
    config = config or TrainConfig()
    pool = np.flatnonzero(~data.is_test)
    if len(pool) < 10:
        raise ValueError(f"only {len(pool)} training rows: need at least 10")
    fit_local, val_local = time_split(data.timestamps[pool], config.validation_fraction)
    fit_rows, val_rows = pool[fit_local], pool[val_local]
    detectors = []
    if config.mode == "multiclass":
        present = [c for c in LABEL_ORDER if (data.labels[fit_rows] == c).any()]
        unknown = sorted(set(data.labels[pool]) - set(LABEL_ORDER))
        if unknown:
            raise ValueError(f"labels {unknown} are not among {LABEL_ORDER}")
        if len(present) < 2:
            raise ValueError(f"the fit rows have only the label(s) {present}: need two classes")
        y_class = np.array([present.index(v) if v in present else 0 for v in data.labels], dtype=np.int32)
        if len(present) == 2:  # one output: the probability of the second class
            outputs, positives = [present[1]], [data.labels == present[1]]
        else:
            outputs = present
            positives = [None if c == "safe" else data.labels == c for c in present]
        detectors.append(_detector("multiclass", "", outputs, positives, data, fit_rows, val_rows, y_class, config))
    else:
        for category in sorted(set(data.categories[pool]) - {"safe", ""}):
            positive = data.categories == category
            if positive[fit_rows].sum() < config.min_positives or positive[val_rows].sum() == 0:
                continue
            y = positive.astype(np.int32)
            detectors.append(_detector(category, category, [category], [positive], data, fit_rows, val_rows, y, config))
        if not detectors:
            raise ValueError(f"no category has {config.min_positives} training positives and one validation positive")
    info = {"config": asdict(config), "rows": {"train_pool": int(len(pool)), "test": int(data.is_test.sum())}}
    return Model(schema_hash=data.schema_hash, feature_names=list(data.feature_names), detectors=detectors,
                 target_precision=config.target_precision, info=info)  # fmt: skip


# -- the dataset contract -------------------------------------------------------------------


def load_training_data(dataset_dir: str | Path, *, drop_duplicates: bool = True) -> TrainingData:
    """DIR/index.parquet joined with DIR/features.parquet (or features computed from the raw mail)."""
    import pyarrow.parquet as pq

    dataset_dir = Path(dataset_dir)
    index_path = dataset_dir / INDEX_FILE
    if not index_path.is_file():
        raise FileNotFoundError(f"{dataset_dir} has no {INDEX_FILE}")
    index = pq.read_table(index_path).to_pandas()
    for column in ("message_id", "label"):
        if column not in index.columns:
            raise ValueError(f"{index_path} lacks the column {column!r}")
    if drop_duplicates and "is_duplicate" in index.columns:
        index = index[~index["is_duplicate"].astype(bool)]
    features_path = dataset_dir / FEATURES_FILE
    if features_path.is_file():
        ids, X, names, schema_hash = _read_features(features_path)
    else:
        ids, X, names, schema_hash = _compute_features(dataset_dir, set(index["message_id"]))
    position = {m: i for i, m in enumerate(ids)}
    missing = [m for m in index["message_id"] if m not in position]
    if missing:
        raise ValueError(f"{len(missing)} indexed messages have no feature row, e.g. {missing[0]!r}")
    rows = np.array([position[m] for m in index["message_id"]], dtype=np.int64)
    n = len(index)
    column = index.get
    return TrainingData(
        X=np.ascontiguousarray(X[rows], dtype=FEATURE_DTYPE),
        labels=np.asarray(index["label"], dtype=str),
        categories=np.asarray(column("category", index["label"]), dtype=str),
        timestamps=np.asarray(column("timestamp", np.full(n, np.nan)), dtype=np.float64),
        is_test=np.asarray(column("split", np.full(n, "train")), dtype=str) == "test",
        feature_names=names,
        schema_hash=schema_hash,
    )


def _read_features(path: Path) -> tuple[list[str], np.ndarray, list[str], str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    schema_hash = next((meta[k].decode() for k in SCHEMA_KEYS if k in meta), None)
    if schema_hash is None:
        raise ValueError(f"{path} has no schema hash in its metadata ({SCHEMA_KEYS[0].decode()})")
    id_column = next((c for c in ("message_id", "id") if c in table.column_names), None)
    if id_column is None:
        raise ValueError(f"{path} has no message_id column")
    names = [c for c in table.column_names if c != id_column]
    if not names:
        raise ValueError(f"{path} has no feature columns")
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(FEATURE_DTYPE) for c in names])
    return table.column(id_column).to_pylist(), X, names, schema_hash


def _compute_features(dataset_dir: Path, wanted: set[str], chunk: int = 512):
    """Parse every raw message of the dataset and compute the registered signals."""
    from pyscore.batch import MessageBatch
    from pyscore.datasets import iter_raw
    from pyscore.mime import parse
    from pyscore.signals import REGISTRY, ScoringContext, compute_features

    ids: list[str] = []
    blocks: list[np.ndarray] = []
    pending: list[tuple[dict, Any]] = []

    def flush() -> None:
        batch = MessageBatch.from_messages([m for _, m in pending], ids=[r["message_id"] for r, _ in pending])
        times = np.array([r.get("timestamp", math.nan) for r, _ in pending], dtype=np.float64)
        context = ScoringContext(tenants=[r.get("tenant", "") for r, _ in pending], times=times)
        blocks.append(compute_features(batch, context))
        ids.extend(r["message_id"] for r, _ in pending)
        pending.clear()

    for row, raw in iter_raw(dataset_dir):
        if row["message_id"] in wanted:
            pending.append((row, parse(raw)))
            if len(pending) >= chunk:
                flush()
    if pending:
        flush()
    if not blocks:
        raise ValueError(f"no message of {dataset_dir} could be read for features")
    return ids, np.concatenate(blocks), list(REGISTRY.names), REGISTRY.schema_hash()
