"""Tests of bundles: round trip, and refusal of tampered, incomplete or mismatched ones."""

from __future__ import annotations

import json

import pytest

from pyscore.bundle import MANIFEST, Bundle, BundleError, write_bundle


@pytest.fixture
def bundle(tmp_path):
    rule = tmp_path / "r.yml"
    rule.write_text("name: test rule\nsource: subject.subject == 'x'\n")
    model = tmp_path / "m.bin"
    model.write_bytes(b"\x00\x01model")
    return write_bundle(
        tmp_path / "bundle", schema_hash="abc123", policy_text="version: 1\n",
        tenants={"acme": {"own_domains": ["acme.example"]}},
        files=[("rules/r.yml", rule), ("models/m.bin", model)],
    )


def test_round_trip(bundle):
    b = Bundle.open(bundle.path, schema_hash="abc123")
    assert b.tenants() == {"acme": {"own_domains": ["acme.example"]}}
    assert [p.name for p in b.files_under("rules")] == ["r.yml"]
    assert b.file("models/m.bin").read_bytes() == b"\x00\x01model"
    assert b.manifest["pyscore_version"] and b.manifest["created"] and len(b.version) == 16


def test_tampered_file_is_refused(bundle):
    (bundle.path / "rules" / "r.yml").write_text("name: evil\n")
    with pytest.raises(BundleError, match=r"r\.yml: checksum mismatch"):
        Bundle.open(bundle.path)


def test_missing_and_unlisted_files_are_refused(bundle):
    (bundle.path / "extra.py").write_text("import os\n")
    with pytest.raises(BundleError, match=r"extra\.py: not listed"):
        Bundle.open(bundle.path)
    (bundle.path / "extra.py").unlink()
    (bundle.path / "models" / "m.bin").unlink()
    with pytest.raises(BundleError, match=r"m\.bin: listed in the manifest but missing"):
        Bundle.open(bundle.path)


def test_schema_and_format_mismatch_are_refused(bundle):
    with pytest.raises(BundleError, match="signal schema abc123"):
        Bundle.open(bundle.path, schema_hash="other")
    manifest = json.loads((bundle.path / MANIFEST).read_text())
    manifest["format_version"] = 99
    (bundle.path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format 99 is not supported"):
        Bundle.open(bundle.path)
    (bundle.path / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="corrupt manifest"):
        Bundle.open(bundle.path)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a bundle"):
        Bundle.open(tmp_path)


def test_failed_write_leaves_old_bundle_and_no_temp(bundle, tmp_path):
    with pytest.raises(BundleError, match="bad bundle path"):
        write_bundle(bundle.path, schema_hash="zzz", policy_text="", tenants={}, files=[("../x", tmp_path / "r.yml")])
    assert Bundle.open(bundle.path).schema_hash == "abc123"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]


def test_rewrite_replaces_bundle(bundle):
    new = write_bundle(bundle.path, schema_hash="def456", policy_text="version: 1\n", tenants={})
    assert Bundle.open(new.path).schema_hash == "def456"
    assert not (new.path / "rules").exists()
