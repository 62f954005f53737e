"""This module contains the engine commands: build, score, eval, demo and spark-score."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("build", help="dataset -> bundle: baselines, signals, training, compile, rules, policy")
    p.add_argument("--dataset", required=True, type=Path, help="a dataset directory (pyscore dataset build / synth)")
    p.add_argument("--out", required=True, type=Path, help="the bundle directory to write")
    p.add_argument("--algo", default="hgb", choices=("hgb", "lightgbm", "xgboost"))
    p.add_argument("--rules", type=Path, default=None, help="rule directory (default: the starter pack)")
    p.add_argument("--policy", type=Path, default=None, help="policy YAML (default: the built-in policy)")
    p.set_defaults(run=run_build)

    p = subparsers.add_parser("score", help="score messages with a bundle; one JSON line per message")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("paths", nargs="+", type=Path, help=".eml files, folders, mbox, maildir or tar archives")
    p.add_argument("--tenant", default="default")
    p.add_argument("--log", type=Path, default=None, help="append decisions to this decision-log directory")
    p.set_defaults(run=run_score)

    p = subparsers.add_parser("eval", help="score a dataset split in time order and print the metrics")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--split", default="test")
    p.add_argument("--log", type=Path, default=None, help="decision-log directory to write (default: temporary)")
    p.add_argument("--report", type=Path, default=None, help="also write the HTML report here")
    p.set_defaults(run=run_eval)

    p = subparsers.add_parser("demo", help="the main job: simulate, build, score the held-out weeks, report")
    p.add_argument("--out", type=Path, default=Path("demo-out"))
    p.add_argument("--corpora", type=Path, default=None, help="also run on the real corpora in this folder")
    p.add_argument("--weeks", type=int, default=8)
    p.add_argument("--orgs", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=run_demo)

    p = subparsers.add_parser("spark-score", help="score messages on Spark with a bundle; decisions to Parquet")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--input", required=True, type=Path, nargs="+")
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--tenant", default="default")
    p.set_defaults(run=run_spark_score)


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    from pyscore.pipeline import build_bundle

    bundle = build_bundle(args.dataset, args.out, algo=args.algo, rules_dir=args.rules, policy_path=args.policy,
                          progress=_progress)
    print(f"bundle {bundle.path} version {bundle.version}: {len(bundle.manifest['files'])} files")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from pyscore.corpus import CorpusReader
    from pyscore.engine import Engine, to_message

    engine = Engine.load(args.bundle, log=args.log)
    reader = CorpusReader(args.paths)
    chunk: list[tuple[str, bytes]] = []

    def flush() -> None:
        messages = [to_message(raw) for _, raw in chunk]
        scored = engine.score_messages(messages, tenants=[args.tenant] * len(chunk), ids=[i for i, _ in chunk])
        if engine.log is not None:
            engine.records(scored)
        for v in engine.verdicts(scored):
            print(json.dumps({"id": v.message_id, "verdict": v.verdict, "category": v.category, "action": v.action,
                              "score": None if v.score != v.score else v.score,
                              "deciding_detector": v.deciding_detector, "fired": v.fired,
                              "shadow_fired": v.shadow_fired}))
        chunk.clear()

    for source_id, raw in reader:
        chunk.append((source_id, raw))
        if len(chunk) >= 256:
            flush()
    if chunk:
        flush()
    if engine.log is not None:
        engine.log.close()
    for problem in reader.problems:
        print(f"pyscore score: {problem.source_id}: {problem.kind}: {problem.detail}", file=sys.stderr)
    return 1 if reader.problems else 0


def run_eval(args: argparse.Namespace) -> int:
    from pyscore.pipeline import evaluate_bundle

    result = evaluate_bundle(args.bundle, args.dataset, split=args.split, log_dir=args.log, progress=_progress)
    print(result.tables)
    if args.report:
        result.write_report(args.report)
        print(f"report: {args.report}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from pyscore.pipeline import run_demo as demo

    demo(args.out, corpora=args.corpora, weeks=args.weeks, orgs=args.orgs, seed=args.seed, progress=_progress)
    return 0


def run_spark_score(args: argparse.Namespace) -> int:
    from pyscore.spark import local_session, score_files

    spark = local_session(args.master)
    try:
        n = score_files(spark, args.bundle, args.input, args.output, tenant=args.tenant)
    finally:
        spark.stop()
    print(f"scored {n} messages -> {args.output}")
    return 0
