"""This module contains the `pyscore train` and `pyscore compile` commands.

``pyscore train --dataset DIR --out MODEL [--algo hgb|lightgbm|xgboost]``
trains detectors on DIR/index.parquet + DIR/features.parquet (features are
computed from the raw mail when the Parquet file is absent) and writes one
model file; ``pyscore compile MODEL --out DIR`` turns it into the compiled
directory the engine loads.
"""

from __future__ import annotations

import argparse
import math
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train model detectors on a labeled dataset")
    p.add_argument("--dataset", required=True, help="dataset directory (index.parquet [+ features.parquet])")
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--algo", choices=("hgb", "lightgbm", "xgboost"), default="hgb")
    p.add_argument("--mode", choices=("multiclass", "per-category"), default="multiclass")
    p.add_argument("--target-precision", type=float, default=0.999)
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--trees", type=int, default=200)
    p.add_argument("--max-depth", type=int, default=6)
    p.add_argument("--learning-rate", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-duplicates", action="store_true", help="train on rows flagged is_duplicate too")
    p.set_defaults(run=run_train)

    c = subparsers.add_parser("compile", help="compile a model file for the engine")
    c.add_argument("model", help="model file written by `pyscore train`")
    c.add_argument("--out", required=True, help="compiled model directory to write")
    c.add_argument("--schema-hash", help="refuse the model unless it was trained on this signal schema")
    c.set_defaults(run=run_compile)


def _threshold_line(output: str, threshold: float, metrics: dict) -> str:
    val = metrics.get(output, {}).get("validation") or {}
    if math.isnan(threshold):
        return f"  {output:22s} threshold   never (no positives or negative class)"
    met = "" if val.get("target_met") else "  (target precision not reached)"
    text = (f"  {output:22s} threshold {threshold:.6f}  validation precision {val.get('precision', math.nan):.4f} "
            f"recall {val.get('recall', math.nan):.4f}{met}")  # fmt: skip
    test = metrics.get(output, {}).get("test")
    if test:
        text += f"  test precision {test['precision'] or math.nan:.4f} recall {test['recall'] or math.nan:.4f}"
    return text


def run_train(args: argparse.Namespace) -> int:
    from pyscore.models.modelfile import save_model
    from pyscore.models.train import TrainConfig, load_training_data, train_detectors

    config = TrainConfig(
        algo=args.algo, mode=args.mode, target_precision=args.target_precision,
        validation_fraction=args.validation_fraction, n_trees=args.trees, max_depth=args.max_depth,
        learning_rate=args.learning_rate, seed=args.seed,
    )  # fmt: skip
    start = time.perf_counter()
    data = load_training_data(args.dataset, drop_duplicates=not args.keep_duplicates)
    print(f"{len(data.labels)} rows ({int(data.is_test.sum())} test), {data.X.shape[1]} features, "
          f"schema {data.schema_hash[:12]}")  # fmt: skip
    model = train_detectors(data, config)
    save_model(model, args.out)
    for d in model.detectors:
        print(f"{d.name} ({d.algo}):")
        for output, threshold in zip(d.outputs, d.thresholds, strict=True):
            print(_threshold_line(output, threshold, d.metrics))
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


def run_compile(args: argparse.Namespace) -> int:
    from pyscore.models.modelfile import compile_model, load_model, save_compiled

    start = time.perf_counter()
    model = load_model(args.model, schema_hash=args.schema_hash)
    forests = compile_model(model)
    save_compiled(forests, args.out)
    trees = sum(f.n_trees for f in forests)
    print(f"compiled {len(forests)} detector(s), {trees} trees, into {args.out} "
          f"in {time.perf_counter() - start:.2f} s")  # fmt: skip
    return 0
