"""Rule stage: 300 rules over batches of real messages, compiled core path vs the reference interpreter.

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
       --benchmark-enable --benchmark-only bench_rules.py -s
Messages come from ../shared/corpora (a mix of safe and malicious sources) when present,
otherwise they are generated. Each figure is the median over rounds; the interpreter runs
on the first 150 messages of the same batch (it is ~100x slower) and is scaled per message.

The engine scores one message at a time: the *_one_message cases run the starter pack
alone on batches of one message (200 distinct messages, each its own batch, built before
timing), beside the reference interpreter on the same messages.
"""

from __future__ import annotations

import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from rules_gen import NAMED_LISTS, SIGNALS, random_message  # noqa: E402

from pyscore.batch import MessageBatch  # noqa: E402
from pyscore.rules import PACK_DIR, RuleSet  # noqa: E402
from pyscore.rules.checker import check  # noqa: E402
from pyscore.rules.interpreter import interpret, message_row  # noqa: E402
from pyscore.rules.parser import parse  # noqa: E402
from pyscore.rules.ruleset import Rule, rule_id  # noqa: E402
from pyscore.rules.types import PROFILE_FIELDS, registered_signals  # noqa: E402

N_RULES = 300
BATCH = 1000
REFERENCE_MESSAGES = 150
ONE_MESSAGES = 200
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
MIX = (("enron", 400), ("linux_mips", 150), ("spamassassin", 150), ("phishing_pot", 200), ("nazario", 100))


WORDS = ["account", "review", "secure", "notice", "billing", "portal", "update", "payment", "invoice", "wallet",
         "office", "docs", "delivery", "payroll", "refund", "support", "verify", "ticket", "prize", "order"]
_REGEX = re.compile(r"'((?:[^'\\]|\\.)*)'")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def variants(pack, count: int) -> list[str]:
    """Variants of the pack's rules as detection engineers write them: the same logic with other
    keywords (each regex gains an alternative, each string literal another value)."""
    rng = random.Random(11)
    out = []
    while len(out) < count:
        rule = pack[len(out) % len(pack)]
        w1, w2 = rng.sample(WORDS, 2)
        source = _REGEX.sub(lambda m, a=w1, b=w2: f"'{m.group(1)}|{a} {b}'", rule.source)
        source = _STRING.sub(lambda m, a=w1: f'"{m.group(1)}{a}"' if m.group(1) else '""', source)
        out.append(source)
    return out


def _corpus_messages() -> list:
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse as parse_mime

    messages = []
    for name, count in MIX:
        for i, (_, raw) in enumerate(CorpusReader([CORPORA / f"{name}.tar.xz"])):
            if i >= count:
                break
            messages.append(parse_mime(raw))
    random.Random(7).shuffle(messages)
    return messages


@pytest.fixture(scope="module")
def setup():
    have_corpora = CORPORA.is_dir() and any(CORPORA.glob("*.tar.xz"))
    messages = _corpus_messages() if have_corpora else [random_message(random.Random(i)) for i in range(BATCH)]
    signals = {**registered_signals(), **{sig: "num" for _, sig in PROFILE_FIELDS.values()}, **SIGNALS}
    ruleset = RuleSet.load(PACK_DIR, signals=signals, lists=NAMED_LISTS)
    pack = list(ruleset.rules)
    for n, source in enumerate(variants(pack, N_RULES - len(pack))):  # pack variants up to 300 rules
        ruleset.rules.append(Rule(f"variant {n}", source, check(parse(source), ruleset.catalog),
                                  rule_id(f"variant/{n}"), f"variant/{n}.yml", category="spam"))
    compiled = ruleset.compile()
    batch = MessageBatch.from_messages(messages)
    names = list(signals)
    features = np.full((len(messages), len(names)), math.nan, np.float32)
    try:
        from pyscore.signals import REGISTRY, compute_features

        computed = compute_features(batch)
        for j, n in enumerate(REGISTRY.names):
            features[:, names.index(n)] = computed[:, j]
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    for n in ("sig_num", "sig_flag", *[sig for _, sig in PROFILE_FIELDS.values()]):
        features[:, names.index(n)] = rng.integers(0, 4, len(messages))
    rows = [message_row(m, ruleset.catalog, dict(zip(names, features[i].tolist(), strict=True)))
            for i, m in enumerate(messages[:REFERENCE_MESSAGES])]
    pack_rules = RuleSet.load(PACK_DIR, signals=signals, lists=NAMED_LISTS)
    one = [MessageBatch.from_messages([m]) for m in messages[:ONE_MESSAGES]]
    one_rows = [message_row(m, pack_rules.catalog, dict(zip(names, features[i].tolist(), strict=True)))
                for i, m in enumerate(messages[:ONE_MESSAGES])]
    return {"ruleset": ruleset, "compiled": compiled, "batch": batch, "features": features, "names": names,
            "rows": rows, "source": "corpora" if have_corpora else "generated",
            "pack": pack_rules, "pack_compiled": pack_rules.compile(), "one": one, "one_rows": one_rows}


def test_rules_compiled(benchmark, setup):
    s = setup
    compiled, batch = s["compiled"], s["batch"]
    out = benchmark.pedantic(compiled.evaluate, args=(batch,),
                             kwargs={"features": s["features"], "feature_names": s["names"]},
                             rounds=7, iterations=1, warmup_rounds=1)
    assert out.shape == (len(batch), N_RULES)
    per_msg = benchmark.stats.stats.median / len(batch)
    benchmark.extra_info.update(us_per_message=1e6 * per_msg, rules=N_RULES, messages=len(batch), source=s["source"])
    setup["compiled_per_msg"] = per_msg
    setup["compiled_out"] = out


def test_rules_reference_interpreter(benchmark, setup):
    s = setup
    trees = [r.tree for r in s["ruleset"].rules]
    lists = s["ruleset"].lists

    def run():
        return [[interpret(t, row, lists) for t in trees] for row in s["rows"]]

    want = benchmark.pedantic(run, rounds=3, iterations=1)
    per_msg = benchmark.stats.stats.median / len(s["rows"])
    benchmark.extra_info.update(us_per_message=1e6 * per_msg, rules=N_RULES, messages=len(s["rows"]))
    if "compiled_out" in s:
        got = s["compiled_out"][: len(s["rows"])]
        assert (got == np.array(want, np.uint8)).all(), "compiled and reference disagree"
        speedup = per_msg / s["compiled_per_msg"]
        benchmark.extra_info["speedup_of_compiled"] = speedup
        print(f"\nrule stage, {N_RULES} rules, {s['source']} messages: compiled "
              f"{1e6 * s['compiled_per_msg']:.1f} us/message, reference {1e6 * per_msg:.0f} us/message, "
              f"speed-up {speedup:.0f}x")
        t0 = time.perf_counter()
        s["compiled"].evaluate(s["batch"], features=s["features"], feature_names=s["names"])
        print(f"one more compiled batch: {1e6 * (time.perf_counter() - t0) / len(s['batch']):.1f} us/message")


def test_rules_compiled_one_message(benchmark, setup):
    s = setup
    compiled, names = s["pack_compiled"], s["names"]
    calls = [(b, s["features"][i:i + 1]) for i, b in enumerate(s["one"])]

    def run():
        return [compiled.evaluate(b, features=f, feature_names=names) for b, f in calls]

    out = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    per_call = benchmark.stats.stats.median / len(calls)
    benchmark.extra_info.update(us_per_call=1e6 * per_call, rules=len(compiled.rules), messages=len(calls))
    setup["one_per_call"] = per_call
    setup["one_out"] = np.vstack(out)


def test_rules_reference_one_message(benchmark, setup):
    s = setup
    trees = [r.tree for r in s["pack"].rules]
    lists = s["pack"].lists

    def run():
        return [[interpret(t, row, lists) for t in trees] for row in s["one_rows"]]

    want = benchmark.pedantic(run, rounds=3, iterations=1)
    per_call = benchmark.stats.stats.median / len(s["one_rows"])
    benchmark.extra_info.update(us_per_call=1e6 * per_call, rules=len(trees), messages=len(s["one_rows"]))
    if "one_out" in s:
        assert (s["one_out"] == np.array(want, np.uint8)).all(), "compiled and reference disagree"
        print(f"\nstarter pack ({len(trees)} rules), one message per batch, {s['source']} messages: compiled "
              f"{1e6 * s['one_per_call']:.0f} us/call, reference {1e6 * per_call:.0f} us/call, "
              f"speed-up {per_call / s['one_per_call']:.1f}x")
