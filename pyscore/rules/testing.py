"""This module contains the runner of rules' inline tests (compiled path and reference interpreter)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyscore.batch import MessageBatch
from pyscore.message import Message
from pyscore.rules.compiler import Compiler
from pyscore.rules.interpreter import interpret, message_row
from pyscore.rules.ruleset import RuleSet
from pyscore.rules.runtime import CompiledRules


@dataclass(frozen=True)
class TestOutcome:
    rule: str
    path: str
    index: int  # 1-based test number within the rule
    expect: str
    compiled: bool | None  # None: the message could not be built
    reference: bool | None
    error: str = ""

    @property
    def passed(self) -> bool:
        want = self.expect == "match"
        return not self.error and self.compiled == want and self.reference == want


def build_message(message) -> Message:
    """A test message: raw RFC 5322 text, an MDM mapping, or a path to a .eml / .json file."""
    if isinstance(message, Path):
        if message.suffix == ".json":
            return Message.from_dict(json.loads(message.read_text(encoding="utf-8")))
        message = message.read_bytes()
    if isinstance(message, dict):
        return Message.from_dict(message)
    from pyscore.mime import parse

    raw = message.encode("utf-8") if isinstance(message, str) else message
    return parse(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def _features(batch: MessageBatch, messages_signals: list[dict[str, float]], needed: list[str]):
    """The registry's signals computed on the batch, then each test's given values on top
    (behavioral signals, which need a baseline, come only from the test)."""
    from pyscore.signals import REGISTRY, compute_features

    computed = compute_features(batch)
    extra = sorted((set(needed) | {k for s in messages_signals for k in s}) - set(REGISTRY.names))
    names = [*REGISTRY.names, *extra]
    features = np.concatenate([computed, np.full((len(batch), len(extra)), math.nan, np.float32)], axis=1)
    index = {n: i for i, n in enumerate(names)}
    for r, sig in enumerate(messages_signals):
        for k, v in sig.items():
            features[r, index[k]] = v
    return features, names


def run_tests(ruleset: RuleSet) -> list[TestOutcome]:
    """Every inline test of every rule: both evaluators must give the expected answer.

    Tests that override named lists (tenant lists such as $org_vips) compile
    their rule alone with those lists; the others run as one batch.
    """
    compiled = ruleset.compile()
    column = {meta.id: j for j, meta in enumerate(compiled.rules)}
    cases, outcomes = [], []
    for rule in ruleset.rules:
        for i, test in enumerate(rule.tests, 1):
            try:
                cases.append((rule, i, test, build_message(test.message)))
            except (OSError, ValueError) as exc:
                outcomes.append(TestOutcome(rule.name, rule.path, i, test.expect, None, None, str(exc)))
    plain = [c for c in cases if not c[2].lists]
    if plain:
        batch = MessageBatch.from_messages([c[3] for c in plain])
        features, names = _features(batch, [c[2].signals for c in plain], compiled.signals)
        hits = compiled.evaluate(batch, features=features, feature_names=names)
        for r, case in enumerate(plain):
            signals = dict(zip(names, features[r].tolist(), strict=True))
            outcomes.append(_outcome(ruleset, case, bool(hits[r, column[case[0].id]]), ruleset.lists, signals))
    for case in cases:
        rule, _, test, msg = case
        if not test.lists:
            continue
        lists = {**ruleset.lists, **test.lists}
        compiler = Compiler(lists)
        compiler.add_rule(rule.tree)
        alone = CompiledRules([rule.meta], compiler)
        batch = MessageBatch.from_messages([msg])
        features, names = _features(batch, [test.signals], alone.signals)
        hit = alone.evaluate(batch, features=features, feature_names=names)
        signals = dict(zip(names, features[0].tolist(), strict=True))
        outcomes.append(_outcome(ruleset, case, bool(hit[0, 0]), lists, signals))
    return outcomes


def _outcome(ruleset: RuleSet, case, got: bool, lists, signals: dict[str, float]) -> TestOutcome:
    rule, i, test, msg = case
    reference = interpret(rule.tree, message_row(msg, ruleset.catalog, signals), lists)
    error = "" if got == reference else "compiled and reference evaluators disagree"
    return TestOutcome(rule.name, rule.path, i, test.expect, got, reference, error)
