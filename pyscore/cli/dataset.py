"""This module contains the `pyscore dataset` commands: build labeled splits from the real corpora."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dataset", help="labeled datasets from the real corpora")
    sub = p.add_subparsers(dest="dataset_command", required=True)
    b = sub.add_parser(
        "build",
        help="catalogue, de-duplicate, group campaigns, inject BEC into Enron, split by time",
        description="Write OUT/index.parquet, OUT/manifest.json and OUT/injected/*.eml.",
    )
    b.add_argument(
        "--corpora", required=True, metavar="DIR", help="folder with the corpus archives"
    )
    b.add_argument(
        "--out", required=True, metavar="DIR", help="dataset folder (replaced when complete)"
    )
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--test-fraction", type=float, default=0.3, metavar="F")
    b.add_argument(
        "--attacks", type=int, default=560, metavar="N", help="attacks to inject into Enron"
    )
    b.add_argument(
        "--limit-per-source",
        type=int,
        default=None,
        metavar="N",
        help="read only the first N messages of each archive (for quick runs)",
    )
    b.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from pyscore.datasets import build_dataset

    if args.attacks < 0:
        raise ValueError(f"--attacks must be >= 0, got {args.attacks}")
    if args.limit_per_source is not None and args.limit_per_source <= 0:
        raise ValueError(f"--limit-per-source must be positive, got {args.limit_per_source}")
    result = build_dataset(
        args.corpora,
        args.out,
        seed=args.seed,
        test_fraction=args.test_fraction,
        attacks=args.attacks,
        limit_per_source=args.limit_per_source,
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print_counts(result)
    return 0


def print_counts(result) -> None:
    out = sys.stdout.write
    out(f"dataset: {result.out_dir} ({result.rows} messages, {result.seconds:.1f} s)\n")
    for title, key in (
        ("per source", "source"),
        ("per label", "label"),
        ("per split", "split"),
        ("per category", "category"),
        ("per source / label / split", "source_label_split"),
        ("injected technique / split", "technique"),
    ):
        out(f"{title}:\n")
        for name, n in result.counts[key].items():
            out(f"  {name:<44} {n:>7}\n")
    dups = result.counts["duplicates"]
    out(f"duplicates: {dups['any']} (Message-ID {dups['message_id']}, body {dups['body']})\n")
    camp = result.counts["campaigns"]
    out(f"campaigns: {camp['count']} (largest {camp['largest']} messages)\n")
    out(f"split: {result.split['method']}, test fraction {result.split['test_fraction']}\n")
    for source, cutoff in result.split["cutoffs"].items():
        out(f"  cutoff {source:<14} {_when(cutoff)}\n")
    out(f"corpus problems: {sum(result.problems.values())} {result.problems}\n")


def _when(ts: float) -> str:
    import datetime as dt
    import math

    if not math.isfinite(ts):
        return "none (no dated mail)"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
