"""This module contains the bundle: one versioned directory holding everything a scorer needs.

Layout::

    BUNDLE/
      manifest.json      format version, pyscore version, creation time, signal schema
                         hash, and the sha256 of every other file
      policy.yml         the decision policy
      tenants.json       per-tenant organisation context (own domains, VIPs, ...)
      rules/...          rule files (YAML)
      models/...         compiled model files
      baseline/...       behavioral baseline snapshot

Loading verifies the format version, every checksum, that no file is missing
or unlisted, and the schema hash, and refuses anything else with an error
naming the file. Nothing in a bundle is ever unpickled or run as code: rules
and policy are YAML, models and baselines are data files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyscore import __version__
from pyscore._fs import replace_dir

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BundleError(ValueError):
    """A bundle that is incomplete, tampered with, or made for other signals."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def schema_hash(self) -> str:
        return self.manifest["schema_hash"]

    @property
    def version(self) -> str:
        return self.manifest["bundle_version"]

    def file(self, relpath: str) -> Path:
        return self.path / relpath

    def files_under(self, folder: str) -> list[Path]:
        prefix = folder.rstrip("/") + "/"
        return sorted(self.path / p for p in self.manifest["files"] if p.startswith(prefix))

    @property
    def policy_path(self) -> Path:
        return self.path / "policy.yml"

    def tenants(self) -> dict[str, Any]:
        return json.loads((self.path / "tenants.json").read_text(encoding="utf-8"))

    @classmethod
    def open(cls, path: str | Path, *, schema_hash: str | None = None) -> Bundle:
        """Open and verify a bundle; ``schema_hash`` is the running signals' schema to match."""
        path = Path(path)
        manifest = _read_manifest(path)
        _verify_files(path, manifest)
        if schema_hash is not None and manifest["schema_hash"] != schema_hash:
            raise BundleError(
                f"{path}: bundle was built for signal schema {manifest['schema_hash'][:12]}, "
                f"this pyscore computes {schema_hash[:12]}; rebuild the bundle"
            )
        return cls(path, manifest)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_manifest(path: Path) -> dict[str, Any]:
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise BundleError(f"{path}: not a bundle (no {MANIFEST})")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath}: corrupt manifest: {exc}") from None
    for key in ("format_version", "pyscore_version", "created", "schema_hash", "bundle_version", "files"):
        if key not in manifest:
            raise BundleError(f"{mpath}: manifest lacks {key!r}")
    if manifest["format_version"] != FORMAT_VERSION:
        raise BundleError(
            f"{mpath}: bundle format {manifest['format_version']} is not supported (this pyscore reads {FORMAT_VERSION})"
        )
    return manifest


def _verify_files(path: Path, manifest: Mapping[str, Any]) -> None:
    listed = manifest["files"]
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()} - {MANIFEST}
    for rel in sorted(set(listed) - present):
        raise BundleError(f"{path / rel}: listed in the manifest but missing")
    for rel in sorted(present - set(listed)):
        raise BundleError(f"{path / rel}: not listed in the manifest (tampered bundle?)")
    for rel, digest in listed.items():
        if _sha256(path / rel) != digest:
            raise BundleError(f"{path / rel}: checksum mismatch (tampered or corrupt)")


def write_bundle(
    out: str | Path,
    *,
    schema_hash: str,
    policy_text: str,
    tenants: Mapping[str, Any],
    files: Iterable[tuple[str, Path]] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Bundle:
    """Write a bundle atomically: build it in a sibling temp dir, then rename into place.

    ``files`` are (relative path inside the bundle, source path) pairs: rule
    files, model files, baseline snapshot. An existing bundle at ``out`` is
    replaced only once the new one is complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "policy.yml").write_text(policy_text, encoding="utf-8")
        (tmp / "tenants.json").write_text(json.dumps(tenants, indent=2, sort_keys=True), encoding="utf-8")
        for rel, src in files:
            rel_path = Path(rel)
            if rel_path.is_absolute() or ".." in rel_path.parts or rel in ("policy.yml", "tenants.json", MANIFEST):
                raise BundleError(f"bad bundle path {rel!r}")
            dest = tmp / rel_path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        digests = {
            p.relative_to(tmp).as_posix(): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "format_version": FORMAT_VERSION,
            "pyscore_version": __version__,
            "created": created,
            "bundle_version": hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()[:16],
            "schema_hash": schema_hash,
            "metadata": dict(metadata or {}),
            "files": digests,
        }
        _write_synced(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Bundle.open(out)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
