"""The starter rule pack: every rule loads and every inline test passes in both evaluators."""

from __future__ import annotations

from collections import Counter

from pyscore.rules import PACK_DIR, RuleSet
from pyscore.rules.testing import run_tests
from pyscore.rules.types import PROFILE_FIELDS, registered_signals


def load_pack() -> RuleSet:
    # The behavioral rules read baseline signals; declare them in case the baseline
    # signal group is not registered in this build.
    signals = {**registered_signals(), **{sig: "num" for _, sig in PROFILE_FIELDS.values()}}
    return RuleSet.load(PACK_DIR, signals=signals)


def test_pack_loads_without_errors():
    rs = load_pack()
    assert not rs.errors, [str(e) for e in rs.errors]
    assert len(rs.rules) >= 60
    categories = Counter(r.category for r in rs.rules)
    assert {"credential_phishing", "bec", "malware", "callback_scam", "spam"} <= set(categories)
    assert len({r.id for r in rs.rules}) == len(rs.rules)
    assert len({r.name for r in rs.rules}) == len(rs.rules)


def test_every_rule_has_a_match_and_a_no_match_test_that_pass():
    rs = load_pack()
    for rule in rs.rules:
        assert {t.expect for t in rule.tests} >= {"match", "no_match"}, rule.name
    outcomes = run_tests(rs)
    failed = [(o.path, o.index, o.expect, o.compiled, o.reference, o.error) for o in outcomes if not o.passed]
    assert not failed
    assert len(outcomes) == sum(len(r.tests) for r in rs.rules)


def test_behavioral_rules_use_the_profile():
    rs = load_pack()
    behavioral = [r for r in rs.rules if "profile.by_sender()" in r.source]
    assert len(behavioral) >= 4
