"""This module contains the engine's detector adapters: rules, models and baselines of a bundle.

Each adapter turns one kind of bundle content into columns of the detector
score matrix that the decision policy reads, with a ``Detector`` per column.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyscore.batch import MessageBatch
from pyscore.bundle import Bundle, BundleError
from pyscore.decision import Detector
from pyscore.signals import REGISTRY
from pyscore.signals.registry import ScoringContext

# Rule severity -> priority within the rules tier (lower wins).
SEVERITY_PRIORITY = {"critical": 0, "high": 10, "medium": 20, "low": 30, "informational": 40}


class RulesDetectors:
    """The bundle's rules, compiled to the core; one detector column per rule."""

    def __init__(self, compiled) -> None:
        self.compiled = compiled
        self.feature_names = REGISTRY.names  # built once: the registry assembles the list per call

    @property
    def count(self) -> int:
        return len(self.compiled.rules)

    def detectors(self) -> list[Detector]:
        return [
            Detector(name=r.name, kind="rule", category=r.category, mode=r.mode, threshold=1.0,
                     priority=SEVERITY_PRIORITY.get(r.severity, 20))
            for r in self.compiled.rules
        ]

    def evaluate(self, batch: MessageBatch, context: ScoringContext, features: np.ndarray) -> np.ndarray:
        """uint8 (messages x rules) hits."""
        if not self.count:
            return np.zeros((len(batch), 0), dtype=np.uint8)
        return self.compiled.evaluate(batch, context, features=features, feature_names=self.feature_names)


@dataclass
class ModelDetectors:
    """One compiled forest; a detector column per non-safe output."""

    forest: object  # pyscore.models.forest.CompiledForest
    columns: np.ndarray  # indices of the model's features in the registry's matrix
    outputs: list[int]  # forest outputs that are detectors
    # A model that reads behavioral baselines learnt sender history where history means
    # something, on tenants with an organisation context (own domains); elsewhere every
    # sender is new and its scores are not its own, so it does not run there (NaN).
    reads_history: bool = False

    @classmethod
    def from_forest(cls, forest) -> ModelDetectors:
        index = {name: j for j, name in enumerate(REGISTRY.names)}
        missing = [n for n in forest.feature_names if n not in index]
        if missing:
            raise BundleError(f"model {forest.name!r} reads signals this pyscore lacks: {missing[:5]}")
        outputs = [j for j, o in enumerate(forest.outputs) if o != "safe"]
        columns = np.array([index[n] for n in forest.feature_names], dtype=np.int64)
        reads_history = any(n.startswith("baseline_") for n in forest.feature_names)
        return cls(forest, columns, outputs, reads_history)

    def detectors(self) -> list[Detector]:
        f = self.forest
        return [
            Detector(name=_detector_name(f, j), kind="model", category=_category(f, j),
                     threshold=_threshold(f.thresholds[j]), priority=100)
            for j in self.outputs
        ]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """float64 (messages x detectors) probabilities."""
        return self.forest.predict(features[:, self.columns])[:, self.outputs]

    def top_contributions(self, features: np.ndarray, k: int, detector: int) -> list[list[tuple[int, float]]]:
        """Per row, (registry feature index, contribution) of the k strongest, for one detector."""
        c = self.forest.contributions(features[:, self.columns], k, output=self.outputs[detector])
        return [[(int(self.columns[f]), float(v)) for f, v in zip(fr, vr, strict=True)]
                for fr, vr in zip(c.features, c.values, strict=True)]


def _detector_name(forest, output: int) -> str:
    return forest.name if forest.n_outputs == 1 else f"{forest.name}.{forest.outputs[output]}"


def _category(forest, output: int) -> str:
    return forest.category if forest.n_outputs == 1 and forest.category else forest.outputs[output]


def _threshold(value: float) -> float:
    # A model without a validated threshold never fires by itself (policy may set one).
    return float(value) if np.isfinite(value) else float("inf")


def load_rules(bundle: Bundle) -> RulesDetectors:
    from pyscore.rules import RuleSet

    rules_dir = bundle.file("rules")
    if not rules_dir.is_dir():
        from pyscore.rules.runtime import CompiledRules  # noqa: F401  (an empty rule set)

        return RulesDetectors(RuleSet([], [], {}).compile())
    ruleset = RuleSet.load(rules_dir)
    if ruleset.errors:
        raise BundleError(f"{rules_dir}: {len(ruleset.errors)} rule(s) do not load: {ruleset.errors[0]}")
    return RulesDetectors(ruleset.compile())


def load_models(bundle: Bundle, schema_hash: str) -> list[ModelDetectors]:
    """Every compiled model directory under the bundle's models/ (each has a manifest.json)."""
    from pyscore.models.modelfile import load_compiled

    out = []
    manifests = [p for p in bundle.files_under("models") if p.name == "manifest.json"]
    for manifest in manifests:
        try:
            forests = load_compiled(manifest.parent, schema_hash=schema_hash)
        except (ValueError, FileNotFoundError) as exc:
            raise BundleError(f"{manifest.parent}: {exc}") from None
        out += [ModelDetectors.from_forest(f) for f in forests]
    return out


def load_baseline(bundle: Bundle, workdir: str | Path | None = None):
    """The bundle's baseline snapshot, as a store that ``observe`` may update.

    With ``workdir`` the store is durable there (seeded from the snapshot when
    the directory is new); otherwise it is an in-memory copy. Scoring never
    writes into the bundle itself.
    """
    from pyscore.baseline.store import TABLES, BaselineStore

    snap = bundle.file("baseline")
    if not snap.is_dir():
        return None
    if workdir is not None:
        workdir = Path(workdir)
        if not workdir.exists():
            shutil.copytree(snap, workdir)
        return BaselineStore.open(workdir)
    frozen = BaselineStore.open(snap, read_only=True)
    store = BaselineStore.memory(half_life_days=frozen.half_life_days)
    for table in TABLES:
        store.put_entries(table, frozen.entries(table))
    return store


def model_set(models: Sequence[ModelDetectors], n_signals: int):
    """One ForestSet over every model, each reading its columns of the registry's rows; None without models."""
    from pyscore.models.forest import ForestSet

    if not models:
        return None
    return ForestSet([m.forest for m in models], [m.columns for m in models], n_inputs=n_signals)


def model_detector_offsets(models: Sequence[ModelDetectors], first: int) -> list[int]:
    """Column index of each model's first detector in the score matrix."""
    out, at = [], first
    for m in models:
        out.append(at)
        at += len(m.outputs)
    return out
