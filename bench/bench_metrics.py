"""Metrics: evaluate() (Arrow flattening + DuckDB SQL) beside a naive pandas pipeline on the same log.

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
         --benchmark-enable --benchmark-only bench_metrics.py -s

A generated decision log of 20,000 distinct decisions, each with 64 rule
scores and 3 model scores (1.34 M detector-score rows), 3 sources, 3 tenants.
The pandas peer explodes the list column with ``DataFrame.explode`` and
computes the same overall / per-source group counts and per-detector PR
points; both results are checked equal before timing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pyscore.logschema import DECISION_LOG_SCHEMA, LABELS_SCHEMA, MALICIOUS_CATEGORIES
from pyscore.metrics import evaluate

N, RULES, MODELS = 20_000, 64, 3
MAL = list(MALICIOUS_CATEGORIES)


def generate(seed: int = 0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    names = [f"rule_{i}" for i in range(RULES)] + [f"model_{i}" for i in range(MODELS)]
    cats = [MAL[i % 4] if i % 5 else "spam" for i in range(RULES + MODELS)]
    kinds = ["rule"] * RULES + ["model"] * MODELS
    thr = np.array([1.0] * RULES + [0.8] * MODELS)
    label = rng.choice(["malicious", "spam", "safe"], N, p=[0.2, 0.2, 0.6])
    scores = np.concatenate([(rng.random((N, RULES)) < 0.02).astype(float), rng.random((N, MODELS))], axis=1)
    fired = scores >= thr
    decider = np.where(fired.any(1), fired.argmax(1), -1)
    category = [cats[d] if d >= 0 else "safe" for d in decider]
    ids = [f"<m{i}@bench>" for i in range(N)]
    log = pa.Table.from_pylist([
        {"message_id": ids[i], "tenant": f"t{i % 3}", "time": float(i), "source": "",
         "verdict": "malicious" if category[i] in MAL else ("suspicious" if category[i] == "spam" else "safe"),
         "category": category[i], "action": "deliver" if category[i] == "safe" else "quarantine",
         "score": float(scores[i, decider[i]]) if decider[i] >= 0 else float("nan"),
         "deciding_detector": names[decider[i]] if decider[i] >= 0 else "",
         "fired": [names[j] for j in np.flatnonzero(fired[i])], "shadow_fired": [],
         "detector_scores": [{"detector": names[j], "score": float(scores[i, j]), "threshold": float(thr[j]),
                              "category": cats[j], "kind": kinds[j]} for j in range(RULES + MODELS)],
         "contributions": [], "bundle_version": "bench"}
        for i in range(N)], schema=DECISION_LOG_SCHEMA)
    labels = pa.table({
        "message_id": ids, "label": label,
        "category": [MAL[i % 4] if lab == "malicious" else lab for i, lab in enumerate(label)],
        "source": rng.choice(["enron", "phishing_pot", "spamassassin"], N),
        "technique": [""] * N, "split": ["test"] * N}, schema=LABELS_SCHEMA)
    return log, labels


POSITIVE = {"malicious": {"malicious"}, "spam": {"spam", "malicious"}}


def pandas_metrics(log: pa.Table, labels: pa.Table) -> dict:
    """The naive way: pandas frames, explode the list column, merge, group."""
    d = log.to_pandas()
    lab = labels.to_pandas()
    j = d.merge(lab, on="message_id", suffixes=("", "_label"))
    truth = np.where(j["label"] == "malicious", j["category_label"], j["label"])
    out = {}
    for grp in ("malicious", "spam"):
        pred = j["category"].isin(MAL) if grp == "malicious" else j["category"] == "spam"
        catch = j["category"].isin(MAL) if grp == "malicious" else j["category"].isin([*MAL, "spam"])
        actual = pd.Series(np.isin(truth, MAL) if grp == "malicious" else truth == "spam", index=j.index)
        pos = j["label"].isin(POSITIVE[grp])
        frame = pd.DataFrame({"source": j["source_label"], "predicted": pred, "tp": pred & pos,
                              "actual": actual, "caught": actual & catch, "negatives": ~pos})
        for src, g in frame.groupby("source"):
            out[(src, grp)] = {k: int(g[k].sum()) for k in ("negatives", "predicted", "tp", "actual", "caught")}
    ex = j[["message_id", "label", "detector_scores"]].explode("detector_scores", ignore_index=True)
    ds = pd.json_normalize(ex["detector_scores"].tolist())
    ds["label"] = ex["label"].to_numpy()
    ds["pos"] = [lab in POSITIVE["spam" if c == "spam" else "malicious"] for lab, c in zip(ds["label"], ds["category"],
                                                                                          strict=True)]
    curves = {}
    for name, g in ds.groupby("detector"):
        agg = g.groupby("score")["pos"].agg(["size", "sum"]).sort_index(ascending=False)
        curves[name] = list(zip(agg.index, agg["size"].cumsum(), agg["sum"].cumsum(), strict=True))
    return {"groups": out, "curves": curves}


def pyscore_metrics(log: pa.Table, labels: pa.Table) -> dict:
    res = evaluate(log, labels, by=("source", "detector"))
    groups = {(r["key"], r["group"]): {k: r[k] for k in ("negatives", "predicted", "tp", "actual", "caught")}
              for r in res.by_dimension["source"] if r["group"] in POSITIVE}
    # cumulative true positives at each score, from recall x positives
    curves = {c["detector"]: [(s, round(r * c["positives"])) for s, _, r in c["points"]] for c in res.pr_curves}
    return {"groups": groups, "curves": curves, }


@pytest.fixture(scope="module")
def data():
    log, labels = generate()
    ours, peer = pyscore_metrics(log, labels), pandas_metrics(log, labels)
    assert ours["groups"] == peer["groups"]
    assert ours["curves"] == {name: [(s, int(tp)) for s, _, tp in pts] for name, pts in peer["curves"].items()}
    return log, labels


def test_evaluate_duckdb(benchmark, data):
    log, labels = data
    benchmark.extra_info["score_rows"] = log.num_rows * (RULES + MODELS)
    benchmark.pedantic(evaluate, args=(log, labels), kwargs={"by": ("source", "detector")}, rounds=3, iterations=1)


def test_naive_pandas(benchmark, data):
    log, labels = data
    benchmark.extra_info["score_rows"] = log.num_rows * (RULES + MODELS)
    benchmark.pedantic(pandas_metrics, args=(log, labels), rounds=3, iterations=1)
