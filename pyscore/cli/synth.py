"""This module contains the ``pyscore synth`` command: write a simulated organisation's mail."""

from __future__ import annotations

import argparse
import datetime as dt


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth", help="generate labeled mail of simulated organisations",
        description="Write .eml files, labels.parquet, index.parquet and orgs.json to --out.")
    p.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
    p.add_argument("--orgs", type=int, default=1, help="number of organisations (tenants)")
    p.add_argument("--weeks", type=int, default=8, help="weeks of traffic")
    p.add_argument("--attack-rate", type=float, default=0.03, help="share of non-safe messages")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--messages", type=int, default=None, help="exact total number of messages")
    p.add_argument("--start", type=_date, default=None, help="first day, YYYY-MM-DD")
    p.set_defaults(run=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from pyscore.synth.generate import DEFAULT_START, generate

    summary = generate(args.out, orgs=args.orgs, weeks=args.weeks, attack_rate=args.attack_rate,
                       seed=args.seed, start=args.start or DEFAULT_START, messages=args.messages)
    print(summary.format())
    return 0
