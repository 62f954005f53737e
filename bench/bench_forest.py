"""Compiled forests beside their peers: one thread, same model, many distinct rows.

Model: 300 trees of depth 6 on 120 features (XGBoost; LightGBM and
scikit-learn HistGradientBoosting models of the same shape for their own
predictors). Rows: real feature rows from the Parquet file named by
``PYSCORE_BENCH_FEATURES`` (written by ``pyscore signals ... --out``, at least
10,000 rows; labels for fitting are a random linear function of the real
features, as only the trees' shape matters here), otherwise 20,000 rows of a
synthetic matrix shaped like signals (counts, ratios, flags, 20% NaN).
Batches alternate between the first and the last 10,000 rows; single-row
calls rotate through 10,000 rows.

Real rows: python -m pyscore signals ../shared/corpora/{spamassassin,nazario,linux_mips,enron}.tar.xz
     --limit 14000 --out /tmp/rows.parquet   (then PYSCORE_BENCH_FEATURES=/tmp/rows.parquet)
Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py'
     --benchmark-enable --benchmark-only bench_forest.py
The last test prints the ratios against the targets (batch >= 1.5x XGBoost
and >= 3x tl2cgen; single row <= 5 us; compile 300 trees < 2 s). "pyscore"
runs the kernels the CPU supports (AVX-512 where present), "pyscore avx2"
and "pyscore scalar" the other levels (identical results); "forest set" scores one row through 10 forests in one call,
beside 10 separate predict_one calls.
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

N_TREES, DEPTH, N_FEATURES, N_ROWS, BATCH = 300, 6, 120, 20_000, 10_000
MEDIANS: dict[str, float] = {}


def synthetic_matrix(rng: np.random.Generator) -> np.ndarray:
    """Columns like signals: counts, ratios, booleans, reals; 20% NaN (signal not available)."""
    kinds = rng.integers(0, 4, N_FEATURES)
    cols = []
    for kind in kinds:
        if kind == 0:
            cols.append(rng.poisson(rng.uniform(0.2, 8), N_ROWS).astype(np.float32))
        elif kind == 1:
            cols.append(rng.beta(0.5, 2, N_ROWS).astype(np.float32))
        elif kind == 2:
            cols.append((rng.random(N_ROWS) < rng.uniform(0.05, 0.5)).astype(np.float32))
        else:
            cols.append(rng.normal(size=N_ROWS).astype(np.float32))
    X = np.column_stack(cols)
    X[rng.random(X.shape) < 0.2] = np.nan
    return np.ascontiguousarray(X)


def load_matrix() -> tuple[np.ndarray, str]:
    path = os.environ.get("PYSCORE_BENCH_FEATURES")
    if path:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        names = [c for c in table.column_names if c not in ("message_id", "id")]
        X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in names]).astype(np.float32)
        X = X[:, ~np.isnan(X).all(axis=0)]  # a signal never observed trips HGB's binning
        if len(X) < BATCH:
            raise ValueError(f"{path} has {len(X)} rows; the benchmark needs at least {BATCH}")
        return np.ascontiguousarray(X[:N_ROWS]), f"{len(X[:N_ROWS])} real rows from {path}, {X.shape[1]} observed signals"
    return synthetic_matrix(np.random.default_rng(0)), f"{N_ROWS} synthetic rows"


@pytest.fixture(scope="module")
def data():
    X, source = load_matrix()
    rng = np.random.default_rng(1)
    w = rng.normal(size=X.shape[1])
    z = np.nan_to_num(X) @ w / np.sqrt(X.shape[1]) + 0.5 * rng.normal(size=len(X))
    y = (z > np.quantile(z, 0.7)).astype(int)
    return X, y, source


@pytest.fixture(scope="module")
def models(data):
    import lightgbm as lgb
    import treelite
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y, _ = data
    params = {"objective": "binary:logistic", "max_depth": DEPTH, "nthread": 1, "eta": 0.1, "tree_method": "hist"}
    xgb_model = xgb.train(params, xgb.DMatrix(X, y, missing=np.nan), num_boost_round=N_TREES)
    lgb_model = lgb.train({"objective": "binary", "max_depth": DEPTH, "num_leaves": 2**DEPTH, "verbose": -1,
                           "num_threads": 1}, lgb.Dataset(X, y), N_TREES)  # fmt: skip
    with threadpool_limits(1):
        hgb_model = HistGradientBoostingClassifier(max_iter=N_TREES, max_depth=DEPTH, max_leaf_nodes=2**DEPTH,
                                                   early_stopping=False, random_state=0).fit(X, y)  # fmt: skip
    return {"xgb": xgb_model, "lgb": lgb_model, "hgb": hgb_model,
            "treelite": treelite.frontend.from_xgboost(xgb_model)}  # fmt: skip


@pytest.fixture(scope="module")
def ours(models):
    from pyscore.models.forest import CompiledForest
    from pyscore.models.importer import import_forest

    return {name: CompiledForest(import_forest(models[name])) for name in ("xgb", "lgb", "hgb")}


@pytest.fixture(scope="module")
def tl2cgen_predictor(models, tmp_path_factory):
    tl2cgen = pytest.importorskip("tl2cgen")
    libpath = tmp_path_factory.mktemp("tl2cgen") / "model.so"
    tl2cgen.export_lib(models["treelite"], toolchain="gcc", libpath=str(libpath), params={"parallel_comp": 8},
                       nthread=1, options=["-O1"])  # fmt: skip
    return tl2cgen.Predictor(str(libpath), nthread=1)


@pytest.fixture
def scalar_kernels():
    from pyscore.models.forest import set_simd_level, simd_level

    before = simd_level()
    set_simd_level(0)
    yield
    set_simd_level(before)


@pytest.fixture(scope="module")
def ten_forests(ours):
    """10 distinct compiled forests (the engine's ~10 detectors), all reading the same row."""
    from pyscore.models.forest import CompiledForest

    names = ["xgb", "lgb", "hgb"] * 3 + ["xgb"]
    return [CompiledForest(ours[n].arrays, name=f"{n}{i}") for i, n in enumerate(names)]


def batches(X: np.ndarray):
    return itertools.cycle([np.ascontiguousarray(X[:BATCH]), np.ascontiguousarray(X[-BATCH:])])


def rows(X: np.ndarray):
    return itertools.cycle([np.ascontiguousarray(X[-1 - i]) for i in range(BATCH)])


def record(benchmark, name: str, per_call_rows: int = 1) -> None:
    MEDIANS[name] = benchmark.stats.stats.median / per_call_rows


# -- batch of 10,000 rows ----------------------------------------------------------------------------


def test_batch_pyscore(benchmark, data, ours):
    it = batches(data[0])
    forest = ours["xgb"]
    benchmark(lambda: forest.predict(next(it)))
    record(benchmark, "batch pyscore", BATCH)


def test_batch_pyscore_scalar(benchmark, data, ours, scalar_kernels):
    it = batches(data[0])
    forest = ours["xgb"]
    benchmark(lambda: forest.predict(next(it)))
    record(benchmark, "batch pyscore scalar", BATCH)


def test_batch_pyscore_avx2(benchmark, data, ours):
    from pyscore.models.forest import set_simd_level, simd_level, simd_levels

    if 1 not in simd_levels():
        pytest.skip("no AVX2 on this CPU")
    before = simd_level()
    set_simd_level(1)
    try:
        it = batches(data[0])
        forest = ours["xgb"]
        benchmark(lambda: forest.predict(next(it)))
    finally:
        set_simd_level(before)
    record(benchmark, "batch pyscore avx2", BATCH)


def test_batch_xgboost_inplace_predict(benchmark, data, models):
    it = batches(data[0])
    booster = models["xgb"]
    benchmark(lambda: booster.inplace_predict(next(it)))
    record(benchmark, "batch xgboost", BATCH)


def test_batch_tl2cgen(benchmark, data, tl2cgen_predictor):
    import tl2cgen

    dmats = itertools.cycle([tl2cgen.DMatrix(data[0][:BATCH]), tl2cgen.DMatrix(data[0][-BATCH:])])
    benchmark(lambda: tl2cgen_predictor.predict(next(dmats)))
    record(benchmark, "batch tl2cgen", BATCH)


def test_batch_lightgbm(benchmark, data, models):
    it = batches(data[0])
    benchmark(lambda: models["lgb"].predict(next(it), num_threads=1))
    record(benchmark, "batch lightgbm", BATCH)


def test_batch_pyscore_lightgbm_model(benchmark, data, ours):
    it = batches(data[0])
    benchmark(lambda: ours["lgb"].predict(next(it)))
    record(benchmark, "batch pyscore (lightgbm model)", BATCH)


# -- one row from Python -----------------------------------------------------------------------------


def test_row_pyscore(benchmark, data, ours):
    it = rows(data[0])
    predict_one = ours["xgb"].predict_one
    benchmark(lambda: predict_one(next(it)))
    record(benchmark, "row pyscore")


def test_row_pyscore_scalar(benchmark, data, ours, scalar_kernels):
    it = rows(data[0])
    predict_one = ours["xgb"].predict_one
    benchmark(lambda: predict_one(next(it)))
    record(benchmark, "row pyscore scalar")


def test_row_forest_set_10_forests(benchmark, data, ten_forests):
    from pyscore.models.forest import ForestSet

    it = rows(data[0])
    fset = ForestSet(ten_forests)
    out = np.empty(fset.n_outputs)
    predict_one_into = fset.predict_one_into
    benchmark(lambda: predict_one_into(next(it), out))
    record(benchmark, "row forest set, 10 forests")


def test_row_10_predict_one_calls(benchmark, data, ten_forests):
    it = rows(data[0])
    calls = [f.predict_one for f in ten_forests]

    def run():
        x = next(it)
        return [call(x) for call in calls]

    benchmark(run)
    record(benchmark, "row 10 x predict_one")


def test_row_pyscore_hgb_model(benchmark, data, ours):
    it = rows(data[0])
    predict_one = ours["hgb"].predict_one
    benchmark(lambda: predict_one(next(it)))
    record(benchmark, "row pyscore (hgb model)")


def test_row_lightgbm(benchmark, data, models):
    it = rows(data[0])
    benchmark(lambda: models["lgb"].predict(next(it).reshape(1, -1), num_threads=1))
    record(benchmark, "row lightgbm")


def test_row_xgboost_inplace_predict(benchmark, data, models):
    it = rows(data[0])
    benchmark(lambda: models["xgb"].inplace_predict(next(it).reshape(1, -1)))
    record(benchmark, "row xgboost")


def test_row_treelite_gtil(benchmark, data, models):
    import treelite

    it = rows(data[0])
    benchmark(lambda: treelite.gtil.predict(models["treelite"], next(it).reshape(1, -1), nthread=1))
    record(benchmark, "row treelite gtil")


def test_row_sklearn_predict_proba(benchmark, data, models):
    it = rows(data[0])
    with threadpool_limits(1):
        benchmark(lambda: models["hgb"].predict_proba(next(it).reshape(1, -1)))
    record(benchmark, "row sklearn")


# -- compiling ---------------------------------------------------------------------------------------


def test_compile_300_trees(benchmark, models):
    import treelite

    from pyscore.models.forest import CompiledForest
    from pyscore.models.importer import from_treelite

    blob = models["treelite"].serialize_bytes()  # what `pyscore compile` starts from
    benchmark.pedantic(lambda: CompiledForest(from_treelite(treelite.Model.deserialize_bytes(blob))), rounds=5)
    record(benchmark, "compile 300 trees")


def test_zz_summary(benchmark, data, ours, models):
    """Parity on the benchmark rows, then the ratios against the targets."""
    X = data[0][:BATCH]
    assert np.abs(ours["xgb"].predict(X)[:, 0] - models["xgb"].inplace_predict(X)).max() <= 1e-6
    assert np.abs(ours["lgb"].predict(X)[:, 0] - models["lgb"].predict(X)).max() <= 1e-6
    benchmark.pedantic(lambda: time.sleep(0), rounds=1)
    from pyscore.models.forest import SIMD_LEVELS, simd_level

    lines = [f"\nforest benchmark ({data[2]}, {N_TREES} trees, depth {DEPTH}, {X.shape[1]} features, one thread, "
             f"kernels {SIMD_LEVELS[simd_level()]})"]
    for name, seconds in MEDIANS.items():
        if name.startswith("batch"):
            lines.append(f"  {name:34s} {1 / seconds:12,.0f} rows/s")
        elif name.startswith("row"):
            lines.append(f"  {name:34s} {seconds * 1e6:12.2f} us median")
        else:
            lines.append(f"  {name:34s} {seconds:12.3f} s")
    ratios = [("batch pyscore", "batch xgboost", 1.5), ("batch pyscore", "batch tl2cgen", 3.0),
              ("batch pyscore avx2", "batch xgboost", 1.5), ("batch pyscore avx2", "batch tl2cgen", 3.0),
              ("batch pyscore scalar", "batch xgboost", 1.5), ("batch pyscore scalar", "batch tl2cgen", 3.0)]  # fmt: skip
    for ours_name, peer, target in ratios:
        if ours_name in MEDIANS and peer in MEDIANS:
            ratio = MEDIANS[peer] / MEDIANS[ours_name]
            lines.append(f"  {ours_name} / {peer}: {ratio:.2f}x (target >= {target}x)")
    for name in ("row pyscore", "row pyscore scalar"):
        if name in MEDIANS:
            lines.append(f"  single row ({name}): {MEDIANS[name] * 1e6:.2f} us (target <= 5 us)")
    if "compile 300 trees" in MEDIANS:
        lines.append(f"  compile: {MEDIANS['compile 300 trees']:.3f} s (target < 2 s)")
    print("\n".join(lines))
