"""This module contains CompiledForest: a tree ensemble evaluated by the C++ core.

A forest is described by ``ForestArrays`` (plain numpy arrays, one entry per
node, tree-local child indices, the source library's comparison operator and
threshold); the core validates them and compiles its own layout. The engine
uses only this module:

    forest = load_compiled(DIR)[0]            # pyscore.models.modelfile
    forest.check_schema(registry.schema_hash())
    proba = forest.predict(X)                  # X float32 (n, n_features) -> (n, n_outputs)
    p = forest.predict_one(row)                # float (one output) or array (n_outputs,)
    top = forest.contributions(X, top_k=5)     # Contributions(features, values, bias)
    forest.thresholds, forest.outputs, forest.category, forest.schema_hash

Several forests on one shared feature row (the engine, one message at a time):

    fset = ForestSet([f1, f2], columns=[cols1, cols2], n_inputs=n_signals)
    out = np.empty(fset.n_outputs)
    fset.predict_one_into(row, out)            # one core call for every forest
    out[fset.slice(1)]                         # forest 1's scores
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pyscore import _core
from pyscore._dtypes import FEATURE_DTYPE, SCORE_DTYPE

# Comparison operators as the core numbers them: go left iff `x OP threshold`.
OP_CODES = {"<=": 0, "<": 1, ">=": 2, ">": 3}
POST_TRANSFORMS = ("identity", "sigmoid", "softmax")


@dataclass(frozen=True)
class ForestArrays:
    """The authored form of a forest: what the importer extracts from Treelite.

    Nodes of tree ``t`` are ``tree_offsets[t]:tree_offsets[t + 1]``; node 0 of
    each tree is its root, ``feature == -1`` marks a leaf, children are
    tree-local indices greater than their parent's.
    """

    n_features: int
    n_outputs: int
    tree_offsets: np.ndarray  # int64 (n_trees + 1,)
    tree_output: np.ndarray  # int32 (n_trees,): output (class) each tree adds to
    feature: np.ndarray  # int32 (n_nodes,)
    threshold: np.ndarray  # float64
    op: np.ndarray  # int8, OP_CODES
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    default_left: np.ndarray  # uint8: where NaN goes
    leaf_value: np.ndarray  # float64
    cover: np.ndarray | None  # float64 training count / hessian sum, for contributions
    base_score: np.ndarray  # float64 (n_outputs,)
    post_transform: str = "identity"
    sigmoid_alpha: float = 1.0
    float32_sum: bool = False  # the source sums margins in float32 (XGBoost)

    ARRAY_FIELDS = (
        "tree_offsets", "tree_output", "feature", "threshold", "op", "left", "right",
        "default_left", "leaf_value", "cover", "base_score",
    )  # fmt: skip

    @property
    def n_trees(self) -> int:
        return len(self.tree_output)

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        """Every field as an array (for np.savez; loads back with allow_pickle=False)."""
        out = {name: getattr(self, name) for name in self.ARRAY_FIELDS if getattr(self, name) is not None}
        out["scalars"] = np.array([self.n_features, self.n_outputs], dtype=np.int64)
        out["sigmoid_alpha"] = np.array([self.sigmoid_alpha], dtype=np.float64)
        out["float32_sum"] = np.array([self.float32_sum], dtype=np.bool_)
        out["post_transform"] = np.array([self.post_transform])
        return out

    @classmethod
    def from_npz_dict(cls, data: dict[str, np.ndarray]) -> ForestArrays:
        required = (*cls.ARRAY_FIELDS, "scalars", "post_transform", "sigmoid_alpha", "float32_sum")
        missing = [n for n in required if n not in data and n != "cover"]
        if missing:
            raise ValueError(f"forest arrays lack {', '.join(missing)}")
        kwargs = {name: data.get(name) for name in cls.ARRAY_FIELDS}
        n_features, n_outputs = (int(v) for v in data["scalars"])
        return cls(
            n_features=n_features,
            n_outputs=n_outputs,
            post_transform=str(data["post_transform"][0]),
            sigmoid_alpha=float(data["sigmoid_alpha"][0]),
            float32_sum=bool(data["float32_sum"][0]),
            **kwargs,
        )


class Contributions(NamedTuple):
    """Top-k contributions per row, largest magnitude first (Saabas or TreeSHAP).

    ``values[i].sum()`` over all features plus ``bias[i]`` is row i's margin;
    ``features`` index the model's feature columns.
    """

    features: np.ndarray  # int32 (n, k)
    values: np.ndarray  # float64 (n, k), in margin units
    bias: np.ndarray  # float64 (n,): base score + expected value of every tree


@dataclass
class CompiledForest:
    """A compiled forest plus what the decision stage needs to act on it.

    ``outputs[j]`` names probability column j (a category for a per-category
    detector, a class for a multi-class one); ``thresholds[j]`` is the score
    at or above which column j fires (chosen on validation for the target
    precision; NaN when none was chosen).
    """

    arrays: ForestArrays
    name: str = "model"
    category: str = ""
    outputs: tuple[str, ...] = ()
    thresholds: np.ndarray = field(default_factory=lambda: np.empty(0))
    schema_hash: str = ""
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        a = self.arrays
        if a.post_transform not in POST_TRANSFORMS:
            raise ValueError(f"forest {self.name!r}: unsupported post-transform {a.post_transform!r}")
        self._core = _core.Forest(
            a.n_features, a.n_outputs, a.tree_offsets, a.tree_output, a.feature, a.threshold, a.op,
            a.left, a.right, a.default_left, a.leaf_value, a.cover, a.base_score, a.post_transform,
            sigmoid_alpha=a.sigmoid_alpha, float32_sum=a.float32_sum,
        )  # fmt: skip
        if not self.outputs:
            self.outputs = tuple(f"output_{j}" for j in range(a.n_outputs))
        if len(self.outputs) != a.n_outputs:
            raise ValueError(f"forest {self.name!r}: {len(self.outputs)} output names for {a.n_outputs} outputs")
        thresholds = np.asarray(self.thresholds, dtype=SCORE_DTYPE)
        self.thresholds = thresholds if thresholds.size else np.full(a.n_outputs, np.nan)
        if self.thresholds.shape != (a.n_outputs,):
            raise ValueError(f"forest {self.name!r}: need one threshold per output ({a.n_outputs})")
        if self.feature_names and len(self.feature_names) != a.n_features:
            raise ValueError(f"forest {self.name!r}: {len(self.feature_names)} feature names for {a.n_features} features")
        # The shortest call from Python: a builtin (vectorcall) bound to the core forest.
        self.predict_one = self._core.row_call()

    @property
    def n_features(self) -> int:
        return self.arrays.n_features

    @property
    def n_outputs(self) -> int:
        return self.arrays.n_outputs

    @property
    def n_trees(self) -> int:
        return self._core.n_trees

    @property
    def threshold(self) -> float:
        """The threshold of a single-output (per-category) detector."""
        if self.n_outputs != 1:
            raise ValueError(f"forest {self.name!r} has {self.n_outputs} outputs: use thresholds[j]")
        return float(self.thresholds[0])

    def check_schema(self, schema_hash: str) -> None:
        """Refuse to score a feature matrix whose columns mean something else."""
        if self.schema_hash != schema_hash:
            raise ValueError(
                f"model {self.name!r} was trained on signal schema {self.schema_hash[:12] or '(none)'}, "
                f"but the signals have schema {schema_hash[:12]}: retrain or load the matching signals"
            )

    def _matrix(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=FEATURE_DTYPE)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"forest {self.name!r}: X must have shape (n, {self.n_features}), got {X.shape}")
        return X

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (after sigmoid/softmax): float64 (n, n_outputs)."""
        X = self._matrix(X)
        out = np.empty((X.shape[0], self.n_outputs), dtype=SCORE_DTYPE)
        self._core.predict(X, out)
        return out

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        """Raw margins (sum of leaves + base score): float64 (n, n_outputs)."""
        X = self._matrix(X)
        out = np.empty((X.shape[0], self.n_outputs), dtype=SCORE_DTYPE)
        self._core.predict_margin(X, out)
        return out

    def _output(self, output: int | None) -> int:
        if output is None:
            return 0 if self.n_outputs == 1 else -1
        if not 0 <= output < self.n_outputs:
            raise ValueError(f"forest {self.name!r}: output {output} not in [0, {self.n_outputs})")
        return output

    def contributions(
        self, X: np.ndarray, top_k: int = 5, *, output: int | None = None, method: str = "saabas"
    ) -> Contributions:
        """The top_k feature contributions per row to output ``output``'s margin.

        ``output`` None means the only output, or each row's most likely class;
        ``method`` is "saabas" (path attribution, cheap) or "treeshap" (exact SHAP).
        """
        X = self._matrix(X)
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        k = min(top_k, self.n_features)
        features = np.empty((X.shape[0], k), dtype=np.int32)
        values = np.empty((X.shape[0], k), dtype=SCORE_DTYPE)
        bias = np.empty(X.shape[0], dtype=SCORE_DTYPE)
        self._core.top_contributions(X, self._output(output), k, method, features, values, bias)
        return Contributions(features, values, bias)

    def contributions_dense(self, X: np.ndarray, *, output: int | None = None, method: str = "saabas") -> np.ndarray:
        """Every feature's contribution: float64 (n, n_features + 1), the last column is the bias."""
        X = self._matrix(X)
        out = np.empty((X.shape[0], self.n_features + 1), dtype=SCORE_DTYPE)
        self._core.contributions(X, self._output(output), out, method)
        return out

    def named(self, contributions: Contributions, row: int = 0) -> list[tuple[str, float]]:
        """(feature name, value) pairs of one row's top contributions."""
        names = self.feature_names or tuple(f"f{j}" for j in range(self.n_features))
        return [(names[f], float(v)) for f, v in zip(contributions.features[row], contributions.values[row], strict=True)]



class ForestSet:
    """Several compiled forests scored on one shared feature row in one core call.

    Forest i reads its feature j from column ``columns[i][j]`` of the row
    (``None``: the row's first ``n_features`` columns, in order) and writes its
    post-transformed scores to ``out[self.slice(i)]``. The scores are exactly
    those of each forest's own ``predict`` / ``predict_one``.
    """

    def __init__(
        self,
        forests: Sequence[CompiledForest],
        columns: Sequence[np.ndarray | Sequence[int] | None] | None = None,
        n_inputs: int | None = None,
    ) -> None:
        self.forests = tuple(forests)
        if not self.forests:
            raise ValueError("a ForestSet needs at least one forest")
        maps = list(columns) if columns is not None else [None] * len(self.forests)
        if len(maps) != len(self.forests):
            raise ValueError(f"{len(maps)} column maps for {len(self.forests)} forests")
        checked = [self._column_map(f, c) for f, c in zip(self.forests, maps, strict=True)]
        if n_inputs is None:
            n_inputs = max(int(c.max()) + 1 if c is not None and c.size else f.n_features
                           for f, c in zip(self.forests, checked, strict=True))  # fmt: skip
        for f, c in zip(self.forests, checked, strict=True):
            width = int(c.max()) + 1 if c is not None and c.size else f.n_features
            if width > n_inputs:
                raise ValueError(f"forest {f.name!r} reads column {width - 1}, but rows have {n_inputs} columns")
        self.n_inputs = int(n_inputs)
        self._core = _core.ForestSet([f._core for f in self.forests], checked, self.n_inputs)
        self.offsets = np.asarray(self._core.output_offsets, dtype=np.int64)
        self.n_outputs = int(self.offsets[-1])
        # The shortest call from Python: (row float32 (n_inputs,), out float64 (n_outputs,)) -> None.
        self.predict_one_into = self._core.row_call()

    @staticmethod
    def _column_map(forest: CompiledForest, columns: np.ndarray | Sequence[int] | None) -> np.ndarray | None:
        if columns is None:
            return None
        c = np.asarray(columns)
        if c.shape != (forest.n_features,) or not np.issubdtype(c.dtype, np.integer):
            raise ValueError(f"forest {forest.name!r}: columns must be {forest.n_features} integers, got {c.shape} {c.dtype}")
        if c.size and (c.min() < 0 or c.max() >= 2**31 - 1):
            raise ValueError(f"forest {forest.name!r}: column indices must be in [0, 2^31 - 1)")
        return c.astype(np.int32)

    def __len__(self) -> int:
        return len(self.forests)

    def slice(self, i: int) -> slice:
        """Where forest i's scores are in a row of outputs."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def predict_one(self, row: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Every forest's scores of one row: float64 (n_outputs,)."""
        if out is None:
            out = np.empty(self.n_outputs, dtype=SCORE_DTYPE)
        self._core.predict_one(row, out)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Every forest's scores of every row: float64 (n, n_outputs)."""
        X = np.ascontiguousarray(X, dtype=FEATURE_DTYPE)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n, {self.n_inputs}), got {X.shape}")
        out = np.empty((X.shape[0], self.n_outputs), dtype=SCORE_DTYPE)
        self._core.predict(X, out)
        return out


SIMD_LEVELS = {0: "scalar", 1: "avx2", 2: "avx512"}


def simd_levels() -> list[int]:
    """The forest kernel levels this CPU runs: 0 portable scalar, 1 AVX2 (batches), 2 AVX-512."""
    return list(range(int(_core.Forest.max_simd_level()) + 1))


def simd_level() -> int:
    """The forest kernels in use (the highest level the CPU runs, unless set)."""
    return int(_core.Forest.simd_level())


def set_simd_level(level: int) -> None:
    """Choose the forest kernels process-wide (results are identical; for tests and benchmarks)."""
    _core.Forest.set_simd_level(level)
