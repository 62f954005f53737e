"""This module contains the `pyscore parse` command: parse messages from files, folders and archives.

With ``--json`` each message is written as one line of MDM JSON
(``Message.to_dict()`` plus its ``source_id``). Without it a summary is
printed: messages, corpus problems by kind, defects by kind, failures (an
exception escaping the parser, which must never happen) and messages per
second, both for the parser alone and end to end (reading and decompressing
included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "parse",
        help="parse .eml files, folders, maildirs, mboxes and tar archives",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, mbox or .tar[.gz|.xz]")
    p.add_argument("--json", action="store_true", help="print MDM JSON, one message per line")
    p.add_argument(
        "--limit", type=_positive, default=None, metavar="N", help="stop after N messages"
    )
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--limit must be a positive integer, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse

    reader = CorpusReader(args.paths)
    summary = ParseSummary()
    out = sys.stdout
    start = time.perf_counter()
    for source_id, raw in reader:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            message = parse(raw)
        except Exception as exc:  # noqa: BLE001 - counted: the parser must never raise
            summary.timed(t0, c0)
            summary.fail(source_id, exc)
            continue
        summary.timed(t0, c0)
        summary.add(message)
        if args.json:
            record = message.to_dict()
            record["source_id"] = source_id
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if args.limit is not None and summary.messages >= args.limit:
            break
    summary.total_seconds = time.perf_counter() - start
    summary.problems = reader.report.by_kind()
    summary.problem_examples = [(p.source_id, p.kind, p.detail) for p in reader.problems[:10]]
    summary.print(sys.stderr if args.json else out)
    return 1 if summary.failures else 0


class ParseSummary:
    """Counts gathered while parsing, printed as a short report."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.defects: Counter[str] = Counter()
        self.messages_with_defects = 0
        self.failures = 0
        self.failure_examples: list[tuple[str, str]] = []
        self.problems: dict[str, int] = {}
        self.problem_examples: list[tuple[str, str, str]] = []
        self.parse_seconds = 0.0
        self.parse_cpu_seconds = 0.0  # CPU time: meaningful on a shared, busy machine
        self.total_seconds = 0.0

    def timed(self, t0: float, c0: float) -> None:
        self.parse_seconds += time.perf_counter() - t0
        self.parse_cpu_seconds += time.process_time() - c0

    def add(self, message) -> None:
        self.messages += 1
        self.bytes += message.size
        kinds = {d.kind for d in message.defects}
        self.defects.update(d.kind for d in message.defects)
        self.messages_with_defects += bool(kinds)

    def fail(self, source_id: str, exc: BaseException) -> None:
        self.messages += 1
        self.failures += 1
        if len(self.failure_examples) < 10:
            self.failure_examples.append((source_id, f"{type(exc).__name__}: {exc}"))

    def print(self, out) -> None:
        w = out.write
        w(f"messages:              {self.messages}\n")
        w(f"bytes:                 {self.bytes}\n")
        w(f"failures:              {self.failures}\n")
        for source_id, err in self.failure_examples:
            w(f"  failure {source_id}: {err}\n")
        w(f"corpus problems:       {sum(self.problems.values())}\n")
        for kind, n in sorted(self.problems.items(), key=lambda kv: (-kv[1], kv[0])):
            w(f"  {kind:<28} {n}\n")
        for source_id, kind, detail in self.problem_examples:
            w(f"  e.g. {kind} {source_id}: {detail}\n")
        w(f"messages with defects: {self.messages_with_defects}\n")
        w("defects by kind:\n")
        for kind, n in self.defects.most_common():
            w(f"  {kind:<28} {n}\n")
        parse_rate = self.messages / self.parse_seconds if self.parse_seconds else 0.0
        total_rate = self.messages / self.total_seconds if self.total_seconds else 0.0
        cpu_rate = self.messages / self.parse_cpu_seconds if self.parse_cpu_seconds else 0.0
        w(
            f"parse time:            {self.parse_seconds:.2f} s wall, {self.parse_cpu_seconds:.2f} s CPU\n"
        )
        w(f"messages per second:   {parse_rate:,.0f} (parser alone, wall clock)\n")
        w(f"                       {cpu_rate:,.0f} (parser alone, CPU time of this process)\n")
        w(f"                       {total_rate:,.0f} (end to end, reading archives included)\n")
