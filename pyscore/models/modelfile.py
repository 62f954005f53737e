"""This module contains model files: trained detectors saved with checksums and the schema hash.

Two artifacts, no pickle anywhere:

- a **model file** (``pyscore train --out MODEL``): one zip archive holding
  ``manifest.json`` (format, schema hash, feature names, per detector its
  outputs, thresholds, metrics and the sha256 of its member) and one
  Treelite-serialised model per detector (``detectors/<name>.treelite``);
- a **compiled directory** (``pyscore compile MODEL --out DIR``):
  ``DIR/manifest.json`` plus ``DIR/<name>.npz`` (the ForestArrays of each
  detector, loaded with ``allow_pickle=False``); loading it needs neither
  Treelite nor the training libraries.

Every load checks the checksums (a corrupted file is refused, naming it) and,
when given the signals' schema hash, refuses a model trained on other signals.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pyscore._fs import replace_dir
from pyscore.models.forest import CompiledForest, ForestArrays

MODEL_FORMAT = "pyscore-model/1"
COMPILED_FORMAT = "pyscore-compiled/1"
MANIFEST = "manifest.json"


@dataclass
class Detector:
    """One trained model: a per-category binary detector or a multi-class one.

    ``outputs[j]`` names probability column j; ``thresholds[j]`` is where it
    fires (NaN: never, e.g. the "safe" class); ``category`` is the detector's
    category for a per-category detector, "" for a multi-class one.
    """

    name: str
    algo: str
    outputs: list[str]
    thresholds: list[float]
    treelite: bytes = field(repr=False)
    category: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Model:
    """Everything ``pyscore train`` produces: detectors pinned to one signal schema."""

    schema_hash: str
    feature_names: list[str]
    detectors: list[Detector]
    target_precision: float
    info: dict[str, Any] = field(default_factory=dict)

    def check_schema(self, schema_hash: str) -> None:
        _check_schema("model", self.schema_hash, schema_hash)


def _check_schema(what: str, pinned: str, expected: str) -> None:
    if pinned != expected:
        raise ValueError(
            f"{what} was trained on signal schema {pinned[:12] or '(none)'}, but the signals have schema "
            f"{expected[:12]}: retrain on the current signals or load the matching signal version"
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_thresholds(values: list[float]) -> list[float | None]:
    return [None if v is None or math.isnan(v) else float(v) for v in values]


def _float_thresholds(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"detector name {name!r} must be non-empty letters, digits, '_' or '-'")
    return name


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: Model, path: str | os.PathLike) -> None:
    """Write the model file atomically (temporary file in the same folder, then rename)."""
    members: dict[str, bytes] = {}
    detectors = []
    for d in model.detectors:
        member = f"detectors/{_check_name(d.name)}.treelite"
        if member in members:
            raise ValueError(f"two detectors are named {d.name!r}")
        if len(d.outputs) != len(d.thresholds):
            raise ValueError(f"detector {d.name!r}: {len(d.outputs)} outputs but {len(d.thresholds)} thresholds")
        members[member] = d.treelite
        detectors.append({
            "name": d.name, "algo": d.algo, "category": d.category, "outputs": list(d.outputs),
            "thresholds": _json_thresholds(d.thresholds), "metrics": d.metrics,
            "member": member, "sha256": _sha256(d.treelite),
        })  # fmt: skip
    manifest = {
        "format": MODEL_FORMAT, "schema_hash": model.schema_hash, "feature_names": list(model.feature_names),
        "target_precision": model.target_precision, "info": model.info, "detectors": detectors,
    }  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False))
        for name, data in members.items():
            zf.writestr(name, data)
    _atomic_write(Path(path), buf.getvalue())


def load_model(path: str | os.PathLike, *, schema_hash: str | None = None) -> Model:
    """Read and verify a model file; with ``schema_hash``, refuse a model of other signals."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            if manifest.get("format") != MODEL_FORMAT:
                raise ValueError(f"format {manifest.get('format')!r}, expected {MODEL_FORMAT!r}")
            detectors = []
            for d in manifest["detectors"]:
                data = zf.read(d["member"])
                if _sha256(data) != d["sha256"]:
                    raise ValueError(f"checksum mismatch in {d['member']}")
                detectors.append(Detector(
                    name=d["name"], algo=d["algo"], outputs=list(d["outputs"]),
                    thresholds=_float_thresholds(d["thresholds"]), treelite=data,
                    category=d.get("category", ""), metrics=d.get("metrics", {}),
                ))  # fmt: skip
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise ValueError(f"model file {path} is corrupted or not a pyscore model: {exc}") from None
    model = Model(
        schema_hash=manifest["schema_hash"], feature_names=list(manifest["feature_names"]),
        detectors=detectors, target_precision=float(manifest["target_precision"]),
        info=manifest.get("info", {}),
    )  # fmt: skip
    if schema_hash is not None:
        _check_schema(f"model file {path}", model.schema_hash, schema_hash)
    return model


def compile_detector(model: Model, detector: Detector) -> CompiledForest:
    """Treelite bytes -> ForestArrays -> the core's compiled forest."""
    import treelite

    from pyscore.models.importer import from_treelite

    arrays = from_treelite(treelite.Model.deserialize_bytes(detector.treelite))
    if arrays.n_features != len(model.feature_names):
        raise ValueError(f"detector {detector.name!r} reads {arrays.n_features} features, "
                         f"the model names {len(model.feature_names)}")  # fmt: skip
    return CompiledForest(
        arrays, name=detector.name, category=detector.category, outputs=tuple(detector.outputs),
        thresholds=np.asarray(detector.thresholds, dtype=np.float64), schema_hash=model.schema_hash,
        feature_names=tuple(model.feature_names),
    )  # fmt: skip


def compile_model(model: Model) -> list[CompiledForest]:
    return [compile_detector(model, d) for d in model.detectors]


def save_compiled(forests: list[CompiledForest], directory: str | os.PathLike) -> None:
    """Write DIR/manifest.json + DIR/<name>.npz; the directory is replaced as a whole."""
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or (any(directory.iterdir()) and not (directory / MANIFEST).is_file())):
        raise ValueError(f"{directory} exists and is not a compiled model directory: refusing to overwrite it")
    if not forests:
        raise ValueError("nothing to save: no forests")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        tmp.chmod(0o755)
        entries = []
        for f in forests:
            buf = io.BytesIO()
            np.savez(buf, **f.arrays.to_npz_dict())
            data = buf.getvalue()
            member = f"{_check_name(f.name)}.npz"
            (tmp / member).write_bytes(data)
            entries.append({
                "name": f.name, "category": f.category, "outputs": list(f.outputs),
                "thresholds": _json_thresholds(list(f.thresholds)), "file": member, "sha256": _sha256(data),
            })  # fmt: skip
        schema_hashes = {f.schema_hash for f in forests}
        names = {f.feature_names for f in forests}
        if len(schema_hashes) != 1 or len(names) != 1:
            raise ValueError("all forests of one compiled directory must share the schema and feature names")
        manifest = {"format": COMPILED_FORMAT, "schema_hash": schema_hashes.pop(),
                    "feature_names": list(names.pop()), "detectors": entries}  # fmt: skip
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False))
        replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_compiled(directory: str | os.PathLike, *, schema_hash: str | None = None) -> list[CompiledForest]:
    """The compiled forests of DIR, verified; with ``schema_hash``, refuse other signals."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{directory} is not a compiled model directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != COMPILED_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}, expected {COMPILED_FORMAT!r}")
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"compiled model manifest {manifest_path} is corrupted: {exc}") from None
    if schema_hash is not None:
        _check_schema(f"compiled model {directory}", manifest["schema_hash"], schema_hash)
    forests = []
    for d in manifest["detectors"]:
        path = directory / d["file"]
        if not path.is_file():
            raise FileNotFoundError(f"compiled model file {path} is missing")
        data = path.read_bytes()
        if _sha256(data) != d["sha256"]:
            raise ValueError(f"compiled model file {path} is corrupted (checksum mismatch)")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = ForestArrays.from_npz_dict({k: npz[k] for k in npz.files})
        forests.append(CompiledForest(
            arrays, name=d["name"], category=d.get("category", ""), outputs=tuple(d["outputs"]),
            thresholds=np.asarray(_float_thresholds(d["thresholds"]), dtype=np.float64),
            schema_hash=manifest["schema_hash"], feature_names=tuple(manifest["feature_names"]),
        ))  # fmt: skip
    return forests
