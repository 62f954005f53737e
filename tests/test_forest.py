"""Tests of the compiled forest: exactness against a plain evaluator and the source libraries."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pyscore.models.forest import OP_CODES, CompiledForest, ForestArrays
from pyscore.models.importer import import_forest

# -- a plain reference evaluator (the oracle) ---------------------------------------


def reference_margin(a: ForestArrays, X: np.ndarray) -> np.ndarray:
    """Walk every tree node by node in float64, exactly as the authored arrays say."""
    out = np.tile(a.base_score, (len(X), 1)).astype(np.float64)
    ops = {0: lambda x, t: x <= t, 1: lambda x, t: x < t, 2: lambda x, t: x >= t, 3: lambda x, t: x > t}
    for t in range(a.n_trees):
        base = a.tree_offsets[t]
        for r, row in enumerate(X):
            i = 0
            while a.feature[base + i] >= 0:
                g = base + i
                x = float(row[a.feature[g]])
                go_left = bool(a.default_left[g]) if np.isnan(x) else ops[int(a.op[g])](x, a.threshold[g])
                i = a.left[g] if go_left else a.right[g]
            out[r, a.tree_output[t]] += a.leaf_value[base + i]
    return out


def grow_tree(rng: np.random.Generator, nodes: list[list], depth: int, max_depth: int, n_features: int,
              thresholds: np.ndarray) -> int:  # fmt: skip
    """Append a random subtree in pre-order; returns its root's index."""
    i = len(nodes)
    nodes.append([])
    if depth >= max_depth or (depth > 0 and rng.random() < 0.25):
        nodes[i] = [-1, 0.0, 0, -1, -1, 0, float(rng.normal()), float(rng.integers(1, 50))]
        return i
    f = int(rng.integers(n_features))
    thr = float(rng.choice(thresholds))
    lo = grow_tree(rng, nodes, depth + 1, max_depth, n_features, thresholds)
    hi = grow_tree(rng, nodes, depth + 1, max_depth, n_features, thresholds)
    nodes[i] = [f, thr, int(rng.integers(4)), lo, hi, int(rng.integers(2)), 0.0, 0.0]
    return i


def random_forest(rng: np.random.Generator, n_trees: int, n_features: int, n_outputs: int, max_depth: int,
                  thresholds: np.ndarray) -> ForestArrays:  # fmt: skip
    feature, threshold, op, left, right, dl, leaf, cover, offsets = [], [], [], [], [], [], [], [], [0]
    for _ in range(n_trees):
        nodes: list[list] = []
        grow_tree(rng, nodes, 0, max_depth, n_features, thresholds)
        for n in nodes:
            for lst, v in zip((feature, threshold, op, left, right, dl, leaf, cover), n, strict=True):
                lst.append(v)
        offsets.append(offsets[-1] + len(nodes))
    return ForestArrays(
        n_features=n_features, n_outputs=n_outputs, tree_offsets=np.array(offsets, np.int64),
        tree_output=(np.arange(n_trees) % n_outputs).astype(np.int32), feature=np.array(feature, np.int32),
        threshold=np.array(threshold), op=np.array(op, np.int8), left=np.array(left, np.int32),
        right=np.array(right, np.int32), default_left=np.array(dl, np.uint8), leaf_value=np.array(leaf),
        cover=np.array(cover), base_score=rng.normal(size=n_outputs),
        post_transform="softmax" if n_outputs > 1 else "sigmoid",
    )  # fmt: skip


def stump(op: str, threshold: float, default_left: bool) -> CompiledForest:
    a = ForestArrays(
        n_features=2, n_outputs=1, tree_offsets=np.array([0, 3]), tree_output=np.array([0], np.int32),
        feature=np.array([1, -1, -1], np.int32), threshold=np.array([threshold, 0, 0]),
        op=np.array([OP_CODES[op], 0, 0], np.int8), left=np.array([1, -1, -1], np.int32),
        right=np.array([2, -1, -1], np.int32), default_left=np.array([default_left, 0, 0], np.uint8),
        leaf_value=np.array([0.0, -1.0, 1.0]), cover=None, base_score=np.zeros(1),
    )  # fmt: skip
    return CompiledForest(a)


@pytest.mark.parametrize("op", ["<=", "<", ">=", ">"])
@pytest.mark.parametrize("threshold", [0.0, -0.0, 0.5, 0.1, 1e300, -1e300, np.inf, -np.inf, 3.4028234663852886e38])
@pytest.mark.parametrize("default_left", [False, True])
def test_stump_matches_float64_comparison(op, threshold, default_left):
    forest = stump(op, threshold, default_left)
    f32 = np.float32
    xs = np.array([0.0, -0.0, 0.5, f32(0.1), np.nextafter(f32(0.1), f32(1)), np.nextafter(f32(0.1), f32(-1)),
                   np.inf, -np.inf, np.nan, 3.4028235e38, -3.4028235e38, 1e-45, -1e-45], dtype=np.float32)  # fmt: skip
    X = np.column_stack([np.zeros_like(xs), xs])
    got = forest.predict_margin(X)[:, 0]
    want = reference_margin(forest.arrays, X)[:, 0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal([forest.predict_one(row) for row in X], want)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("max_depth", [3, 6, 11])
def test_random_forests_match_reference(n_outputs, max_depth):
    rng = np.random.default_rng(max_depth * 10 + n_outputs)
    thresholds = np.r_[rng.normal(size=8), 0.0, np.float32(0.3), 0.3, np.inf, -np.inf]
    arrays = random_forest(rng, 12, 5, n_outputs, max_depth, thresholds)
    forest = CompiledForest(arrays)
    # Values on, just above and just below the thresholds, plus NaN and infinities.
    pool = np.r_[thresholds.astype(np.float32), np.nextafter(thresholds.astype(np.float32), np.float32(np.inf)),
                 rng.normal(size=20).astype(np.float32), np.nan, np.nan, np.inf, -np.inf]  # fmt: skip
    X = rng.choice(pool, size=(150, 5)).astype(np.float32)
    want = reference_margin(arrays, X)
    np.testing.assert_allclose(forest.predict_margin(X), want, rtol=0, atol=1e-12)
    rows = np.array([np.atleast_1d(forest.predict_one(r)) for r in X])
    np.testing.assert_allclose(rows, forest.predict(X), rtol=0, atol=1e-12)
    # Batch sizes that do not fill a block, and one row.
    np.testing.assert_allclose(forest.predict_margin(X[:13]), want[:13], rtol=0, atol=1e-12)
    np.testing.assert_allclose(forest.predict_margin(X[:1]), want[:1], rtol=0, atol=1e-12)
    assert forest.predict(X[:0]).shape == (0, n_outputs)


def test_contributions_sum_to_margin():
    rng = np.random.default_rng(7)
    arrays = random_forest(rng, 20, 6, 3, 7, rng.normal(size=10))
    forest = CompiledForest(arrays)
    X = rng.normal(size=(60, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    margin = forest.predict_margin(X)
    for method in ("saabas", "treeshap"):
        for output in range(3):
            dense = forest.contributions_dense(X, output=output, method=method)
            np.testing.assert_allclose(dense.sum(axis=1), margin[:, output], rtol=0, atol=1e-5)
            top = forest.contributions(X, top_k=3, output=output, method=method)
            np.testing.assert_allclose(top.bias, dense[:, -1])
            magnitudes = np.abs(top.values)
            assert (magnitudes[:, :-1] >= magnitudes[:, 1:]).all()
            np.testing.assert_allclose(np.take_along_axis(dense, top.features, axis=1), top.values)
        # output=None picks each row's most likely class.
        auto = forest.contributions_dense(X, method=method)
        np.testing.assert_allclose(auto.sum(axis=1), margin.max(axis=1), rtol=0, atol=1e-5)


# -- parity with the source libraries ---------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 8)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 3] = np.round(X[:, 3])  # many rows exactly on thresholds
    z = np.nan_to_num(X[:, 0]) + 0.7 * np.nan_to_num(X[:, 1]) - np.isnan(X[:, 2]) + 0.5 * rng.normal(size=len(X))
    Xt = rng.normal(size=(800, 8)).astype(np.float32)
    Xt[rng.random(Xt.shape) < 0.15] = np.nan
    Xt[:, 3] = np.round(Xt[:, 3])
    return X, (z > 0).astype(int), np.digitize(z, [-0.5, 0.8]), Xt


def assert_parity(model, Xt: np.ndarray, reference: np.ndarray) -> CompiledForest:
    forest = CompiledForest(import_forest(model))
    got = forest.predict(Xt)
    reference = reference.reshape(len(Xt), -1)
    assert np.abs(got - reference).max() <= 1e-6
    rows = np.array([np.atleast_1d(forest.predict_one(r)) for r in Xt[:100]])
    assert np.abs(rows - reference[:100]).max() <= 1e-6
    dense = forest.contributions_dense(Xt, method="treeshap")
    margin = forest.predict_margin(Xt)
    np.testing.assert_allclose(dense.sum(axis=1), margin.max(axis=1), rtol=0, atol=1e-5)
    return forest


@pytest.mark.parametrize("multiclass", [False, True])
def test_parity_histgradientboosting(data, multiclass):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y2, y3, Xt = data
    with threadpool_limits(1):  # OpenMP threads only fight on a shared machine
        model = HistGradientBoostingClassifier(max_iter=25, random_state=0).fit(X, y3 if multiclass else y2)
    proba = model.predict_proba(Xt)
    assert_parity(model, Xt, proba if multiclass else proba[:, 1])


@pytest.mark.parametrize("multiclass", [False, True])
def test_parity_lightgbm(data, multiclass):
    import lightgbm as lgb

    X, y2, y3, Xt = data
    params = {"objective": "binary", "verbose": -1, "num_threads": 1}
    if multiclass:
        params.update(objective="multiclass", num_class=3)
    booster = lgb.train(params, lgb.Dataset(X, y3 if multiclass else y2), 25)
    assert_parity(booster, Xt, booster.predict(Xt))


@pytest.mark.parametrize("multiclass", [False, True])
def test_parity_xgboost(data, multiclass):
    import xgboost as xgb

    X, y2, y3, Xt = data
    params = {"objective": "binary:logistic", "max_depth": 6, "nthread": 1}
    if multiclass:
        params.update(objective="multi:softprob", num_class=3)
    booster = xgb.train(params, xgb.DMatrix(X, y3 if multiclass else y2), 25)
    forest = assert_parity(booster, Xt, booster.inplace_predict(Xt))
    if not multiclass:  # TreeSHAP matches XGBoost's own (which computes in float32)
        ours = forest.contributions_dense(Xt, method="treeshap")
        theirs = booster.predict(xgb.DMatrix(Xt), pred_contribs=True)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


def test_deep_lightgbm_trees_use_pointer_layout(data):
    import lightgbm as lgb

    X, y2, _, Xt = data
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 64, "min_data_in_leaf": 2,
                         "num_threads": 1}, lgb.Dataset(X, y2), 10)  # fmt: skip
    forest = assert_parity(booster, Xt, booster.predict(Xt))
    assert forest._core.max_depth > 8


def test_categorical_splits_refused():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(0, 5, 300), rng.normal(size=300)]).astype(np.float32)
    y = (X[:, 0] % 2 == 0).astype(int)
    with threadpool_limits(1):
        model = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(X, y)
    with pytest.raises(ValueError, match="categorical split"):
        import_forest(model)


# -- validation of malformed arrays ---------------------------------------------------------------


def good_arrays(**changes) -> dict:
    base = dict(
        n_features=2, n_outputs=1, tree_offsets=np.array([0, 3]), tree_output=np.array([0], np.int32),
        feature=np.array([1, -1, -1], np.int32), threshold=np.array([0.5, 0, 0]), op=np.zeros(3, np.int8),
        left=np.array([1, -1, -1], np.int32), right=np.array([2, -1, -1], np.int32),
        default_left=np.zeros(3, np.uint8), leaf_value=np.array([0.0, -1.0, 1.0]), cover=None,
        base_score=np.zeros(1), post_transform="sigmoid",
    )  # fmt: skip
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"left": np.array([0, -1, -1], np.int32)}, "greater than the parent"),
        ({"right": np.array([5, -1, -1], np.int32)}, "inside the tree"),
        ({"feature": np.array([2, -1, -1], np.int32)}, r"feature 2 not in \[0, 2\)"),
        ({"feature": np.array([-3, -1, -1], np.int32)}, "feature -3"),
        ({"op": np.array([7, 0, 0], np.int8)}, "operator"),
        ({"threshold": np.array([np.nan, 0, 0])}, "threshold is NaN"),
        ({"leaf_value": np.array([0, np.inf, 1.0])}, "leaf value"),
        ({"tree_offsets": np.array([0, 2])}, "end at the number of nodes"),
        ({"tree_output": np.array([1], np.int32)}, "tree output 1"),
        ({"threshold": np.array([0.5, 0])}, "threshold must be 1-d of length 3"),
        ({"base_score": np.zeros(2)}, "base_score"),
        ({"post_transform": "softmax"}, "unsupported post-transform|softmax needs"),
        ({"cover": np.array([1.0, -1.0, 1.0])}, "cover"),
        ({"n_features": 0}, "n_features"),
    ],
)
def test_malformed_arrays_raise_value_error(changes, message):
    with pytest.raises(ValueError, match=message):
        CompiledForest(ForestArrays(**good_arrays(**changes)))


def test_node_with_two_parents_refused():
    # 0 -> (1, 2), 1 -> (3, 3)? children must differ; 1 -> (2, 3) makes 2 a child twice.
    arrays = good_arrays(
        tree_offsets=np.array([0, 4]), feature=np.array([0, 1, -1, -1], np.int32),
        threshold=np.zeros(4), op=np.zeros(4, np.int8), left=np.array([1, 2, -1, -1], np.int32),
        right=np.array([2, 3, -1, -1], np.int32), default_left=np.zeros(4, np.uint8), leaf_value=np.zeros(4),
    )  # fmt: skip
    with pytest.raises(ValueError, match="parents"):
        CompiledForest(ForestArrays(**arrays))


def test_bad_inputs_named():
    forest = CompiledForest(ForestArrays(**good_arrays()))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        forest.predict(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="2 features"):
        forest.predict_one(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="output 1"):
        forest.contributions(np.zeros((1, 2), np.float32), output=1)
    with pytest.raises(ValueError, match="saabas"):
        forest.contributions(np.zeros((1, 2), np.float32), method="lime")
    with pytest.raises(ValueError, match="schema"):
        forest.check_schema("other")


# -- kernels: AVX-512, AVX2 and portable scalar paths give identical results -------------


@pytest.fixture
def simd_levels():
    """The kernel levels this CPU runs (0 scalar, 1 AVX2, 2 AVX-512); restores the default afterwards."""
    from pyscore.models.forest import set_simd_level, simd_level
    from pyscore.models.forest import simd_levels as levels

    before = simd_level()
    yield levels()
    set_simd_level(before)


def threshold_rows(rng: np.random.Generator, thresholds: np.ndarray, n: int, n_features: int) -> np.ndarray:
    """Values on, just above and just below the thresholds, plus NaN, zeros and infinities."""
    t = thresholds.astype(np.float32)
    pool = np.r_[t, np.nextafter(t, np.float32(np.inf)), np.nextafter(t, np.float32(-np.inf)),
                 rng.normal(size=20).astype(np.float32), np.nan, np.nan, 0.0, -0.0, np.inf, -np.inf]  # fmt: skip
    return rng.choice(pool, size=(n, n_features)).astype(np.float32)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("max_depth", [1, 6, 8, 11])
@pytest.mark.parametrize("float32_sum", [False, True, "float32 leaves"])
def test_simd_and_scalar_kernels_identical(simd_levels, n_outputs, max_depth, float32_sum):
    from pyscore.models.forest import set_simd_level
    from pyscore.models.forest import simd_levels as supported

    assert 0 in supported() and simd_levels == supported()
    with pytest.raises(ValueError, match="simd level"):
        set_simd_level(3)
    from dataclasses import replace

    rng = np.random.default_rng(100 * max_depth + 10 * n_outputs + (float32_sum is True))
    thresholds = np.r_[rng.normal(size=8), 0.0, -0.0, np.float32(0.3), 0.3, np.inf, -np.inf]
    # 45 trees: runs of 16 trees for one row, a short run at the end; depth 11
    # mixes pointer-layout trees between complete ones.
    arrays = random_forest(rng, 45, 7, n_outputs, max_depth, thresholds)
    if float32_sum == "float32 leaves":  # float64 sums of float32 leaves (XGBoost): kernels read them as float32
        arrays, float32_sum = replace(arrays, leaf_value=arrays.leaf_value.astype(np.float32).astype(np.float64)), False
    arrays = replace(arrays, float32_sum=float32_sum)
    forest = CompiledForest(arrays)
    X = threshold_rows(rng, thresholds, 203, 7)
    results = []
    for level in simd_levels:
        set_simd_level(level)
        rows = np.array([np.atleast_1d(forest.predict_one(r)) for r in X])
        results.append((forest.predict_margin(X), forest.predict(X), forest.predict_margin(X[:5]), rows))
    for got in results[1:]:
        for a, b in zip(results[0], got, strict=True):
            np.testing.assert_array_equal(a, b)
    if not float32_sum:
        np.testing.assert_allclose(results[0][0], reference_margin(arrays, X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(results[0][3], results[0][1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_features, n_thresholds", [(3, 60), (200, 8), (1, 600)])
def test_one_row_kernels_on_many_thresholds_and_many_key_slots(simd_levels, n_features, n_thresholds):
    # The one-row AVX-512 kernel compares ranks among a key slot's distinct thresholds:
    # 60 thresholds over 3 features fill several vectors per slot; 200 features give more
    # than 256 key slots (both NaN directions) and 600 thresholds on one feature more than
    # 256 per slot, where it is not used. Same rows as batches.
    from pyscore.models.forest import set_simd_level

    rng = np.random.default_rng(n_features)
    thresholds = np.r_[rng.normal(size=n_thresholds), 0.0, np.inf]
    forest = CompiledForest(random_forest(rng, 48, n_features, 1, 6, thresholds))
    X = threshold_rows(rng, thresholds, 120, n_features)
    want = forest.predict(X)
    for level in simd_levels:
        set_simd_level(level)
        np.testing.assert_array_equal([forest.predict_one(r) for r in X], want[:, 0])


def test_unused_features_cost_nothing_and_change_nothing():
    # A forest reading 2 of 50 features: wide rows, the same scores as the narrow reference.
    rng = np.random.default_rng(3)
    arrays = random_forest(rng, 20, 2, 1, 6, rng.normal(size=6))
    wide = ForestArrays(**{**arrays.__dict__, "n_features": 50})
    forest = CompiledForest(wide)
    X = rng.normal(size=(40, 50)).astype(np.float32)
    want = reference_margin(arrays, X[:, :2])
    np.testing.assert_allclose(forest.predict_margin(X), want, rtol=0, atol=1e-12)


# -- one row from Python, and several forests on one row ---------------------------------


def test_predict_one_accepts_any_row_and_names_bad_ones():
    rng = np.random.default_rng(5)
    forest = CompiledForest(random_forest(rng, 20, 4, 1, 5, rng.normal(size=6)))
    x = rng.normal(size=4).astype(np.float32)
    want = forest.predict(x[None])[0, 0]
    assert forest.predict_one(x) == want
    assert forest.predict_one(x.astype(np.float64)) == want  # converted
    assert forest.predict_one(list(map(float, x))) == want
    strided = np.repeat(x, 2)[::2]  # not contiguous
    assert forest.predict_one(strided) == want
    assert forest.predict_one(x.astype(">f4")) == want  # byte-swapped
    out = np.empty(1)
    forest._core.predict_one_into(x, out)
    assert out[0] == want
    with pytest.raises(ValueError, match="4 features"):
        forest.predict_one(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="float64"):
        forest._core.predict_one_into(x, np.empty(1, np.float32))
    with pytest.raises(ValueError, match="float64"):
        forest._core.predict_one_into(x, np.empty(2))


def test_forest_set_equals_each_forest_on_its_columns(simd_levels):
    from pyscore.models.forest import ForestSet, set_simd_level

    rng = np.random.default_rng(11)
    binary = CompiledForest(random_forest(rng, 30, 4, 1, 6, rng.normal(size=6)), name="binary")
    multi = CompiledForest(random_forest(rng, 33, 3, 3, 11, rng.normal(size=6)), name="multi")
    plain = CompiledForest(random_forest(rng, 17, 2, 1, 3, rng.normal(size=6)), name="plain")
    cols = [np.array([9, 0, 4, 4]), np.array([1, 7, 2], np.int64), None]
    fset = ForestSet([binary, multi, plain], cols, n_inputs=10)
    assert (fset.n_outputs, len(fset), fset.slice(1)) == (5, 3, slice(1, 4))
    X = threshold_rows(rng, rng.normal(size=6), 50, 10)
    for level in simd_levels:
        set_simd_level(level)
        want = np.hstack([binary.predict(X[:, cols[0]]), multi.predict(X[:, cols[1]]), plain.predict(X[:, :2])])
        np.testing.assert_array_equal(fset.predict(X), want)
        out = np.empty(fset.n_outputs)
        for r in range(len(X)):
            fset.predict_one_into(X[r], out)
            np.testing.assert_array_equal(out, want[r])
        np.testing.assert_array_equal(fset.predict_one(X[3]), want[3])


def test_forest_set_refuses_bad_maps():
    from pyscore.models.forest import ForestSet

    rng = np.random.default_rng(2)
    forest = CompiledForest(random_forest(rng, 3, 4, 1, 3, rng.normal(size=4)), name="f")
    with pytest.raises(ValueError, match="4 integers"):
        ForestSet([forest], [np.array([0, 1])])
    with pytest.raises(ValueError, match="rows have 5 columns"):
        ForestSet([forest], [np.array([0, 1, 2, 7])], n_inputs=5)
    with pytest.raises(ValueError, match="column indices"):
        ForestSet([forest], [np.array([0, 1, 2, -1])], n_inputs=5)
    with pytest.raises(ValueError, match="at least one"):
        ForestSet([])
    fset = ForestSet([forest], n_inputs=6)
    with pytest.raises(ValueError, match="6 features"):
        fset.predict_one(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        fset.predict(np.zeros((2, 4), np.float32))


def test_row_calls_keep_their_forest_alive_and_check_arguments():
    import gc

    from pyscore.models.forest import ForestSet

    rng = np.random.default_rng(9)
    forest = CompiledForest(random_forest(rng, 20, 3, 1, 5, rng.normal(size=6)))
    x = rng.normal(size=3).astype(np.float32)
    want = forest.predict(x[None])[0, 0]
    call = forest.predict_one
    set_call = ForestSet([forest]).predict_one_into
    del forest
    gc.collect()
    assert call(x) == want
    out = np.empty(1)
    set_call(x, out)
    assert out[0] == want
    with pytest.raises(TypeError, match="one argument"):
        call(x, x)
    with pytest.raises(TypeError, match="two arguments"):
        set_call(x)
    with pytest.raises(ValueError, match="3 features"):
        set_call(np.zeros(2, np.float32), out)
