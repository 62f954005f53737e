"""Tests of training, model files, compiled directories and the train/compile commands."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pyscore.models.modelfile import (
    compile_model,
    load_compiled,
    load_model,
    save_compiled,
    save_model,
)
from pyscore.models.train import (
    TrainConfig,
    TrainingData,
    choose_threshold,
    load_training_data,
    time_split,
    train_detectors,
)

SCHEMA = "f" * 64


def test_choose_threshold_reaches_target_with_most_alerts():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0], dtype=bool)
    s = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.3, 0.2, 0.1])
    choice = choose_threshold(y, s, 1.0)
    assert choice.threshold == 0.7 and choice.target_met and choice.alerts == 3 and choice.recall == 0.75
    lower = choose_threshold(y, s, 0.8)
    assert lower.threshold == 0.6 and lower.precision == 0.8


def test_choose_threshold_ties_and_unreachable_target():
    y = np.array([1, 0, 1, 0], dtype=bool)
    s = np.array([0.5, 0.5, 0.4, 0.1])  # the top score is shared by a positive and a negative
    choice = choose_threshold(y, s, 0.99)
    assert not choice.target_met and choice.precision == pytest.approx(2 / 3)
    none = choose_threshold(np.zeros(3, bool), np.array([0.1, 0.2, 0.3]), 0.9)
    assert math.isnan(none.threshold) and not none.target_met


def test_time_split_holds_out_the_latest_rows():
    t = np.array([5.0, 1.0, np.nan, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0])
    fit, val = time_split(t, 0.3)
    assert sorted(t[val]) == [7.0, 8.0, 9.0]
    assert len(fit) == 7 and set(fit).isdisjoint(val)


def make_data(n: int = 900, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    z = 2 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1])
    labels = np.where(z > 2.0, "malicious", np.where(z > 0.8, "spam", "safe"))
    categories = np.where(labels == "malicious", np.where(X[:, 2] > 0, "credential_phishing", "malware"), labels)
    return TrainingData(
        X=X, labels=labels, categories=categories, timestamps=np.arange(n, dtype=np.float64),
        is_test=np.arange(n) >= int(n * 0.8), feature_names=[f"s{j}" for j in range(6)], schema_hash=SCHEMA,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained():
    return train_detectors(make_data(), TrainConfig(n_trees=15, max_depth=4, target_precision=0.95))


def test_multiclass_training_stores_thresholds_and_schema(trained):
    (d,) = trained.detectors
    assert d.outputs == ["safe", "spam", "malicious"]
    assert math.isnan(d.thresholds[0]) and 0 < d.thresholds[2] <= 1
    assert trained.schema_hash == SCHEMA
    assert d.metrics["malicious"]["validation"]["target_met"]
    assert d.metrics["fit_rows"] + d.metrics["validation_rows"] == 720


@pytest.mark.parametrize("algo", ["lightgbm", "xgboost"])
def test_per_category_training(algo):
    model = train_detectors(make_data(), TrainConfig(algo=algo, mode="per-category", n_trees=10, max_depth=3))
    names = [d.name for d in model.detectors]
    assert names == ["credential_phishing", "malware", "spam"]
    assert all(d.category == d.name and len(d.thresholds) == 1 for d in model.detectors)


def test_model_file_roundtrip_and_compiled_directory(trained, tmp_path):
    path = tmp_path / "m.pysm"
    save_model(trained, path)
    loaded = load_model(path, schema_hash=SCHEMA)
    assert loaded.detectors[0].treelite == trained.detectors[0].treelite
    forests = compile_model(loaded)
    save_compiled(forests, tmp_path / "compiled")
    (forest,) = load_compiled(tmp_path / "compiled", schema_hash=SCHEMA)
    X = make_data(50, seed=3).X
    np.testing.assert_array_equal(forest.predict(X), forests[0].predict(X))
    assert forest.outputs == ("safe", "spam", "malicious") and forest.schema_hash == SCHEMA
    np.testing.assert_array_equal(forest.thresholds, np.asarray(trained.detectors[0].thresholds))
    assert forest.feature_names == tuple(trained.feature_names)
    # Compiling again replaces the directory as a whole.
    save_compiled(forests, tmp_path / "compiled")
    assert sorted(p.name for p in (tmp_path / "compiled").iterdir()) == ["manifest.json", "multiclass.npz"]


def test_schema_mismatch_refused(trained, tmp_path):
    save_model(trained, tmp_path / "m.pysm")
    with pytest.raises(ValueError, match="signal schema ffffffffffff.*schema 000000000000"):
        load_model(tmp_path / "m.pysm", schema_hash="0" * 64)
    save_compiled(compile_model(trained), tmp_path / "c")
    with pytest.raises(ValueError, match="signal schema"):
        load_compiled(tmp_path / "c", schema_hash="0" * 64)
    (forest,) = load_compiled(tmp_path / "c")
    with pytest.raises(ValueError, match="signal schema"):
        forest.check_schema("0" * 64)


def test_corrupted_model_file_refused(trained, tmp_path):
    path = tmp_path / "m.pysm"
    save_model(trained, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"model file {path} is corrupted"):
        load_model(path)
    path.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="corrupted"):
        load_model(path)


def test_tampered_member_refused_by_checksum(trained, tmp_path):
    path = tmp_path / "m.pysm"
    save_model(trained, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    name = next(n for n in members if n.endswith(".treelite"))
    members[name] = members[name][:-1] + bytes([members[name][-1] ^ 1])
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_model(path)


def test_corrupted_compiled_file_refused(trained, tmp_path):
    save_compiled(compile_model(trained), tmp_path / "c")
    npz = tmp_path / "c" / "multiclass.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(ValueError, match=f"{npz} is corrupted"):
        load_compiled(tmp_path / "c")


def test_save_compiled_refuses_foreign_directory(trained, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a compiled model directory"):
        save_compiled(compile_model(trained), tmp_path / "docs")
    assert (tmp_path / "docs" / "notes.txt").read_text() == "keep me"


# -- the dataset contract and the commands --------------------------------------------------------


def write_dataset(directory: Path, data: TrainingData, *, schema_hash: str | None = SCHEMA) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    ids = [f"<m{i}@example.test>" for i in range(len(data.labels))]
    pq.write_table(pa.table({
        "message_id": ids, "label": data.labels, "category": data.categories,
        "split": np.where(data.is_test, "test", "train"), "timestamp": data.timestamps,
    }), directory / "index.parquet")  # fmt: skip
    table = pa.table({"message_id": ids[::-1], **{n: data.X[::-1, j] for j, n in enumerate(data.feature_names)}})
    if schema_hash is not None:
        table = table.replace_schema_metadata({b"pyscore.schema_hash": schema_hash.encode()})
    pq.write_table(table, directory / "features.parquet")


def test_load_training_data_joins_features_by_message_id(tmp_path):
    data = make_data(100)
    write_dataset(tmp_path / "ds", data)
    loaded = load_training_data(tmp_path / "ds")
    np.testing.assert_array_equal(loaded.X, data.X)
    assert list(loaded.labels) == list(data.labels) and loaded.schema_hash == SCHEMA
    write_dataset(tmp_path / "bad", data, schema_hash=None)
    with pytest.raises(ValueError, match="no schema hash"):
        load_training_data(tmp_path / "bad")


def test_train_and_compile_commands(tmp_path, capsys):
    from pyscore.cli import main

    write_dataset(tmp_path / "ds", make_data(600))
    model = tmp_path / "model.pysm"
    assert main(["train", "--dataset", str(tmp_path / "ds"), "--out", str(model), "--trees", "10",
                 "--max-depth", "3", "--target-precision", "0.95"]) == 0  # fmt: skip
    assert "malicious" in capsys.readouterr().out
    assert main(["compile", str(model), "--out", str(tmp_path / "compiled"), "--schema-hash", SCHEMA]) == 0
    manifest = json.loads((tmp_path / "compiled" / "manifest.json").read_text())
    assert manifest["schema_hash"] == SCHEMA and manifest["detectors"][0]["name"] == "multiclass"
    assert main(["compile", str(model), "--out", str(tmp_path / "c2"), "--schema-hash", "0" * 64]) == 2
    assert "signal schema" in capsys.readouterr().err
    assert not (tmp_path / "c2").exists()


def test_features_computed_from_raw_mail_when_parquet_absent(tmp_path):
    """Without features.parquet, train parses the dataset's own messages and computes the signals."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pyscore.signals import REGISTRY

    ds = tmp_path / "ds"
    (ds / "msgs").mkdir(parents=True)
    (ds / "manifest.json").write_text(json.dumps({"corpora_dir": str(tmp_path / "none")}))
    rows = []
    for i in range(6):
        bad = i % 2 == 1
        body = "Verify your password now at http://login-check.example.net/a" if bad else "Lunch at noon?"
        raw = (f"From: {'Support <help@example.net>' if bad else 'Ann <ann@example.org>'}\r\n"
               f"To: bob@example.org\r\nSubject: {'Urgent' if bad else 'Lunch'} {i}\r\n"
               f"Message-ID: <{i}@example.test>\r\nDate: Mon, {i + 1} Jan 2024 10:00:00 +0000\r\n\r\n{body}\r\n")  # fmt: skip
        (ds / "msgs" / f"{i}.eml").write_bytes(raw.encode())
        rows.append({"message_id": f"<{i}@example.test>", "label": "malicious" if bad else "safe",
                     "category": "credential_phishing" if bad else "safe", "split": "train",
                     "timestamp": 1e9 + i, "ref": f"msgs/{i}.eml", "ref_base": "dataset", "tenant": "t"})  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), ds / "index.parquet")
    data = load_training_data(ds)
    assert data.X.shape == (6, len(REGISTRY.names)) and data.schema_hash == REGISTRY.schema_hash()
    assert list(data.labels) == [r["label"] for r in rows]
