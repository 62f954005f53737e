"""The default registry: size, names, schema hash, tenant configs, no date- or corpus-bound signals."""

import pytest

from pyscore.signals import REGISTRY, build_registry
from pyscore.signals.tenant import TenantConfig, config_for


def test_registry_has_the_families_and_enough_signals():
    own = [g for g in REGISTRY.groups if g.name != "baseline"]
    assert [g.name for g in own] == ["content", "links", "attachments", "headers", "identity"]
    assert sum(len(g.signals) for g in own) >= 120
    names = REGISTRY.names
    assert len(names) == len(set(names))


def test_baseline_group_comes_last_when_present():
    groups = [g.name for g in REGISTRY.groups]
    if "baseline" in groups:
        assert groups[-1] == "baseline"
    assert [g.name for g in build_registry(include_baseline=False).groups][-1] == "identity"


def test_schema_hash_is_stable_and_order_sensitive():
    assert REGISTRY.schema_hash() == build_registry().schema_hash()
    assert len(REGISTRY.schema_hash()) == 64


def test_no_signal_reads_absolute_time_or_corpus_artefacts():
    for s in REGISTRY.signals:
        assert not any(word in s.name for word in ("year", "epoch", "timestamp", "pot", "x_folder", "x_from"))
        assert s.doc


def test_tenant_config_from_dict():
    c = TenantConfig.from_dict({"tenant_id": "t", "own_domains": ["Acme.COM"], "vips": ["Jane Doe"],
                                "brands": {"contoso": ["contoso.com"]}, "extra_lists": {"free_mail": ["x.org"]}})
    assert c.own_domains == ("acme.com",)
    assert c.vips[0].name == "Jane Doe" and c.vips[0].address == ""
    assert c.brands == (("contoso", ("contoso.com",)),)
    assert c.extra("free_mail") == ("x.org",)
    assert config_for({"t": {"own_domains": ["a.com"]}}, "t").own_domains == ("a.com",)
    assert config_for({}, "nobody").own_domains == ()


@pytest.mark.parametrize(("data", "error"), [
    ({"own_domains": []}, "tenant_id"),
    ({"tenant_id": "t", "own_domain": []}, "unknown field"),
    ({"tenant_id": "t", "own_domains": "a.com"}, "own_domains must be a list"),
    ({"tenant_id": "t", "vips": [{"address": "x@y"}]}, r"vips\[0\] needs a non-empty 'name'"),
    ({"tenant_id": "t", "brands": {"pay pal": ["x.com"]}}, "brand key"),
    ({"tenant_id": "t", "extra_lists": {"shorteners_x": []}}, "extra_lists.shorteners_x"),
])
def test_tenant_config_errors(data, error):
    with pytest.raises(ValueError, match=error):
        TenantConfig.from_dict(data)


def test_data_files_keep_hash_signs_inside_entries():
    from pyscore.signals.lists import html_tricks

    assert ";color:#fff" in html_tricks()["white_text"]


def _sample_batch():
    import numpy as np

    from pyscore.batch import MessageBatch
    from pyscore.signals.registry import ScoringContext
    from pyscore.signals.sample import random_messages, sample_tenants

    messages = random_messages(12, seed=21)
    tenants = sample_tenants()
    ids = sorted(tenants)
    context = ScoringContext(tenants=[ids[i % len(ids)] for i in range(len(messages))],
                             times=np.zeros(len(messages)), tenant_configs=tenants)
    return MessageBatch.from_messages(messages), context


def test_one_joint_call_equals_each_group_alone():
    """The fused call over all groups gives what each group's own compute gives."""
    import numpy as np

    registry = build_registry(include_baseline=False)
    batch, context = _sample_batch()
    whole = registry.compute(batch, context)
    start = 0
    for group in registry.groups:
        block = np.full((len(batch), len(group.signals)), np.nan, dtype=np.float32)
        group.compute(batch, context, block)
        np.testing.assert_array_equal(whole[:, start:start + len(group.signals)], block, err_msg=group.name)
        strided = np.full((len(batch), len(group.signals) + 3), np.nan, dtype=np.float32)[:, 1:-2]
        group.compute(batch, context, strided)  # a non-contiguous block is filled through a copy
        np.testing.assert_array_equal(strided, block, err_msg=group.name)
        start += len(group.signals)


def test_compute_blocks_follows_a_starts_dict_changed_in_place():
    """compute_blocks remembers the last starts dict it saw: changing that same dict must
    not reuse the old block layout."""
    import numpy as np

    from pyscore.signals import fused

    registry = build_registry(include_baseline=False)
    batch, context = _sample_batch()
    groups = {g.name: g for g in registry.groups}
    width = max(len(g.signals) for g in groups.values())
    starts = {"content": 0}
    for name in ("content", "links", "identity"):
        starts.clear()
        starts[name] = 0
        out = np.full((len(batch), width), np.nan, dtype=np.float32)
        fused.compute_blocks(batch, context, out, starts)
        block = np.full((len(batch), len(groups[name].signals)), np.nan, dtype=np.float32)
        groups[name].compute(batch, context, block)
        np.testing.assert_array_equal(out[:, :block.shape[1]], block, err_msg=name)


def test_neighbouring_groups_with_one_joint_are_computed_in_one_call():
    import numpy as np

    from pyscore.signals.registry import Signal, SignalGroup, SignalRegistry

    calls = []

    def joint(batch, context, out, starts):
        calls.append(dict(starts))
        for name, start in starts.items():
            out[:, start] = float(len(name))

    def alone(batch, context, out):
        out[:] = 7.0

    def sig(name):
        return Signal(name, "message", "count", "test")

    registry = SignalRegistry()
    registry.register(SignalGroup("ab", (sig("a"), sig("b")), alone, joint=joint))
    registry.register(SignalGroup("c", (sig("c"),), alone, joint=joint))
    registry.register(SignalGroup("d", (sig("d"),), alone))
    batch, context = _sample_batch()
    out = registry.compute(batch, context)
    assert calls == [{"ab": 0, "c": 2}]
    assert out[0, 0] == 2 and np.isnan(out[0, 1]) and out[0, 2] == 1 and out[0, 3] == 7


def test_a_batch_without_a_needed_column_is_refused_by_name():
    import numpy as np

    from pyscore.batch import MessageBatch
    from pyscore.signals import compute_features

    batch, context = _sample_batch()
    columns = {p: c for p, c in batch.columns.items() if p != "headers.mailer"}
    partial = MessageBatch(batch.ids, columns, dict(batch.lists))
    with pytest.raises(KeyError, match="headers.mailer"):
        compute_features(partial, context)
    assert np.isfinite(compute_features(batch, context)).any()
