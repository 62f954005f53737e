"""This module contains the importer: any trained tree model -> Treelite -> ForestArrays.

Every source goes through Treelite 4 (``treelite.sklearn.import_model`` for
scikit-learn's HistGradientBoosting, ``treelite.frontend.from_lightgbm`` and
``from_xgboost`` for boosters), then the node arrays are read through
Treelite's field accessors (the same data ``Model.dump_as_json()`` prints)
and renumbered so that every child comes after its parent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyscore.models.forest import OP_CODES, ForestArrays

# Treelite 4 enums, as its field accessors return them.
_TL_OPS = {2: "<", 3: "<=", 4: ">", 5: ">="}  # Operator: kEQ=1 is not a numerical test
_TL_LEAF, _TL_NUMERICAL, _TL_CATEGORICAL = 0, 1, 2
_TL_FLOAT32 = 2
_TL_POST = {"sigmoid": "sigmoid", "softmax": "softmax", "identity": "identity", "identity_multiclass": "identity"}


def to_treelite(model: Any) -> Any:
    """A treelite.Model from a fitted HistGradientBoosting*, LightGBM or XGBoost model."""
    import treelite

    if isinstance(model, treelite.Model):
        return model
    module = type(model).__module__
    if module.startswith("sklearn."):
        return treelite.sklearn.import_model(model)
    if module.startswith("lightgbm."):
        booster = model.booster_ if hasattr(model, "booster_") else model
        return treelite.frontend.from_lightgbm(booster)
    if module.startswith("xgboost."):
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        return treelite.frontend.from_xgboost(booster)
    raise ValueError(f"cannot import a {type(model).__qualname__}: expected scikit-learn HistGradientBoosting, "
                     "LightGBM or XGBoost")  # fmt: skip


def _field(accessor: Any, name: str) -> np.ndarray:
    # A copy: the accessor's arrays view Treelite's own buffers.
    return np.array(accessor.get_field(name), copy=True)


def _header(model: Any) -> dict[str, Any]:
    h = model.get_header_accessor()
    names = ("num_feature", "task_type", "num_target", "num_class", "leaf_vector_shape", "class_id",
             "postprocessor", "sigmoid_alpha", "base_scores", "average_tree_output", "leaf_output_type")  # fmt: skip
    return {n: _field(h, n) for n in names}


def from_treelite(model: Any) -> ForestArrays:
    """The core's authored form of a Treelite model; refuses what the core cannot evaluate exactly."""
    h = _header(model)
    if int(h["num_target"][0]) != 1:
        raise ValueError(f"model has {int(h['num_target'][0])} targets; only single-target models are supported")
    if list(h["leaf_vector_shape"]) != [1, 1]:
        raise ValueError("model stores vector leaves (one tree for all classes); only scalar leaves are supported")
    if int(h["average_tree_output"][0]):
        raise ValueError("model averages its trees (random forest); only boosted sums are supported")
    post = str(h["postprocessor"])
    if post not in _TL_POST:
        raise ValueError(f"unsupported post-processor {post!r} (supported: {', '.join(_TL_POST)})")
    n_outputs = int(h["num_class"][0])
    class_id = np.asarray(h["class_id"], dtype=np.int32)
    n_trees = int(model.num_tree)
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "op", "left", "right",
                                                            "default_left", "leaf_value", "cover")}  # fmt: skip
    sizes = np.zeros(n_trees + 1, dtype=np.int64)
    has_cover = True
    for t in range(n_trees):
        tree = _tree_arrays(model.get_tree_accessor(t), t)
        has_cover &= tree["cover"] is not None
        for k, v in tree.items():
            columns[k].append(v)
        sizes[t + 1] = len(tree["feature"])
    return ForestArrays(
        n_features=int(h["num_feature"][0]),
        n_outputs=n_outputs,
        tree_offsets=np.cumsum(sizes),
        tree_output=class_id,
        feature=np.concatenate(columns["feature"]),
        threshold=np.concatenate(columns["threshold"]),
        op=np.concatenate(columns["op"]),
        left=np.concatenate(columns["left"]),
        right=np.concatenate(columns["right"]),
        default_left=np.concatenate(columns["default_left"]),
        leaf_value=np.concatenate(columns["leaf_value"]),
        cover=np.concatenate(columns["cover"]) if has_cover else None,
        base_score=np.asarray(h["base_scores"], dtype=np.float64).reshape(-1)[:n_outputs].copy(),
        post_transform=_TL_POST[post],
        sigmoid_alpha=float(np.asarray(h["sigmoid_alpha"]).reshape(-1)[0]),
        float32_sum=int(h["leaf_output_type"][0]) == _TL_FLOAT32,
    )


def _tree_arrays(acc: Any, t: int) -> dict[str, np.ndarray | None]:
    """One tree's nodes in pre-order (children after parents), tree-local indices."""
    left, right = _field(acc, "cleft"), _field(acc, "cright")
    node_type = _field(acc, "node_type")
    n = len(left)
    categorical = np.flatnonzero(node_type == _TL_CATEGORICAL)
    if categorical.size:
        raise ValueError(f"tree {t} node {int(categorical[0])} is a categorical split; the compiled forest "
                         "supports numerical splits only (encode categories as numbers before training)")  # fmt: skip
    order = _preorder(left, right, t)
    if len(order) != n:
        raise ValueError(f"tree {t}: {n - len(order)} of {n} nodes are unreachable from the root")
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[order] = np.arange(len(order))
    is_leaf = left[order] < 0
    cmp = _field(acc, "cmp")[order]
    ops = np.zeros(n, dtype=np.int8)
    for code, symbol in _TL_OPS.items():
        ops[cmp == code] = OP_CODES[symbol]
    unknown = ~is_leaf & ~np.isin(cmp, list(_TL_OPS))
    if unknown.any():
        raise ValueError(f"tree {t}: unsupported comparison operator code {int(cmp[unknown][0])}")
    lo, ro = left[order], right[order]
    new_left = np.where(is_leaf, -1, new_index[np.maximum(lo, 0)]).astype(np.int32)
    new_right = np.where(is_leaf, -1, new_index[np.maximum(ro, 0)]).astype(np.int32)
    feature = np.where(is_leaf, -1, _field(acc, "split_index")[order]).astype(np.int32)
    cover = _cover(acc, n)
    return {
        "feature": feature,
        "threshold": np.where(is_leaf, 0.0, _field(acc, "threshold")[order]).astype(np.float64),
        "op": np.where(is_leaf, 0, ops).astype(np.int8),
        "left": new_left,
        "right": new_right,
        "default_left": _field(acc, "default_left")[order].astype(np.uint8),
        "leaf_value": np.where(is_leaf, _field(acc, "leaf_value")[order], 0.0).astype(np.float64),
        "cover": None if cover is None else cover[order],
    }


def _preorder(left: np.ndarray, right: np.ndarray, t: int) -> np.ndarray:
    order: list[int] = []
    seen = np.zeros(len(left), dtype=bool)
    stack = [0]
    while stack:
        i = stack.pop()
        if seen[i]:
            raise ValueError(f"tree {t}: node {i} is reached twice (not a tree)")
        seen[i] = True
        order.append(i)
        if left[i] >= 0:
            if not (0 <= right[i] < len(left) and left[i] < len(left)):
                raise ValueError(f"tree {t}: node {i} has a child out of range")
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    return np.asarray(order, dtype=np.int64)


def _cover(acc: Any, n: int) -> np.ndarray | None:
    """Per-node training count (scikit-learn, LightGBM) or hessian sum (XGBoost)."""
    for name in ("data_count", "sum_hess"):
        values = _field(acc, name)
        if values.size == n:
            return values.astype(np.float64)
    return None


def import_forest(model: Any) -> ForestArrays:
    """ForestArrays of a fitted model (any source to_treelite accepts)."""
    return from_treelite(to_treelite(model))
