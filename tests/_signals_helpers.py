"""Helpers shared by the tests/test_signals_*.py files: build small messages, read signals."""

from __future__ import annotations

import numpy as np

from pyscore.batch import MessageBatch
from pyscore.domains import make_domain, make_url
from pyscore.message import EmailAddress, Link, Mailbox, Message
from pyscore.signals import REGISTRY, compute_features
from pyscore.signals.reference import reference_features, reference_names
from pyscore.signals.registry import ScoringContext


def mailbox(address: str, name: str = "") -> Mailbox:
    local, _, domain = address.partition("@")
    return Mailbox(email=EmailAddress(address.lower(), local, make_domain(domain)), display_name=name)


def link(url: str, text: str = "", source: str = "html") -> Link:
    return Link(href_url=make_url(url), display_text=text, source=source)


def signals(messages: list[Message], tenant: str = "", configs: dict | None = None) -> dict[str, np.ndarray]:
    """name -> values over the messages, from the kernels; asserts the reference agrees."""
    batch = MessageBatch.from_messages(messages)
    context = ScoringContext(tenants=[tenant] * len(messages), times=np.zeros(len(messages)),
                             tenant_configs=configs or {})
    matrix = compute_features(batch, context)
    names = reference_names()
    expected = reference_features(messages, context)
    np.testing.assert_allclose(matrix[:, : len(names)], expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    return {name: matrix[:, i] for i, name in enumerate(REGISTRY.names)}


def one(message: Message, tenant: str = "", configs: dict | None = None) -> dict[str, float]:
    return {k: float(v[0]) for k, v in signals([message], tenant, configs).items()}
