"""This module contains the dataset build: corpora in, labeled, de-duplicated, split index out.

One pass over every catalogued archive parses each message once and keeps a
small record (ids, time, sender, recipients, hashes, a MinHash signature). The
Enron records then give the communication graph that the BEC and
impersonation attacks are injected into; the attacks are parsed like the rest.
De-duplication, campaign grouping and the time split run over the records,
and the result is written to a fresh directory that replaces the old one only
once it is complete.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyscore.corpus import SEP, CorpusProblem, iter_entries
from pyscore.datasets import dedup, enron_graph, injection, splits
from pyscore.datasets.catalogue import CATALOGUE, SourceSpec, refine_category

INDEX_FILE = "index.parquet"
MANIFEST_FILE = "manifest.json"
INJECTED_DIR = "injected"
INJECTED_SOURCE = "enron_injected"
_FOLDER_HEADERS = re.compile(rb"^(X-Folder|X-Origin|X-FileName):[ \t]*([^\r\n]*)", re.M | re.I)
_MIN_EPOCH, _MAX_EPOCH = (
    315532800.0,
    2145916800.0,
)  # 1980 .. 2038: anything outside is a forged date


@dataclass
class BuildResult:
    out_dir: Path
    rows: int
    counts: dict[str, dict[str, int]]
    problems: dict[str, int]
    seconds: float
    split: dict = field(default_factory=dict)


def build_dataset(
    corpora_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    test_fraction: float = 0.3,
    attacks: int = 560,
    limit_per_source: int | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> BuildResult:
    """Build the dataset from the archives in ``corpora_dir`` into ``out_dir`` (replaced atomically).

    Raises FileNotFoundError when ``corpora_dir`` holds none of the catalogued archives.
    """
    start = time.perf_counter()
    corpora_dir = Path(corpora_dir).resolve()
    out_dir = Path(out_dir).resolve()
    specs = [s for s in CATALOGUE if (corpora_dir / s.archive).is_file()]
    if not specs:
        raise FileNotFoundError(
            f"no catalogued archive ({', '.join(s.archive for s in CATALOGUE)}) in {corpora_dir}"
        )
    uncatalogued = sorted(
        p.name for p in corpora_dir.glob("*.tar*") if p.name not in {s.archive for s in specs}
    )
    for name in uncatalogued:
        log(f"skipping {name}: not in the catalogue (no label known)")
    records: list[dict] = []
    problems: list[CorpusProblem] = []
    for spec in specs:
        t0 = time.perf_counter()
        n = _read_source(spec, corpora_dir, records, problems, limit_per_source)
        log(f"read {spec.archive}: {n} messages in {time.perf_counter() - t0:.1f} s")
    tmp = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / INJECTED_DIR).mkdir(parents=True)
    try:
        n_inj = _inject(records, tmp, attacks=attacks, seed=seed)
        log(f"injected {n_inj} attacks into the Enron graph")
        table, plan = _finish(records, seed=seed, test_fraction=test_fraction)
        _write(tmp, table, plan, corpora_dir, problems, seed, attacks, limit_per_source)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = _counts(table)
    return BuildResult(
        out_dir,
        len(table["ref"]),
        counts,
        dict(Counter(p.kind for p in problems)),
        time.perf_counter() - start,
        plan.to_dict(),
    )


# --- reading ----------------------------------------------------------------------------------


def _read_source(
    spec: SourceSpec, corpora_dir: Path, records: list[dict], problems: list, limit
) -> int:
    from pyscore.mime import parse

    path = corpora_dir / spec.archive
    prefix = str(path)
    n = 0
    entries = iter_entries(path)
    try:
        for entry in entries:
            ref = spec.archive + entry.source_id[len(prefix) :]
            if isinstance(entry, CorpusProblem):
                problems.append(CorpusProblem(ref, entry.kind, entry.detail))
                continue
            member = ref.split(SEP)[1] if SEP in ref else ""
            label, category, folder = spec.classify(member)
            try:
                message = parse(entry.data)
            except Exception as exc:  # noqa: BLE001 - parse must never raise; if it does, say where
                problems.append(CorpusProblem(ref, "parse_failure", f"{type(exc).__name__}: {exc}"))
                continue
            basis = "source"
            if label == "malicious":
                category, basis = refine_category(category, message)
            rec = _record(message, entry.data, spec.source == "enron")
            rec.update(
                ref=ref,
                ref_base="corpora",
                member=member,
                source=spec.source,
                folder=folder,
                label=label,
                category=category,
                category_basis=basis,
                technique="",
                tenant=spec.tenant,
                era=spec.era,
                exploits="",
                exploits_timestamp=math.nan,
            )
            rec["index"] = len(records)
            records.append(rec)
            n += 1
            if limit is not None and n >= limit:
                break
    finally:
        entries.close()
    return n


def _timestamp(message) -> float:
    """Receipt time from the nearest Received hop, else the Date header; NaN when neither is sane."""
    candidates = []
    if message.headers.hops and message.headers.hops[0].time is not None:
        candidates.append(message.headers.hops[0].time.timestamp())
    if message.headers.date is not None:
        candidates.append(message.headers.date.timestamp())
    for ts in candidates:
        if _MIN_EPOCH <= ts <= _MAX_EPOCH:
            return ts
    return math.nan


def _record(message, raw: bytes, keep_graph_fields: bool) -> dict:
    body = message.body
    text = body.text or body.html_text
    norm = dedup.normalise_text(text)
    sender = message.sender.email
    rec = {
        "header_message_id": message.headers.message_id,
        "timestamp": _timestamp(message),
        "sender_email": sender.email,
        "subject": message.subject.subject,
        "body_hash": dedup.body_hash(
            norm, tuple(a.sha256 for a in message.attachments if a.sha256), message.subject.subject
        ),
        "signature": dedup.minhash(norm),
        "subject_key": dedup.subject_key(
            message.subject.subject, sender.domain.root_domain or sender.domain.domain
        ),
        "defects": len(message.defects),
    }
    if keep_graph_fields:
        rec.update(
            sender=sender.email,
            sender_name=message.sender.display_name,
            recipients=tuple(
                m.email.email
                for m in (*message.recipients.to, *message.recipients.cc)
                if m.email.email
            ),
            message_id=message.headers.message_id,
            excerpt=(body.current_thread_text or text)[:1500],
            date_raw=message.headers.date_raw,
            bulk=bool(
                message.headers.list.id
                or message.headers.list.unsubscribe
                or message.headers.list.precedence.lower() in ("bulk", "list", "junk")
                or "unsubscribe" in text.lower()
            ),
            folder_headers=tuple(
                (k.decode(), v.decode("latin-1")) for k, v in _FOLDER_HEADERS.findall(raw[:8192])
            ),
        )
    return rec


# --- injection --------------------------------------------------------------------------------


def _inject(records: list[dict], out: Path, *, attacks: int, seed: int) -> int:
    from pyscore.mime import parse

    enron = [r for r in records if r["source"] == "enron"]
    if not enron or attacks <= 0:
        return 0
    graph = enron_graph.build_graph(enron)
    known = {r["sender_email"].rsplit("@", 1)[-1] for r in records if "@" in r["sender_email"]}
    made = injection.inject(graph, attacks, seed=seed, known_domains=known)
    by_index = {r["index"]: r for r in records}
    for k, attack in enumerate(made):
        rel = f"{INJECTED_DIR}/{attack.technique}/{k:05d}.eml"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(attack.raw)
        rec = _record(parse(attack.raw), attack.raw, False)
        exploited = by_index[attack.exploits.index]
        rec.update(
            ref=rel,
            ref_base="dataset",
            member=rel,
            source=INJECTED_SOURCE,
            folder=attack.owner,
            label="malicious",
            category=attack.category,
            category_basis="injected",
            technique=attack.technique,
            tenant="enron",
            era="2000-2002",
            exploits_ref=exploited["ref"],
            exploits_timestamp=attack.exploits.timestamp,
            index=len(records),
        )
        records.append(rec)
    return len(made)


# --- dedup, campaigns, split ------------------------------------------------------------------


def _finish(
    records: list[dict], *, seed: int, test_fraction: float
) -> tuple[dict[str, list], splits.SplitPlan]:
    header_ids = [r["header_message_id"] for r in records]
    hashes = [r["body_hash"] for r in records]
    roots = dedup.group_campaigns(
        header_ids, hashes, [r["signature"] for r in records], [r["subject_key"] for r in records]
    )
    ts = np.array([r["timestamp"] for r in records], dtype=np.float64)
    sources = [r["source"] if r["source"] != INJECTED_SOURCE else "enron" for r in records]
    side, plan = splits.split_by_time(sources, ts, roots, test_fraction=test_fraction, seed=seed)
    dup_id = _later_copies(header_ids)
    dup_body = _later_copies(hashes)
    message_ids = _unique_ids(records, dup_id)
    id_of_ref = {r["ref"]: message_ids[i] for i, r in enumerate(records)}
    table: dict[str, list] = {
        "message_id": message_ids,
        "header_message_id": header_ids,
        "source": [r["source"] for r in records],
        "ref": [r["ref"] for r in records],
        "ref_base": [r["ref_base"] for r in records],
        "folder": [r["folder"] for r in records],
        "label": [r["label"] for r in records],
        "category": [r["category"] for r in records],
        "category_basis": [r["category_basis"] for r in records],
        "technique": [r["technique"] for r in records],
        "tenant": [r["tenant"] for r in records],
        "era": [r["era"] for r in records],
        "timestamp": ts.tolist(),
        "split": side,
        "campaign": [_campaign_id(records[root]["ref"]) for root in roots],
        "body_hash": hashes,
        "dup_message_id": dup_id,
        "dup_body": dup_body,
        "is_duplicate": [a or b for a, b in zip(dup_id, dup_body, strict=True)],
        "sender_email": [r["sender_email"] for r in records],
        "subject": [r["subject"] for r in records],
        "defects": [r["defects"] for r in records],
        "exploits": [id_of_ref.get(r.get("exploits_ref", ""), "") for r in records],
        "exploits_timestamp": [r["exploits_timestamp"] for r in records],
    }
    return table, plan


def _later_copies(keys: list[str]) -> list[bool]:
    """True for every occurrence of a non-empty key after its first."""
    seen: set[str] = set()
    out = []
    for key in keys:
        out.append(bool(key) and key in seen)
        seen.add(key)
    return out


def _unique_ids(records: list[dict], dup_id: list[bool]) -> list[str]:
    """The header Message-ID where it is present and first; a synthetic id from the ref otherwise."""
    out = []
    for rec, dup in zip(records, dup_id, strict=True):
        mid = rec["header_message_id"]
        if not mid or dup:
            digest = hashlib.blake2b(rec["ref"].encode(), digest_size=8).hexdigest()
            mid = f"<{rec['source']}.{digest}@dataset.pyscore>"
        out.append(mid)
    return out


def _campaign_id(ref: str) -> str:
    return "c" + hashlib.blake2b(ref.encode(), digest_size=6).hexdigest()


# --- writing ----------------------------------------------------------------------------------


def _write(out: Path, table: dict, plan, corpora_dir: Path, problems, seed, attacks, limit) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pyscore.datasets import index_schema

    schema = index_schema()
    arrays = {name: pa.array(table[name], type=schema.field(name).type) for name in schema.names}
    pq.write_table(pa.table(arrays, schema=schema), out / INDEX_FILE)
    manifest = {
        "format": "pyscore-dataset/1",
        "corpora_dir": str(corpora_dir),
        "seed": seed,
        "attacks_requested": attacks,
        "limit_per_source": limit,
        "split": plan.to_dict(),
        "campaigns": "see pyscore.datasets.dedup",
        "sources": {
            s.source: {
                "archive": s.archive,
                "tenant": s.tenant,
                "era": s.era,
                "label": s.label,
                "category": s.category,
                "note": s.note,
            }
            for s in CATALOGUE
        },
        "problems": [{"ref": p.source_id, "kind": p.kind, "detail": p.detail} for p in problems],
        "counts": _counts(table),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _replace_dir(tmp: Path, out: Path) -> None:
    if out.exists():
        if not (out / INDEX_FILE).exists() and any(out.iterdir()):
            raise ValueError(f"{out} exists and is not a pyscore dataset; refusing to replace it")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)


def _counts(table: dict) -> dict[str, dict[str, int]]:
    def count(*keys):
        rows = zip(*(table[k] for k in keys), strict=True)
        return {" / ".join(map(str, k)): v for k, v in sorted(Counter(rows).items())}

    return {
        "source": count("source"),
        "label": count("label"),
        "split": count("split"),
        "source_label_split": count("source", "label", "split"),
        "category": count("category"),
        "technique": {
            k: v for k, v in count("technique", "split").items() if not k.startswith(" /")
        },
        "duplicates": {
            "message_id": sum(table["dup_message_id"]),
            "body": sum(table["dup_body"]),
            "any": sum(table["is_duplicate"]),
        },
        "campaigns": {
            "count": len(set(table["campaign"])),
            "largest": max(Counter(table["campaign"]).values(), default=0),
        },
    }
