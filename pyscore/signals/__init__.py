"""This module contains the default signal registry and ``compute_features``.

Groups register in a fixed order (the column order of the feature matrix):
content, links, attachments, headers, identity, then the behavioral baseline
group from ``pyscore.baseline.signals`` when that module is present.
"""

from __future__ import annotations

import numpy as np

from pyscore.batch import MessageBatch
from pyscore.signals.registry import ScoringContext, Signal, SignalGroup, SignalRegistry

__all__ = ["REGISTRY", "ScoringContext", "Signal", "SignalGroup", "SignalRegistry", "build_registry",
           "compute_features", "default_context"]


def _baseline_groups() -> list[SignalGroup]:
    from pyscore.baseline import signals as baseline_signals

    return [baseline_signals.baseline_signal_group()]


def build_registry(*, include_baseline: bool = True) -> SignalRegistry:
    """A registry of all signal groups in their fixed order."""
    from pyscore.signals import attachments, content, headers, identity, links

    registry = SignalRegistry()
    for module in (content, links, attachments, headers, identity):
        registry.register(module.group())
    if include_baseline:
        for group in _baseline_groups():
            registry.register(group)
    return registry


_REGISTRY: SignalRegistry | None = None


def __getattr__(name: str):
    # REGISTRY is built on first use, not at import: pyscore.baseline.signals
    # imports this package's registry module, and building the registry at
    # import time would import it back half-initialised whenever the baseline
    # package is imported first.
    global _REGISTRY
    if name == "REGISTRY":
        if _REGISTRY is None:
            _REGISTRY = build_registry()
        return _REGISTRY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_context(batch: MessageBatch, tenant: str = "", tenant_configs: dict | None = None) -> ScoringContext:
    """A context putting every message of the batch in one tenant, at its Date (or NaN)."""
    times = np.asarray(batch.column("headers.date"), dtype=np.float64)
    return ScoringContext(tenants=[tenant] * len(batch), times=times, tenant_configs=tenant_configs or {})


def compute_features(batch: MessageBatch, context: ScoringContext | None = None) -> np.ndarray:
    """The float32 feature matrix (messages x REGISTRY.names), NaN where not available."""
    if context is None:
        context = default_context(batch)
    if len(context.tenants) != len(batch):
        raise ValueError(f"context has {len(context.tenants)} tenants for {len(batch)} messages")
    return __getattr__("REGISTRY").compute(batch, context)
