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


class ModelScorer:
    """Every model's detector probabilities for a batch, its forests in one core call.

    Columns follow the models' detectors in order. A model that reads sender
    history does not run for messages of tenants without an organisation
    context (NaN there, see ``ModelDetectors.reads_history``); when no message
    of a batch has one, its forests are not evaluated at all.
    """

    def __init__(self, models: Sequence[ModelDetectors], n_signals: int) -> None:
        detector_models = [m for m in models for _ in m.outputs]
        self.n_detectors = len(detector_models)
        self.history_columns = np.array([j for j, m in enumerate(detector_models) if m.reads_history], dtype=np.int64)
        self._all = _ForestRun(models, n_signals)
        others = [m for m in models if not m.reads_history]
        self._without_history = _ForestRun(others, n_signals) if others else None
        self._other_columns = np.array([j for j, m in enumerate(detector_models) if not m.reads_history],
                                       dtype=np.int64)

    def predict(self, features: np.ndarray, with_context: np.ndarray | None = None) -> np.ndarray:
        """float64 (messages x detectors); ``with_context``: per message, does its tenant have an
        organisation context (None: every model runs on every message)."""
        if with_context is None or not self.history_columns.size:
            return self._all.predict(features)
        if with_context.any():
            scores = self._all.predict(features)
            scores[np.ix_(~with_context, self.history_columns)] = np.nan
            return scores
        scores = np.full((len(features), self.n_detectors), np.nan)
        if self._without_history is not None:
            scores[:, self._other_columns] = self._without_history.predict(features)
        return scores


class _ForestRun:
    """One ForestSet over some models, each reading its columns of the registry's rows, and the
    set's output of each of their detectors."""

    def __init__(self, models: Sequence[ModelDetectors], n_signals: int) -> None:
        from pyscore.models.forest import ForestSet

        self.forests = ForestSet([m.forest for m in models], [m.columns for m in models], n_inputs=n_signals) \
            if models else None
        self.outputs = np.array([self.forests.slice(i).start + k for i, m in enumerate(models) for k in m.outputs],
                                dtype=np.int64)

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.forests is None:
            return np.zeros((len(features), 0))
        if len(features) == 1:  # the fast-call path
            row = np.empty(self.forests.n_outputs, dtype=np.float64)
            self.forests.predict_one_into(features[0], row)
            return row[self.outputs][None, :]
        return self.forests.predict(features)[:, self.outputs]


def model_detector_offsets(models: Sequence[ModelDetectors], first: int) -> list[int]:
    """Column index of each model's first detector in the score matrix."""
    out, at = [], first
    for m in models:
        out.append(at)
        at += len(m.outputs)
    return out
