"""Signals: Numba kernels against the pure-Python reference, one thread.

Inputs are real corpus messages (phishing_pot, linux_mips, enron, spamassassin,
nazario: the first N of each) when ../shared/corpora is present, otherwise
generated ones; the MessageBatch is built once, outside the timed part.
Figures: messages/s for a batch (kernels vs reference, same messages), the
latency of one message's signals rotating through distinct messages (kernels vs
reference), and the cost of building a one-message MessageBatch (the packed
one-pass build vs the column-by-column build it replaced, kept here as the peer).

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
     --benchmark-enable --benchmark-only bench_signals.py [--benchmark-timer=time.process_time]
(the CPU-time timer gives steadier figures on a shared, loaded machine). messages_per_s
lands in each benchmark's extra_info (--benchmark-json to read it).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from pyscore.batch import LIST_SPECS, SCALAR_SPECS, ListGroup, MessageBatch, StringColumn
from pyscore.signals import build_registry
from pyscore.signals.reference import reference_features
from pyscore.signals.registry import ScoringContext
from pyscore.signals.sample import random_messages

PER_SOURCE = 600  # messages read from each corpus
REFERENCE_SUBSET = 300  # messages the (slow) reference computes per round
REGISTRY = build_registry(include_baseline=False)  # this stage's groups only

_CORPORA = Path(os.environ.get("PYSCORE_CORPORA", Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def _load_messages():
    if _CORPORA.is_dir() and any(_CORPORA.glob("*.tar.xz")):
        from pyscore.corpus import CorpusReader
        from pyscore.mime import parse

        messages = []
        for name in ("phishing_pot", "linux_mips", "enron", "spamassassin", "nazario"):
            path = _CORPORA / f"{name}.tar.xz"
            if path.exists():
                messages += [parse(raw) for _, raw in itertools.islice(CorpusReader([path]), PER_SOURCE)]
        return messages, "real corpus messages"
    return random_messages(3000, seed=11), "generated messages"


@pytest.fixture(scope="module")
def inputs():
    messages, kind = _load_messages()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(messages))  # interleave sources
    messages = [messages[i] for i in order]
    batch = MessageBatch.from_messages(messages)
    context = ScoringContext(tenants=[""] * len(messages), times=np.zeros(len(messages)))
    REGISTRY.compute(batch, context)  # compile / load the kernels outside the timing
    singles = [(MessageBatch.from_messages([m]), ScoringContext(tenants=[""], times=np.zeros(1)))
               for m in messages[:1000]]
    return {"messages": messages, "batch": batch, "context": context, "singles": singles, "kind": kind}


def test_kernels_batch(benchmark, inputs):
    batch, context = inputs["batch"], inputs["context"]
    benchmark.extra_info.update(messages=len(batch), inputs=inputs["kind"], signals=len(REGISTRY.names))
    benchmark.pedantic(REGISTRY.compute, args=(batch, context), rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["messages_per_s"] = len(batch) / benchmark.stats.stats.median


def test_reference_batch(benchmark, inputs):
    messages = inputs["messages"][:REFERENCE_SUBSET]
    context = ScoringContext(tenants=[""] * len(messages), times=np.zeros(len(messages)))
    benchmark.extra_info.update(messages=len(messages), inputs=inputs["kind"])
    benchmark.pedantic(reference_features, args=(messages, context), rounds=3, iterations=1)
    benchmark.extra_info["messages_per_s"] = len(messages) / benchmark.stats.stats.median


def test_kernels_one_message(benchmark, inputs):
    cycle = itertools.cycle(inputs["singles"])
    for _ in range(200):  # warm-up over distinct messages
        REGISTRY.compute(*next(cycle))

    def one():
        batch, context = next(cycle)
        return REGISTRY.compute(batch, context)

    benchmark.extra_info.update(distinct_messages=len(inputs["singles"]), inputs=inputs["kind"])
    benchmark.pedantic(one, rounds=3000, iterations=1)


def test_reference_one_message(benchmark, inputs):
    cycle = itertools.cycle(inputs["messages"][:1000])
    context = ScoringContext(tenants=[""], times=np.zeros(1))
    benchmark.extra_info.update(distinct_messages=1000, inputs=inputs["kind"])
    benchmark.pedantic(lambda: reference_features([next(cycle)], context), rounds=300, iterations=1)


def _column_by_column(messages) -> MessageBatch:
    """The build MessageBatch.from_messages did before the packed one-pass build: one
    StringColumn per column, every value through its spec's getter (the peer)."""
    def column(kind, values):
        return StringColumn.from_strings(values) if kind == "str" else np.asarray(values, dtype=np.float64)

    columns = {path: column(kind, [get(m) for m in messages]) for path, kind, get in SCALAR_SPECS}
    lists = {}
    for group, elements_of, specs in LIST_SPECS:
        per_message = [elements_of(m) for m in messages]
        offsets = np.zeros(len(messages) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in per_message], out=offsets[1:])
        flat = [e for elements in per_message for e in elements]
        lists[group] = ListGroup(offsets, {p: column(k, [g(e) for e in flat]) for p, k, g in specs})
    return MessageBatch([str(i) for i in range(len(messages))], columns, lists)


def test_batch_build_one_message(benchmark, inputs):
    cycle = itertools.cycle(inputs["messages"][:1000])
    benchmark.extra_info.update(distinct_messages=1000, inputs=inputs["kind"])
    benchmark.pedantic(lambda: MessageBatch.from_messages([next(cycle)]), rounds=3000, iterations=1)


def test_batch_build_one_message_column_by_column(benchmark, inputs):
    first = inputs["messages"][:20]
    peer, packed = _column_by_column(first), MessageBatch.from_messages(first)
    for path in ("body.text", "headers.fields[].value", "body.links[].href_url.url"):
        assert peer.column(path).to_list() == packed.column(path).to_list(), path  # the peer builds the same batch
    cycle = itertools.cycle(inputs["messages"][:1000])
    benchmark.extra_info.update(distinct_messages=1000, inputs=inputs["kind"])
    benchmark.pedantic(lambda: _column_by_column([next(cycle)]), rounds=3000, iterations=1)
