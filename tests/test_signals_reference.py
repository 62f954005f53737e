"""The Numba kernels against the pure-Python reference: thousands of generated messages
(every tenant situation), batch-size independence, and real corpus messages when present."""

import random

import numpy as np
import pytest

from pyscore.batch import MessageBatch
from pyscore.signals import REGISTRY, compute_features
from pyscore.signals.reference import reference_features, reference_names
from pyscore.signals.registry import ScoringContext
from pyscore.signals.sample import random_messages, sample_tenants


def _context(n: int, seed: int) -> ScoringContext:
    r = random.Random(seed)
    tenants = [r.choice(("acme", "other", "unknown")) for _ in range(n)]
    return ScoringContext(tenants=tenants, times=np.zeros(n), tenant_configs=sample_tenants())


def _assert_agree(matrix: np.ndarray, expected: np.ndarray) -> None:
    names = reference_names()
    for j, name in enumerate(names):
        got, want = matrix[:, j], expected[:, j]
        ok = np.isclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise AssertionError(f"{name}: kernel {got[i]} != reference {want[i]} on message {i}")


@pytest.mark.parametrize("seed", [1, 2])
def test_kernels_agree_with_reference_on_generated_messages(seed):
    messages = random_messages(1000, seed=seed)
    context = _context(len(messages), seed)
    matrix = compute_features(MessageBatch.from_messages(messages), context)
    _assert_agree(matrix, reference_features(messages, context))
    # the generator really exercises the signals: most columns are non-zero somewhere
    own = matrix[:, : len(reference_names())]
    assert (np.nan_to_num(own) != 0).any(axis=0).mean() > 0.97


def test_batch_size_does_not_change_values():
    messages = random_messages(60, seed=7)
    context = _context(len(messages), 7)
    whole = compute_features(MessageBatch.from_messages(messages), context)
    for i in range(0, 60, 7):
        sub = ScoringContext(tenants=context.tenants[i:i + 1], times=context.times[i:i + 1],
                             tenant_configs=context.tenant_configs)
        one = compute_features(MessageBatch.from_messages(messages[i:i + 1]), sub)
        np.testing.assert_array_equal(one[0], whole[i])


def test_feature_matrix_shape_and_dtype():
    messages = random_messages(5, seed=3)
    matrix = compute_features(MessageBatch.from_messages(messages))
    assert matrix.shape == (5, len(REGISTRY.names))
    assert matrix.dtype == np.float32


@pytest.mark.corpora
def test_kernels_agree_on_real_messages(corpora_dir):
    mime = pytest.importorskip("pyscore.mime")
    from pyscore.corpus import CorpusReader

    messages = []
    for name in ("phishing_pot.tar.xz", "linux_mips.tar.xz", "enron.tar.xz", "spamassassin.tar.xz"):
        for k, (_, raw) in enumerate(CorpusReader([corpora_dir / name])):
            if k >= 150:
                break
            messages.append(mime.parse(raw))
    context = ScoringContext(tenants=[""] * len(messages), times=np.zeros(len(messages)))
    matrix = compute_features(MessageBatch.from_messages(messages), context)
    _assert_agree(matrix, reference_features(messages, context))
