"""Tests of the engine end to end: a small simulated organisation -> bundle -> verdicts and logs."""

from __future__ import annotations

import json
import threading

import numpy as np
import pyarrow as pa
import pytest

from pyscore import pipeline
from pyscore.bundle import BundleError
from pyscore.decisionlog import read_log
from pyscore.engine import Engine, Verdict
from pyscore.logschema import DECISION_LOG_SCHEMA
from pyscore.mime import parse

BEC = (
    b"From: \"Chief Executive\" <ceo.private@gmail.com>\r\nTo: ap@acme.example\r\n"
    b"Subject: urgent payment\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <bec1@gmail.com>\r\n\r\n"
    b"I need you to process a wire transfer of $48,000 today. Keep this confidential.\r\n"
)
SAFE = (
    b"From: Bob <bob@acme.example>\r\nTo: ap@acme.example\r\nSubject: lunch\r\n"
    b"Date: Mon, 02 Mar 2026 11:00:00 +0000\r\nMessage-ID: <s1@acme.example>\r\n\r\nLunch at noon?\r\n"
)


@pytest.fixture(scope="module")
def bundle_path(small_bundle):
    return small_bundle


@pytest.fixture(scope="module")
def engine(bundle_path):
    return Engine.load(bundle_path)


def test_bundle_carries_rules_models_and_baseline(engine):
    kinds = {d.kind for d in engine.detectors}
    assert kinds == {"rule", "model"}
    assert engine.baseline is not None
    assert engine.rules.count == 2


def test_rule_decides_and_shadow_is_reported(engine):
    v = engine.score(BEC, tenant="default", message_id="bec1")
    assert isinstance(v, Verdict)
    assert v.category == "bec" and v.action == "quarantine" and v.verdict == "malicious"
    assert v.deciding_detector == "Test: wire transfer request from free mail"
    assert "Test: shadow wire" in v.shadow_fired and "Test: shadow wire" not in v.fired
    # tenant "default" has no organisation context: only the models that read no history ran
    assert set(v.model_scores) == {d.name for m in engine.models if not m.reads_history for d in m.detectors()}
    mine = engine.score(BEC, tenant=next(t for t, c in engine.tenant_configs.items() if c.own_domains))
    assert set(mine.model_scores) == {d.name for d in engine.detectors if d.kind == "model"}


def test_safe_message_is_delivered(engine):
    v = engine.score(SAFE)
    assert v.action in ("deliver", "banner") and v.reason in ("default", "detector")
    assert "Test: wire transfer request from free mail" not in v.fired


def test_bytes_message_and_dict_give_the_same_verdict(engine):
    m = parse(BEC)
    by_bytes = engine.score(BEC, time=1.0e9)
    by_message = engine.score(m, time=1.0e9)
    by_dict = engine.score(json.loads(json.dumps(m.to_dict())), time=1.0e9)
    assert by_bytes == by_message == by_dict


def test_block_list_from_policy(engine):
    raw = SAFE.replace(b"bob@acme.example", b"x@blocked.example")
    v = engine.score(raw)
    assert v.reason == "block_list" and v.action == "junk"


def test_score_batch_from_table_and_iterable(engine):
    table = pa.table({"message_id": ["a", "b"], "raw": [BEC, SAFE], "tenant": ["default", "default"],
                      "time": [1.0e9, 1.0e9]})
    out = engine.score_batch(table)
    assert out.schema.equals(DECISION_LOG_SCHEMA)
    assert out.column("message_id").to_pylist() == ["a", "b"]
    assert out.column("category").to_pylist()[0] == "bec"
    again = engine.score_batch([BEC, SAFE], ids=["a", "b"])
    assert again.column("category").to_pylist() == out.column("category").to_pylist()
    with pytest.raises(ValueError, match="'raw'"):
        engine.score_batch(pa.table({"x": [1]}))
    with pytest.raises(TypeError, match="cannot score a int"):
        engine.score(42)


def test_model_contributions_name_signals(engine, bundle_path):
    names = engine.signal_names
    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    scored = engine.score_messages(test.messages, tenants=test.tenants, ids=test.ids, times=test.times)
    model_rows = [i for i, d in enumerate(scored.decisions.deciding)
                  if d >= 0 and engine.detectors[d].kind == "model"]
    assert model_rows, "the test bundle's models decide no message: nothing to check"
    for i in model_rows:
        contrib = scored.contributions[i]
        assert contrib and all(c["signal"] in engine_signal_names() for c in contrib)
        assert len(contrib) == 5 and all(c["value"] == scored.features[i, names.index(c["signal"])]
                                          or np.isnan(c["value"]) for c in contrib)
    rule_rows = [i for i, d in enumerate(scored.decisions.deciding) if d < engine.rules.count]
    assert all(scored.contributions[i] == [] for i in rule_rows)
    assert scored.features.shape == (len(test.rows), len(engine_signal_names()))


def engine_signal_names():
    from pyscore.signals import REGISTRY

    return set(REGISTRY.names)


def test_two_threads_get_identical_results(engine, bundle_path):
    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    results = [None, None]

    def work(k):
        scored = engine.score_messages(test.messages, tenants=test.tenants, ids=test.ids, times=test.times)
        results[k] = scored.scores

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results[0], results[1])


def test_observe_changes_sender_history(engine):
    fresh = Engine.load(engine.bundle.path)
    raw = BEC
    before = fresh.score_messages([parse(raw)], tenants=["default"], times=[2.0e9]).features
    fresh.observe([parse(raw)] * 3, tenants=["default"] * 3, times=[1.9e9] * 3)
    after = fresh.score_messages([parse(raw)], tenants=["default"], times=[2.0e9]).features
    assert not np.array_equal(np.nan_to_num(before, nan=-1), np.nan_to_num(after, nan=-1))


def test_decision_log_records_everything(bundle_path, tmp_path):
    eng = Engine.load(bundle_path, log=tmp_path / "log")
    eng.score_batch([BEC, SAFE], ids=["x1", "x2"])
    eng.log.close()
    table = read_log(tmp_path / "log")
    assert sorted(table.column("message_id").to_pylist()) == ["x1", "x2"]
    row = table.to_pylist()[sorted(table.column("message_id").to_pylist()).index("x1")]
    assert row["deciding_detector"] and len(row["detector_scores"]) == len(eng.detectors)


def test_tampered_bundle_is_refused(bundle_path, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle_path, copy)
    (copy / "policy.yml").write_text("tenants: {}\n")
    with pytest.raises(BundleError, match="policy.yml: checksum mismatch"):
        Engine.load(copy)


def test_cli_score_prints_one_json_line_per_message(bundle_path, tmp_path, capsys):
    from pyscore.cli import main

    (tmp_path / "bec.eml").write_bytes(BEC)
    (tmp_path / "safe.eml").write_bytes(SAFE)
    assert main(["score", "--bundle", str(bundle_path), str(tmp_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_id = {line["id"].rsplit("/", 1)[-1]: line for line in lines}
    assert by_id["bec.eml"]["category"] == "bec" and by_id["bec.eml"]["action"] == "quarantine"
    assert set(by_id["bec.eml"]) == {"id", "verdict", "category", "action", "score", "deciding_detector", "fired",
                                     "shadow_fired"}


def test_cli_eval_prints_metrics_and_writes_report(bundle_path, tmp_path, capsys):
    from pyscore.cli import main

    report = tmp_path / "report.html"
    assert main(["eval", "--bundle", str(bundle_path), "--dataset", str(bundle_path.parent / "data"),
                 "--log", str(tmp_path / "log"), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "By category" in out and "credential_phishing" in out
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert read_log(tmp_path / "log").num_rows > 0


def test_cli_score_missing_bundle_is_a_clear_error(tmp_path, capsys):
    from pyscore.cli import main

    (tmp_path / "m.eml").write_bytes(SAFE)
    assert main(["score", "--bundle", str(tmp_path / "nope"), str(tmp_path / "m.eml")]) == 2
    assert "not a bundle" in capsys.readouterr().err


def test_detector_below_target_precision_ships_in_shadow_mode(bundle_path, tmp_path):
    """make_bundle puts the detectors the pipeline names (validation missed the target) in shadow."""
    engine = Engine.load(bundle_path)
    model_names = [d.name for d in engine.detectors if d.kind == "model"]
    files = [(p.relative_to(bundle_path).as_posix(), p) for p in engine.bundle.files_under("models")]
    rebuilt = pipeline.make_bundle(
        tmp_path / "b", configs={}, model_files=files, baseline_store=None, rules_dir=None, policy_path=None,
        metadata={}, shadow_detectors=[model_names[0]])
    modes = {d.name: d.mode for d in Engine.load(rebuilt.path).policy.detectors}
    assert modes[model_names[0]] == "shadow"
    assert all(modes[n] == "active" for n in model_names[1:])


def test_demo_runs_twice_in_the_same_folder(tmp_path, capsys):
    """The main job replaces its own earlier outputs instead of refusing to run again."""
    for _ in range(2):
        pipeline.run_demo(tmp_path / "demo", orgs=1, weeks=2, seed=1, progress=lambda m: None)
    out = capsys.readouterr().out
    assert out.count("metrics on the held-out (test) split") == 2
    assert (tmp_path / "demo" / "synth-report.html").read_text().startswith("<!DOCTYPE html>")


def test_history_models_run_only_where_the_tenant_has_an_organisation_context(engine, bundle_path):
    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    messages, tenants = test.messages[:50], test.tenants[:50]
    assert all(engine.tenant_configs[t].own_domains for t in tenants)
    history = [m for m in engine.models if m.reads_history]
    assert history and any(not m.reads_history for m in engine.models)  # identity and content models
    columns = {d.name: j for j, d in enumerate(engine.detectors)}
    history_cols = [columns[d.name] for m in history for d in m.detectors()]
    own = engine.score_messages(messages, tenants=tenants)
    elsewhere = engine.score_messages(messages, tenants=["default"] * len(messages))
    assert np.isfinite(own.scores[:, history_cols]).all()
    assert np.isnan(elsewhere.scores[:, history_cols]).all()
    other_cols = [j for j in range(engine.rules.count, len(engine.detectors)) if j not in history_cols]
    assert np.isfinite(elsewhere.scores[:, other_cols]).all()
    assert not elsewhere.decisions.fired[:, history_cols].any()


def test_all_forests_in_one_call_equal_each_model_alone(engine, bundle_path):
    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    scored = engine.score_messages(test.messages[:40], tenants=test.tenants[:40])
    X = scored.features
    alone = np.concatenate([m.predict(X) for m in engine.models], axis=1)
    np.testing.assert_array_equal(alone, engine._predict_models(X))
    for i in (0, 17):  # one row: the fast-call path
        alone = np.concatenate([m.predict(X[i:i + 1]) for m in engine.models], axis=1)
        np.testing.assert_array_equal(alone, engine._predict_models(X[i:i + 1]))


def test_history_models_skipped_without_context_score_the_rest_unchanged(engine, bundle_path):
    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    X = engine.score_messages(test.messages[:30], tenants=test.tenants[:30]).features
    scorer = engine._model_scorer
    assert scorer.history_columns.size  # the fixture bundle has an identity model
    every = scorer.predict(X)
    for rows in (X, X[:1]):  # a batch and the one-row path
        without = scorer.predict(rows, np.zeros(len(rows), dtype=bool))
        assert np.isnan(without[:, scorer.history_columns]).all()
        others = np.setdiff1d(np.arange(scorer.n_detectors), scorer.history_columns)
        np.testing.assert_array_equal(without[:, others], every[: len(rows), others])
    mixed = scorer.predict(X, np.arange(len(X)) % 2 == 0)
    np.testing.assert_array_equal(mixed[::2], every[::2])
    assert np.isnan(mixed[1::2, scorer.history_columns]).all()


def test_only_history_models_without_context_score_nan(engine, bundle_path):
    from pyscore.engine_parts import ModelScorer

    test = pipeline.load_split(bundle_path.parent / "data", "test", progress=lambda m: None)
    X = engine.score_messages(test.messages[:5], tenants=test.tenants[:5]).features
    history = [m for m in engine.models if m.reads_history]
    scorer = ModelScorer(history, X.shape[1])
    without = scorer.predict(X, np.zeros(len(X), dtype=bool))
    assert without.shape == (len(X), sum(len(m.outputs) for m in history)) and np.isnan(without).all()
    assert np.isfinite(scorer.predict(X, np.ones(len(X), dtype=bool))).all()
