"""This module contains the decision policy: detector scores -> one verdict per message.

A policy is YAML (reviewed data, never code). It names the categories with
their verdict and default action, the block-list category, the categories
an allow list never silences, and per-tenant thresholds, actions and
allow / block lists. Compiled against a bundle's detectors it becomes a
``pyscore._core.DecisionPolicy``, which decides whole batches in C++:

    block list > allow list (never silencing malware or a DMARC failure)
    > high-precision rules (tier 0) > models (tier 1) > deliver.

Shadow-mode detectors are evaluated, reported as fired, and never act.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pyscore import _core

CATEGORIES = ("safe", "credential_phishing", "bec", "malware", "callback_scam", "spam", "graymail")
ACTIONS = ("deliver", "banner", "junk", "quarantine")
VERDICTS = ("safe", "suspicious", "malicious")
MODES = ("active", "shadow")
REASONS = ("default", "block_list", "allow_list", "detector")
DETECTOR_KINDS = {"rule": 0, "model": 1}  # kind -> tier: rules outrank models

DEFAULT_POLICY: dict[str, Any] = {
    "version": 1,
    "categories": {
        "safe": {"verdict": "safe", "action": "deliver"},
        "credential_phishing": {"verdict": "malicious", "action": "quarantine"},
        "bec": {"verdict": "malicious", "action": "quarantine"},
        "malware": {"verdict": "malicious", "action": "quarantine"},
        "callback_scam": {"verdict": "malicious", "action": "quarantine"},
        "spam": {"verdict": "suspicious", "action": "junk"},
        "graymail": {"verdict": "suspicious", "action": "banner"},
    },
    "block_category": "spam",
    "allow_never_silences": ["malware"],
    "detectors": {},
    "tenants": {"default": {}},
}


@dataclass(frozen=True)
class Detector:
    """A detector as the policy sees it: a column of the score matrix."""

    name: str
    kind: str  # "rule" (score 0/1) or "model" (a probability)
    category: str
    mode: str = "active"
    threshold: float = 0.5  # fires when score >= threshold
    priority: int = 100  # lower wins within a tier


@dataclass
class TenantPolicy:
    thresholds: dict[str, float] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)
    allow_senders: list[str] = field(default_factory=list)
    allow_domains: list[str] = field(default_factory=list)
    block_senders: list[str] = field(default_factory=list)
    block_domains: list[str] = field(default_factory=list)


def list_key(value: str) -> int:
    """The 64-bit key of an address or domain in allow / block lists (0 means none)."""
    value = value.strip().lower()
    if not value:
        return 0
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little") or 1


class PolicyError(ValueError):
    """A policy file that does not validate; the message names the path of the bad entry."""


class Policy:
    """A validated policy document."""

    def __init__(self, doc: Mapping[str, Any], *, origin: str = "<policy>") -> None:
        self.origin = origin
        self.doc = _merge(DEFAULT_POLICY, doc)
        self._validate()

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise PolicyError(f"{path}: a policy must be a mapping, got {type(doc).__name__}")
        return cls(doc, origin=str(path))

    @classmethod
    def default(cls) -> Policy:
        return cls({}, origin="<default policy>")

    def dump(self) -> str:
        return yaml.safe_dump(self.doc, sort_keys=False)

    @property
    def tenants(self) -> list[str]:
        return list(self.doc["tenants"])

    def verdict_of(self, category: str) -> str:
        return self.doc["categories"][category]["verdict"]

    def tenant(self, name: str) -> TenantPolicy:
        base = self.doc["tenants"].get("default") or {}
        own = self.doc["tenants"].get(name) or {}
        merged = _merge(base, own)
        allow, block = merged.get("allow") or {}, merged.get("block") or {}
        return TenantPolicy(
            thresholds=dict(merged.get("thresholds") or {}),
            actions=dict(merged.get("actions") or {}),
            allow_senders=list(allow.get("senders") or []),
            allow_domains=list(allow.get("domains") or []),
            block_senders=list(block.get("senders") or []),
            block_domains=list(block.get("domains") or []),
        )

    def apply_overrides(self, detectors: Sequence[Detector]) -> list[Detector]:
        """Detectors with the policy's per-detector mode, threshold and priority applied."""
        overrides = self.doc["detectors"]
        unknown = set(overrides) - {d.name for d in detectors}
        if unknown:
            raise PolicyError(f"{self.origin}: detectors.{sorted(unknown)[0]}: no such detector in the bundle")
        out = []
        for det in detectors:
            o = overrides.get(det.name) or {}
            out.append(Detector(det.name, det.kind, o.get("category", det.category), o.get("mode", det.mode),
                                float(o.get("threshold", det.threshold)), int(o.get("priority", det.priority))))
        return out

    def _validate(self) -> None:
        cats = self.doc["categories"]
        for name, spec in cats.items():
            where = f"{self.origin}: categories.{name}"
            if name not in CATEGORIES:
                raise PolicyError(f"{where}: unknown category (expected one of {', '.join(CATEGORIES)})")
            _check_choice(spec.get("verdict"), VERDICTS, f"{where}.verdict")
            _check_choice(spec.get("action"), ACTIONS, f"{where}.action")
        _check_choice(self.doc["block_category"], CATEGORIES, f"{self.origin}: block_category")
        for c in self.doc["allow_never_silences"]:
            _check_choice(c, CATEGORIES, f"{self.origin}: allow_never_silences")
        for name, o in self.doc["detectors"].items():
            where = f"{self.origin}: detectors.{name}"
            if not isinstance(o, dict):
                raise PolicyError(f"{where}: expected a mapping")
            if "mode" in o:
                _check_choice(o["mode"], MODES, f"{where}.mode")
            if "category" in o:
                _check_choice(o["category"], CATEGORIES, f"{where}.category")
            if "threshold" in o:
                _check_number(o["threshold"], f"{where}.threshold")
        if not isinstance(self.doc["tenants"], dict) or not self.doc["tenants"]:
            raise PolicyError(f"{self.origin}: tenants must be a non-empty mapping")
        for name in self.tenants:
            where = f"{self.origin}: tenants.{name}"
            t = self.tenant(name)
            for det, value in t.thresholds.items():
                _check_number(value, f"{where}.thresholds.{det}")
            for cat, action in t.actions.items():
                _check_choice(cat, CATEGORIES, f"{where}.actions")
                _check_choice(action, ACTIONS, f"{where}.actions.{cat}")


def _check_choice(value: Any, choices: Sequence[str], where: str) -> None:
    if value not in choices:
        raise PolicyError(f"{where}: {value!r} is not one of {', '.join(choices)}")


def _check_number(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise PolicyError(f"{where}: expected a finite number, got {value!r}")


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Decisions:
    """Decisions for a batch, as arrays, with the names to read them."""

    category: np.ndarray  # int32 index into CATEGORIES
    action: np.ndarray  # int32 index into ACTIONS
    deciding: np.ndarray  # int32 detector index, -1 for none
    score: np.ndarray  # float64
    reason: np.ndarray  # int8 index into REASONS
    fired: np.ndarray  # uint8 (n, n_detectors)
    detectors: list[Detector]
    verdicts: list[str]  # per category index

    def __len__(self) -> int:
        return len(self.category)

    def row(self, i: int) -> dict[str, Any]:
        dec = int(self.deciding[i])
        fired = np.flatnonzero(self.fired[i])
        return {
            "verdict": self.verdicts[self.category[i]],
            "category": CATEGORIES[self.category[i]],
            "action": ACTIONS[self.action[i]],
            "reason": REASONS[self.reason[i]],
            "score": float(self.score[i]),
            "deciding_detector": self.detectors[dec].name if dec >= 0 else "",
            "fired": [self.detectors[j].name for j in fired if self.detectors[j].mode == "active"],
            "shadow_fired": [self.detectors[j].name for j in fired if self.detectors[j].mode == "shadow"],
        }


class CompiledPolicy:
    """A policy bound to a bundle's detectors and tenants, evaluated by the core."""

    def __init__(self, policy: Policy, detectors: Sequence[Detector]) -> None:
        self.policy = policy
        self.detectors = policy.apply_overrides(detectors)
        self.tenant_names = policy.tenants
        self.tenant_index = {name: i for i, name in enumerate(self.tenant_names)}
        self.verdicts = [policy.verdict_of(c) for c in CATEGORIES]
        tenants = [policy.tenant(t) for t in self.tenant_names]
        names = {d.name for d in self.detectors}
        thresholds, actions = [], []
        for tname, t in zip(self.tenant_names, tenants, strict=True):
            for det in t.thresholds:
                if det not in names:
                    raise PolicyError(f"{policy.origin}: tenants.{tname}.thresholds.{det}: no such detector")
            thresholds += [float(t.thresholds.get(d.name, d.threshold)) for d in self.detectors]
            defaults = {c: policy.doc["categories"][c]["action"] for c in CATEGORIES}
            actions += [ACTIONS.index(t.actions.get(c, defaults[c])) for c in CATEGORIES]
        specs = [
            _core.DetectorSpec(category=CATEGORIES.index(d.category), tier=DETECTOR_KINDS[d.kind],
                               priority=d.priority, shadow=d.mode == "shadow")
            for d in self.detectors
        ]
        self._core = _core.DecisionPolicy(
            specs, len(tenants), len(CATEGORIES), thresholds, actions,
            safe_category=CATEGORIES.index("safe"),
            block_category=CATEGORIES.index(policy.doc["block_category"]),
            override_categories=[CATEGORIES.index(c) for c in policy.doc["allow_never_silences"]],
        )
        for i, t in enumerate(tenants):
            for block, values in ((False, t.allow_senders + t.allow_domains), (True, t.block_senders + t.block_domains)):
                keys = np.array([list_key(v) for v in values], dtype=np.uint64)
                self._core.add_list_keys(i, block, keys)
        self._with_lists = {name for name, t in zip(self.tenant_names, tenants, strict=True)
                            if t.allow_senders or t.allow_domains or t.block_senders or t.block_domains}
        self._fallback = self.tenant_names[self.tenant_index.get("default", 0)] if self.tenant_names else None

    def uses_lists(self, tenants: Sequence[str]) -> bool:
        """Does any of these tenants' policies hold an allow or block list? (Without, the
        messages' list keys cannot change a decision and need not be computed.)"""
        return bool(self._with_lists) and any(
            (t if t in self.tenant_index else self._fallback) in self._with_lists for t in set(tenants))

    def tenant_ids(self, tenants: Sequence[str]) -> np.ndarray:
        """Tenant names -> indices; an unknown tenant uses the "default" tenant's policy."""
        fallback = self.tenant_index.get("default", 0)
        return np.array([self.tenant_index.get(t, fallback) for t in tenants], dtype=np.int32)

    def decide(self, scores: np.ndarray, tenants: Sequence[str], list_keys: np.ndarray,
               never_allow: np.ndarray) -> Decisions:
        """Decide a batch. scores: (n, n_detectors), NaN where a detector did not run;
        list_keys: (n, k) uint64 keys (sender address, domains) from ``list_key``;
        never_allow: (n,) flags of rows an allow list must not silence (DMARC failure)."""
        out = self._core.decide(
            np.ascontiguousarray(scores, dtype=np.float64), self.tenant_ids(tenants),
            np.ascontiguousarray(list_keys, dtype=np.uint64), np.ascontiguousarray(never_allow, dtype=np.uint8),
        )
        return Decisions(out["category"], out["action"], out["deciding"], out["score"], out["reason"],
                         out["fired"], self.detectors, self.verdicts)
