"""This module contains the `pyscore rules` commands: check, test and hits."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers) -> None:
    parser = subparsers.add_parser("rules", help="check, test and measure detection rules")
    sub = parser.add_subparsers(dest="rules_command", required=True)
    check = sub.add_parser("check", help="parse and type-check every rule; exit 1 on any error")
    check.add_argument("directory")
    check.set_defaults(run=run_check)
    test = sub.add_parser("test", help="run the rules' inline tests (compiled and reference)")
    test.add_argument("directory")
    test.set_defaults(run=run_test)
    hits = sub.add_parser("hits", help="hits per rule on corpora, with precision where labels are known")
    hits.add_argument("directory")
    hits.add_argument("paths", nargs="+", help="corpus files, folders or archives")
    hits.add_argument("--batch-size", type=int, default=500)
    hits.add_argument("--limit", type=int, default=0, help="stop after this many messages per path (0: all)")
    hits.add_argument("--every", type=int, default=1, help="read every N-th message only (a spread-out sample)")
    hits.set_defaults(run=run_hits)


def _load(directory: str):
    from pyscore.rules.ruleset import RuleSet

    ruleset = RuleSet.load(directory)
    for error in ruleset.errors:
        print(error, file=sys.stderr)
    return ruleset


def run_check(args: argparse.Namespace) -> int:
    ruleset = _load(args.directory)
    print(f"{len(ruleset.rules)} rules loaded, {len(ruleset.errors)} rejected")
    return 1 if ruleset.errors else 0


def run_test(args: argparse.Namespace) -> int:
    from pyscore.rules.testing import run_tests

    ruleset = _load(args.directory)
    outcomes = run_tests(ruleset)
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        print(f"FAIL {o.path} test {o.index} ({o.rule}): expected {o.expect}, compiled={o.compiled} "
              f"reference={o.reference} {o.error}".rstrip())
    untested = [r.name for r in ruleset.rules
                if {t.expect for t in r.tests} != {"match", "no_match"}]
    for name in untested:
        print(f"MISSING a match and a no_match test: {name}")
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} tests passed over {len(ruleset.rules)} rules")
    return 1 if failed or untested or ruleset.errors else 0


def corpus_label(source_id: str) -> str:
    """Per-source labels of ../shared/corpora: malicious, spam, safe or unknown."""
    sid = source_id.lower()
    if "phishing_pot" in sid or "nazario" in sid:
        return "malicious"
    if "spamassassin" in sid:
        return "spam" if "/spam-" in sid or "::spam-" in sid else "safe"  # spam-1/, spam-2/ vs *-ham-*/
    if "enron" in sid or "linux_mips" in sid:
        return "safe"
    return "unknown"


def run_hits(args: argparse.Namespace) -> int:
    import numpy as np

    from pyscore.batch import MessageBatch
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse
    from pyscore.signals import REGISTRY, compute_features

    ruleset = _load(args.directory)
    compiled = ruleset.compile()
    n_rules = len(compiled.rules)
    labels = ("malicious", "spam", "safe", "unknown")
    counts = {lab: np.zeros(n_rules, np.int64) for lab in labels}
    totals = dict.fromkeys(labels, 0)
    spent, start = 0.0, time.perf_counter()

    def flush(msgs, labs):
        nonlocal spent
        if not msgs:
            return
        batch = MessageBatch.from_messages(msgs)
        # Signals as the engine computes them; behavioral (baseline) signals are absent here.
        features = compute_features(batch)
        t0 = time.perf_counter()
        hits = compiled.evaluate(batch, features=features, feature_names=REGISTRY.names)
        spent += time.perf_counter() - t0
        labs = np.array(labs)
        for lab in labels:
            sel = labs == lab
            counts[lab] += hits[sel].sum(axis=0, dtype=np.int64)
            totals[lab] += int(sel.sum())

    for path in args.paths:
        msgs, labs = [], []
        for seen, (source_id, raw) in enumerate(CorpusReader([path]), 1):
            if (seen - 1) % max(args.every, 1):
                continue
            msgs.append(parse(raw))
            labs.append(corpus_label(source_id))
            if len(msgs) >= args.batch_size:
                flush(msgs, labs)
                msgs, labs = [], []
            if args.limit and seen >= args.limit:
                break
        flush(msgs, labs)
    print("messages: " + ", ".join(f"{lab} {totals[lab]}" for lab in labels if totals[lab]))
    print(f"{'rule':60s} {'malicious':>9s} {'spam':>6s} {'safe':>6s} {'safe%':>7s} {'precision':>9s}")
    for j, meta in enumerate(compiled.rules):
        mal, spam, safe = (int(counts[lab][j]) for lab in ("malicious", "spam", "safe"))
        labelled = mal + spam + safe
        precision = f"{(mal + spam) / labelled:.3f}" if labelled else "-"
        rate = f"{100 * safe / totals['safe']:.3f}" if totals["safe"] else "-"
        print(f"{meta.name[:60]:60s} {mal:9d} {spam:6d} {safe:6d} {rate:>7s} {precision:>9s}")
    n = sum(totals.values())
    if n:
        print(f"rule stage: {1e6 * spent / n:.1f} us per message ({n} messages, {n_rules} rules); "
              f"wall {time.perf_counter() - start:.0f} s")
    return 0
