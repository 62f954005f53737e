"""Tests of the decision policy: precedence, lists, shadow mode, tenants, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pyscore.decision import (
    ACTIONS,
    CATEGORIES,
    CompiledPolicy,
    Detector,
    Policy,
    PolicyError,
    list_key,
)

DETECTORS = [
    Detector("rule_cred_login", "rule", "credential_phishing", priority=10),
    Detector("rule_malware_iso", "rule", "malware", priority=5),
    Detector("rule_bec_shadow", "rule", "bec", mode="shadow", priority=1),
    Detector("model_phish", "model", "credential_phishing", threshold=0.8),
    Detector("model_bec", "model", "bec", threshold=0.7),
    Detector("model_spam", "model", "spam", threshold=0.5),
]
NAMES = [d.name for d in DETECTORS]


def _policy(doc: dict | None = None) -> CompiledPolicy:
    return CompiledPolicy(Policy(doc or {}), DETECTORS)


def _scores(**named: float) -> np.ndarray:
    row = np.full(len(DETECTORS), np.nan)
    for name, value in named.items():
        row[NAMES.index(name)] = value
    return row[None, :]


def _decide(policy: CompiledPolicy, scores: np.ndarray, tenant: str = "default",
            keys: list[str] = (), never_allow: bool = False) -> dict:
    key_row = np.array([[list_key(k) for k in keys] or [0]], dtype=np.uint64)
    out = policy.decide(scores, [tenant], key_row, np.array([never_allow], dtype=np.uint8))
    return out.row(0)


def test_default_is_deliver_when_nothing_fires():
    row = _decide(_policy(), _scores(model_phish=0.1, model_bec=0.2))
    assert row["category"] == "safe" and row["action"] == "deliver" and row["verdict"] == "safe"
    assert row["deciding_detector"] == "" and row["reason"] == "default" and math.isnan(row["score"])


def test_rules_outrank_models_and_priority_orders_rules():
    row = _decide(_policy(), _scores(rule_cred_login=1, rule_malware_iso=1, model_bec=0.99))
    assert row["deciding_detector"] == "rule_malware_iso"  # priority 5 < 10, both tier 0
    assert row["category"] == "malware" and row["action"] == "quarantine"
    assert set(row["fired"]) == {"rule_cred_login", "rule_malware_iso", "model_bec"}


def test_models_compare_by_margin_over_threshold():
    row = _decide(_policy(), _scores(model_phish=0.85, model_bec=0.95))
    assert row["deciding_detector"] == "model_bec" and row["score"] == pytest.approx(0.95)


def test_threshold_is_inclusive_and_nan_never_fires():
    assert _decide(_policy(), _scores(model_phish=0.8))["deciding_detector"] == "model_phish"
    assert _decide(_policy(), _scores(model_phish=np.nextafter(0.8, 0)))["deciding_detector"] == ""


def test_shadow_detector_is_reported_but_never_acts():
    row = _decide(_policy(), _scores(rule_bec_shadow=1))
    assert row["category"] == "safe" and row["shadow_fired"] == ["rule_bec_shadow"] and row["fired"] == []


def test_block_list_beats_everything_and_allow_list_delivers():
    doc = {"tenants": {"default": {"block": {"domains": ["evil.example"]},
                                   "allow": {"senders": ["boss@partner.example"]}}}}
    p = _policy(doc)
    blocked = _decide(p, _scores(), keys=["x@evil.example", "evil.example"])
    assert blocked["reason"] == "block_list" and blocked["category"] == "spam" and blocked["action"] == "junk"
    allowed = _decide(p, _scores(model_phish=0.99), keys=["boss@partner.example", "partner.example"])
    assert allowed["reason"] == "allow_list" and allowed["category"] == "safe"
    assert allowed["fired"] == ["model_phish"]  # still reported


def test_allow_list_never_silences_malware_or_dmarc_failure():
    doc = {"tenants": {"default": {"allow": {"domains": ["partner.example"]}}}}
    p = _policy(doc)
    malware = _decide(p, _scores(rule_malware_iso=1), keys=["partner.example"])
    assert malware["category"] == "malware" and malware["reason"] == "detector"
    dmarc = _decide(p, _scores(model_phish=0.9), keys=["partner.example"], never_allow=True)
    assert dmarc["category"] == "credential_phishing"


def test_per_tenant_thresholds_actions_and_unknown_tenant_fallback():
    doc = {"tenants": {"default": {}, "acme": {"thresholds": {"model_spam": 0.9},
                                             "actions": {"spam": "quarantine"}}}}
    p = _policy(doc)
    assert _decide(p, _scores(model_spam=0.6), tenant="default")["action"] == "junk"
    assert _decide(p, _scores(model_spam=0.6), tenant="acme")["category"] == "safe"
    assert _decide(p, _scores(model_spam=0.95), tenant="acme")["action"] == "quarantine"
    assert _decide(p, _scores(model_spam=0.6), tenant="never-configured")["action"] == "junk"


def test_policy_detector_overrides_switch_mode():
    p = _policy({"detectors": {"model_phish": {"mode": "shadow", "threshold": 0.5}}})
    row = _decide(p, _scores(model_phish=0.6))
    assert row["category"] == "safe" and row["shadow_fired"] == ["model_phish"]


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"categories": {"safe": {"verdict": "fine", "action": "deliver"}}}, r"categories\.safe\.verdict"),
        ({"categories": {"phish": {"verdict": "malicious", "action": "junk"}}}, "unknown category"),
        ({"block_category": "nasty"}, "block_category"),
        ({"detectors": {"model_phish": {"mode": "loud"}}}, r"detectors\.model_phish\.mode"),
        ({"detectors": {"model_phish": {"threshold": "high"}}}, "finite number"),
        ({"tenants": {"default": {"actions": {"spam": "shred"}}}}, r"tenants\.default\.actions\.spam"),
        ({"tenants": ["acme"]}, "non-empty mapping"),
    ],
)
def test_bad_policy_documents_are_rejected_with_their_path(doc, match):
    with pytest.raises(PolicyError, match=match):
        _policy(doc)


def test_unknown_detector_in_policy_is_named():
    with pytest.raises(PolicyError, match="no_such_rule"):
        _policy({"detectors": {"no_such_rule": {"mode": "shadow"}}})
    with pytest.raises(PolicyError, match="thresholds.ghost"):
        _policy({"tenants": {"default": {"thresholds": {"ghost": 0.5}}}})


def test_policy_load_reports_file_errors(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("categories: [unclosed\n")
    with pytest.raises(PolicyError, match="policy.yml: not valid YAML"):
        Policy.load(bad)
    bad.write_text("- a list\n")
    with pytest.raises(PolicyError, match="must be a mapping"):
        Policy.load(bad)


def test_core_rejects_wrong_shapes():
    p = _policy()
    with pytest.raises(ValueError, match="scores"):
        p.decide(np.zeros((2, 3)), ["default"] * 2, np.zeros((2, 1), np.uint64), np.zeros(2, np.uint8))


def _reference_decide(policy: CompiledPolicy, scores, tenants, keys, never_allow):
    """Plain-Python oracle of the precedence documented in pyscore.decision."""
    tiers = {"rule": 0, "model": 1}
    out = []
    for i, tenant in enumerate(tenants):
        t = policy.policy.tenant(tenant)
        thr = [t.thresholds.get(d.name, d.threshold) for d in policy.detectors]
        fired = [not np.isnan(s) and s >= th for s, th in zip(scores[i], thr, strict=True)]
        active = [j for j, d in enumerate(policy.detectors) if fired[j] and d.mode == "active"]
        best = min(active, default=None, key=lambda j: (tiers[policy.detectors[j].kind],
                                                         policy.detectors[j].priority, -(scores[i][j] - thr[j]), j))
        override = any(policy.detectors[j].category == "malware" for j in active)
        row_keys = {k for k in keys[i] if k}
        block = {list_key(v) for v in t.block_senders + t.block_domains}
        allow = {list_key(v) for v in t.allow_senders + t.allow_domains}
        if row_keys & block:
            out.append(("spam", -1))
        elif row_keys & allow and not override and not never_allow[i]:
            out.append(("safe", -1))
        elif best is not None:
            out.append((policy.detectors[best].category, best))
        else:
            out.append(("safe", -1))
    return out


def test_core_agrees_with_reference_on_random_batches():
    rng = np.random.default_rng(7)
    doc = {"tenants": {"default": {"allow": {"domains": ["a.example"]}, "block": {"domains": ["b.example"]}},
                       "t2": {"thresholds": {"model_bec": 0.3}}}}
    p = _policy(doc)
    n = 2000
    scores = rng.random((n, len(DETECTORS)))
    scores[:, :3] = (scores[:, :3] > 0.8).astype(float)  # rules score 0 or 1
    scores[rng.random(scores.shape) < 0.1] = np.nan
    tenants = rng.choice(["default", "t2"], n).tolist()
    domains = rng.choice(["a.example", "b.example", "c.example"], n)
    keys = np.array([[list_key(d)] for d in domains], dtype=np.uint64)
    never_allow = (rng.random(n) < 0.2).astype(np.uint8)
    got = p.decide(scores, tenants, keys, never_allow)
    want = _reference_decide(p, scores, tenants, keys.tolist(), never_allow)
    assert [CATEGORIES[c] for c in got.category] == [w[0] for w in want]
    assert got.deciding.tolist() == [w[1] for w in want]
    assert all(ACTIONS[a] in ACTIONS for a in got.action)


def test_uses_lists_names_tenants_whose_policy_holds_a_list():
    doc = {"tenants": {"default": {}, "acme": {"block": {"domains": ["evil.example"]}},
                       "beta": {"allow": {"senders": ["boss@partner.example"]}}}}
    p = _policy(doc)
    assert not p.uses_lists(["default"]) and not p.uses_lists(["unknown"])  # falls back to default
    assert p.uses_lists(["acme"]) and p.uses_lists(["default", "beta"])
    assert not _policy().uses_lists(["default"])
    with_default_list = _policy({"tenants": {"default": {"allow": {"domains": ["partner.example"]}}}})
    assert with_default_list.uses_lists(["unknown"])
