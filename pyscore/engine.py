"""This module contains the Engine: a loaded bundle that scores messages end to end.

    raw bytes | Message | MDM dict
      -> pyscore.mime.parse            (Message)
      -> MessageBatch                  (columns)
      -> signals registry              (float32 feature matrix, baseline lookups point-in-time)
      -> compiled rules                (messages x rules hits, in the core)
      -> compiled forests              (messages x model probabilities, in the core)
      -> decision policy               (one decision per message, in the core)
      -> Verdict | Arrow table         (+ decision log records)

The engine holds no per-call state besides the baseline store, which has its
own lock, so threads may score at once; the core releases the GIL.
"""

from __future__ import annotations

import math
import threading
import time as _time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pyscore.batch import MessageBatch
from pyscore.bundle import Bundle
from pyscore.decision import CompiledPolicy, Decisions, Detector, Policy, list_key
from pyscore.decisionlog import DecisionLogWriter
from pyscore.logschema import DECISION_LOG_SCHEMA
from pyscore.message import Message
from pyscore.mime import parse
from pyscore.signals import REGISTRY
from pyscore.signals.registry import ScoringContext

TOP_CONTRIBUTIONS = 5


@dataclass(frozen=True)
class Verdict:
    """One message's decision, with attribution."""

    message_id: str
    tenant: str
    verdict: str  # safe | suspicious | malicious
    category: str
    action: str
    score: float
    deciding_detector: str
    reason: str  # default | block_list | allow_list | detector
    fired: list[str] = field(default_factory=list)
    shadow_fired: list[str] = field(default_factory=list)
    model_scores: dict[str, float] = field(default_factory=dict)
    contributions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class ScoredBatch:
    """Everything one scoring pass computed, for the log, the CLI and evaluation."""

    ids: list[str]
    tenants: list[str]
    times: np.ndarray
    features: np.ndarray
    scores: np.ndarray  # (n, n_detectors)
    decisions: Decisions
    contributions: list[list[dict[str, Any]]]


class Engine:
    """A bundle loaded for scoring: ``Engine.load(path)``, then ``score`` / ``score_batch``."""

    def __init__(self, bundle: Bundle, *, log: DecisionLogWriter | None = None,
                 baseline_dir: str | Path | None = None) -> None:
        from pyscore.engine_parts import (
            ModelScorer,
            load_baseline,
            load_models,
            load_rules,
            model_detector_offsets,
        )

        self.bundle = bundle
        self.tenant_configs = _tenant_configs(bundle.tenants())
        self.rules = load_rules(bundle)
        self.models = load_models(bundle, REGISTRY.schema_hash())
        self.baseline = load_baseline(bundle, baseline_dir)
        self.detectors: list[Detector] = self.rules.detectors() + [d for m in self.models for d in m.detectors()]
        self.policy = CompiledPolicy(Policy.load(bundle.policy_path), self.detectors)
        self.log = log
        self.signal_names = REGISTRY.names
        self._model_scorer = ModelScorer(self.models, len(self.signal_names))
        # score-matrix column of each model detector -> (model, its detector index)
        self._model_columns = {first + k: (model, k)
                               for model, first in zip(self.models, model_detector_offsets(self.models, self.rules.count),
                                                       strict=True)
                               for k in range(len(model.outputs))}
        self._model_detector_columns = [(j, d.name) for j, d in enumerate(self.detectors) if d.kind == "model"]
        self._observe_lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, *, log: str | Path | DecisionLogWriter | None = None,
             baseline_dir: str | Path | None = None) -> Engine:
        """Open and verify a bundle.

        ``log`` is a decision-log directory (or writer) to append to;
        ``baseline_dir`` a durable store that ``observe`` updates (created
        from the bundle's snapshot when absent). Without it the baselines live
        in memory, starting from the bundle's snapshot.
        """
        bundle = Bundle.open(path, schema_hash=REGISTRY.schema_hash())
        if log is not None and not isinstance(log, DecisionLogWriter):
            log = DecisionLogWriter(log)
        return cls(bundle, log=log, baseline_dir=baseline_dir)

    # -- scoring -----------------------------------------------------------

    def score(self, item: bytes | Message | dict, *, tenant: str = "default", message_id: str | None = None,
              time: float | None = None) -> Verdict:
        """Score one message (raw RFC 5322 bytes, a Message, or an MDM dict)."""
        scored = self.score_messages([to_message(item)], tenants=[tenant],
                                     ids=[message_id or "0"], times=None if time is None else [time])
        return self.verdicts(scored)[0]

    def score_batch(self, items: Iterable[bytes | Message | dict] | pa.Table, *, tenant: str = "default",
                    ids: Sequence[str] | None = None, sources: Sequence[str] | None = None) -> pa.Table:
        """Score many messages; returns decision records (DECISION_LOG_SCHEMA) as an Arrow table.

        ``items`` is an iterable of raw bytes / Message / dict, or an Arrow table
        with a ``raw`` binary column (or an ``mdm`` JSON string column) and
        optional ``message_id``, ``tenant``, ``time`` and ``source`` columns.
        """
        if isinstance(items, pa.Table):
            messages, ids, tenants, times, sources = _from_table(items, tenant)
        else:
            messages = [to_message(x) for x in items]
            tenants = [tenant] * len(messages)
            times = None
        scored = self.score_messages(messages, tenants=tenants, ids=ids, times=times)
        return self.records(scored, sources=sources)

    def score_messages(self, messages: Sequence[Message], *, tenants: Sequence[str],
                       ids: Sequence[str] | None = None, times: Sequence[float] | None = None) -> ScoredBatch:
        batch = MessageBatch.from_messages(messages, ids)
        times_arr = _arrival_times(batch, times)
        context = ScoringContext(tenants=list(tenants), times=times_arr, tenant_configs=self.tenant_configs,
                                 baseline=self.baseline)
        features = REGISTRY.compute(batch, context)
        rule_hits = self.rules.evaluate(batch, context, features)
        model_scores = self._model_scorer.predict(features, self._has_context(tenants))
        scores = np.concatenate((rule_hits.astype(np.float64), model_scores), axis=1)
        list_keys = _list_keys(batch) if self.policy.uses_lists(tenants) else np.zeros((len(batch), 3), np.uint64)
        decisions = self.policy.decide(scores, list(tenants), list_keys, _dmarc_failed(batch))
        contributions = self._contributions(features, decisions)
        return ScoredBatch(batch.ids, list(tenants), times_arr, features, scores, decisions, contributions)

    def _predict_models(self, features: np.ndarray) -> np.ndarray:
        """float64 (messages x model detectors): every model on every row."""
        return self._model_scorer.predict(features)

    def _has_context(self, tenants: Sequence[str]) -> np.ndarray:
        """Per message: does its tenant have an organisation context (own domains)?"""
        known = {t: bool(getattr(self.tenant_configs.get(t), "own_domains", None)) for t in set(tenants)}
        return np.array([known[t] for t in tenants], dtype=bool)

    def observe(self, messages: Sequence[Message], *, tenants: Sequence[str], times: Sequence[float] | None = None,
                verdicts: Sequence[str] | None = None) -> None:
        """Feed delivered messages (and final verdicts when known) to the behavioral baselines."""
        if self.baseline is None:
            return
        from pyscore.baseline.events import event_rows

        batch = MessageBatch.from_messages(messages)
        events = event_rows(batch, list(tenants), times=_arrival_times(batch, times),
                            tenant_configs=self.tenant_configs, verdicts=verdicts, lookup_only=True)
        with self._observe_lock:
            self.baseline.observe(events)

    # -- results -----------------------------------------------------------

    def verdicts(self, scored: ScoredBatch) -> list[Verdict]:
        out = []
        model_cols = self._model_detector_columns
        for i in range(len(scored.ids)):
            row = scored.decisions.row(i)
            scores = scored.scores[i].tolist()
            out.append(Verdict(
                message_id=scored.ids[i], tenant=scored.tenants[i], verdict=row["verdict"],
                category=row["category"], action=row["action"], score=row["score"],
                deciding_detector=row["deciding_detector"], reason=row["reason"], fired=row["fired"],
                shadow_fired=row["shadow_fired"],
                model_scores={name: scores[j] for j, name in model_cols if not math.isnan(scores[j])},  # NaN: did not run
                contributions=scored.contributions[i],
            ))
        return out

    def records(self, scored: ScoredBatch, *, sources: Sequence[str] | None = None) -> pa.Table:
        """Decision-log records for a scored batch; appended to the log when one is open."""
        dets = self.detectors
        thresholds = [[d.threshold for d in dets] for _ in scored.ids]
        tenant_policies = {t: self.policy.policy.tenant(t) for t in set(scored.tenants)}
        for i, t in enumerate(scored.tenants):
            over = tenant_policies[t].thresholds
            thresholds[i] = [float(over.get(d.name, d.threshold)) for d in dets]
        rows = []
        for i, mid in enumerate(scored.ids):
            row = scored.decisions.row(i)
            rows.append({
                "message_id": mid, "tenant": scored.tenants[i], "time": float(scored.times[i]),
                "source": sources[i] if sources is not None else "",
                "verdict": row["verdict"], "category": row["category"], "action": row["action"],
                "score": row["score"], "deciding_detector": row["deciding_detector"],
                "fired": row["fired"], "shadow_fired": row["shadow_fired"],
                "detector_scores": [
                    {"detector": d.name, "score": float(scored.scores[i, j]), "threshold": thresholds[i][j],
                     "category": d.category, "kind": d.kind}
                    for j, d in enumerate(dets)
                ],
                "contributions": scored.contributions[i],
                "bundle_version": self.bundle.version,
            })
        table = pa.Table.from_pylist(rows, schema=DECISION_LOG_SCHEMA)
        if self.log is not None:
            self.log.append(table)
        return table

    def _contributions(self, features: np.ndarray, decisions: Decisions) -> list[list[dict[str, Any]]]:
        """Top feature contributions of the deciding model, for rows a model decided."""
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(decisions))]
        deciding = np.asarray(decisions.deciding)
        model_rows = np.flatnonzero(deciding >= self.rules.count)
        if not len(model_rows):  # the common case: a rule decided, or nothing did
            return out
        names = self.signal_names
        for column in np.unique(deciding[model_rows]).tolist():
            model, k = self._model_columns[column]
            rows = model_rows[deciding[model_rows] == column]
            for r, top in zip(rows, model.top_contributions(features[rows], TOP_CONTRIBUTIONS, k), strict=True):
                out[r] = [{"signal": names[f], "value": float(features[r, f]), "contribution": c} for f, c in top]
        return out


def to_message(item: bytes | bytearray | memoryview | Message | dict) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, bytes | bytearray | memoryview):
        return parse(bytes(item))
    if isinstance(item, dict):
        return Message.from_dict(item)
    raise TypeError(f"cannot score a {type(item).__name__}: pass raw bytes, a Message or an MDM dict")


def _tenant_configs(raw: dict[str, Any]) -> dict[str, Any]:
    from pyscore.signals.tenant import TenantConfig

    return {name: TenantConfig.from_dict({"tenant_id": name, **cfg}) for name, cfg in raw.items()}


def _arrival_times(batch: MessageBatch, times: Sequence[float] | None) -> np.ndarray:
    """Given arrival times where known, else the Date header, else now (epoch seconds)."""
    out = np.asarray(batch.column("headers.date"), dtype=np.float64).copy()
    if times is not None:
        given = np.asarray(times, dtype=np.float64)
        if given.shape != (len(batch),):
            raise ValueError(f"times has {given.shape} entries for {len(batch)} messages")
        out = np.where(np.isnan(given), out, given)
    out[np.isnan(out)] = _time.time()
    return out


def _list_keys(batch: MessageBatch) -> np.ndarray:
    """Keys tested against allow / block lists: sender address, domain and root domain."""
    cols = [batch.column(p).to_list() for p in
            ("sender.email.email", "sender.email.domain.domain", "sender.email.domain.root_domain")]
    return np.array([[list_key(v) for v in row] for row in zip(*cols, strict=True)],
                    dtype=np.uint64).reshape(len(batch), 3)


def _dmarc_failed(batch: MessageBatch) -> np.ndarray:
    dmarc = np.asarray(batch.column("headers.auth_summary.dmarc.pass"))
    return (dmarc == 0.0).astype(np.uint8)  # NaN (unknown) is not a failure


def _from_table(table: pa.Table, tenant: str):
    n = table.num_rows
    if "raw" in table.column_names:
        messages = [parse(b or b"") for b in table.column("raw").to_pylist()]
    elif "mdm" in table.column_names:
        import json

        messages = [Message.from_dict(json.loads(s)) for s in table.column("mdm").to_pylist()]
    else:
        raise ValueError("an input table needs a 'raw' (binary) or 'mdm' (JSON string) column")
    col = lambda name, default: table.column(name).to_pylist() if name in table.column_names else default  # noqa: E731
    ids = [str(x) for x in col("message_id", [str(i) for i in range(n)])]
    tenants = [t or tenant for t in col("tenant", [tenant] * n)]
    times = col("time", None)
    if times is not None:
        times = [math.nan if t is None else float(t) for t in times]
    return messages, ids, tenants, times, col("source", None)
