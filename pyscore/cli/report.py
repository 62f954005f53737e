"""This module contains the `pyscore metrics` and `pyscore report` commands: decision logs + labels -> metrics.

``pyscore metrics --log LOG --labels L`` prints the metrics tables (``--json``
for machine-readable output); ``pyscore report --log LOG --labels L --out
report.html`` writes the self-contained HTML report. LOG is a decision-log
directory or Parquet file; L a labels table (a dataset's ``index.parquet``,
any Parquet or CSV with message_id, label, category, source, technique,
split); ``--feedback F`` adds online metrics from feedback events.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    m = subparsers.add_parser("metrics", help="print precision / recall / FPR tables of a decision log",
                              description=__doc__.splitlines()[0])
    _common(m)
    m.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    m.set_defaults(run=run_metrics)
    r = subparsers.add_parser("report", help="write the HTML report of a decision log",
                              description=__doc__.splitlines()[0])
    _common(r)
    r.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    r.add_argument("--title", default="pyscore evaluation report")
    r.set_defaults(run=run_report)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", required=True, metavar="LOG", help="decision-log directory or Parquet file")
    p.add_argument("--labels", required=True, metavar="L", help="labels: Parquet (file or directory) or CSV")
    p.add_argument("--feedback", metavar="F", default=None, help="feedback events: Parquet or CSV")
    p.add_argument("--split", default=None, help="evaluate only labels of this split (e.g. test)")
    p.add_argument("--near-margin", type=float, default=0.2, metavar="M",
                   help="distance to a threshold that triage calls near (relative to max(|threshold|, 1))")


def run_metrics(args: argparse.Namespace) -> int:
    from pyscore.metrics import evaluate, format_online, format_tables, online_metrics
    from pyscore.metrics.frames import read_table
    from pyscore.metrics.offline import BREAKDOWNS

    log = read_table(args.log, "decision log")
    result = evaluate(log, args.labels, by=BREAKDOWNS, split=args.split, near_margin=args.near_margin)
    online = online_metrics(log, args.feedback) if args.feedback else None
    if args.json:
        doc = {"offline": result.to_dict(), "online": online.to_dict() if online else None}
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(format_tables(result))
    if online is not None:
        sys.stdout.write("\n" + format_online(online))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from pyscore.report.html import write_report

    out = write_report(args.log, args.labels, args.out, args.feedback, split=args.split,
                       near_margin=args.near_margin, title=args.title)
    print(f"wrote {out}", file=sys.stderr)
    return 0
