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
