"""This module contains the `pyscore signals` commands: the feature matrix of messages, and
the signals that best separate two sources.

``pyscore signals PATH... [--out features.parquet]`` parses the messages
(files, folders, mboxes, tar archives), computes every registered signal,
prints each signal's coverage (share of messages with a non-zero value and
with NaN) and writes the matrix as Parquet, the schema hash and signal names
in the file's metadata.

``pyscore signals rank --a PATH --b PATH [--top 20]`` ranks signals by how well
each one alone separates source A from source B: the ROC AUC of the signal as
a score for "is from B" (NaN ranked below every value), reported with its
distance from 0.5 (0 = no separation, 0.5 = perfect, either direction).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1000  # messages parsed and computed per batch
SCHEMA_KEY = b"pyscore.signals.schema_hash"
NAMES_KEY = b"pyscore.signals.names"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "signals",
        help="compute the signal matrix of messages; 'signals rank' finds separating signals",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog="rank mode: pyscore signals rank --a PATH --b PATH [--top 20] [--limit N]",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="file, folder, mbox or .tar[.gz|.xz]; or 'rank'")
    p.add_argument("--out", type=Path, help="write the matrix to this Parquet file")
    p.add_argument("--limit", type=_positive, metavar="N", help="read at most N messages per path set")
    p.add_argument("--tenant-config", type=Path, metavar="JSON",
                   help="a TenantConfig as JSON (own_domains, vips, ...) applied to every message")
    p.add_argument("--a", nargs="+", metavar="PATH", help="rank: the first source")
    p.add_argument("--b", nargs="+", metavar="PATH", help="rank: the second source")
    p.add_argument("--top", type=_positive, default=20, metavar="K", help="rank: signals to print (20)")
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    if args.paths[:1] == ["rank"]:
        if len(args.paths) > 1:
            raise ValueError(f"rank takes its sources as --a and --b, not positional paths {args.paths[1:]}")
        if not args.a or not args.b:
            raise ValueError("rank needs both --a PATH... and --b PATH...")
        return run_rank(args)
    if not args.paths:
        raise ValueError("give at least one PATH (or 'rank --a PATH --b PATH')")
    if args.a or args.b:
        raise ValueError("--a/--b belong to 'pyscore signals rank'")
    return run_matrix(args)


def _configs(path: Path | None) -> tuple[str, dict]:
    if path is None:
        return "", {}
    from pyscore.signals.tenant import TenantConfig

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    config = TenantConfig.from_dict(data)
    return config.tenant_id, {config.tenant_id: config}


def compute_paths(paths, *, limit: int | None = None, tenant: str = "", configs: dict | None = None):
    """(source ids, float32 matrix, seconds in parsing, seconds in signals) of the messages under paths."""
    import numpy as np

    from pyscore.batch import MessageBatch
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse
    from pyscore.signals import compute_features
    from pyscore.signals.registry import ScoringContext

    reader = CorpusReader(paths)
    ids, blocks, chunk, chunk_ids = [], [], [], []
    parse_s = signal_s = 0.0

    def flush() -> None:
        nonlocal signal_s
        t0 = time.perf_counter()
        batch = MessageBatch.from_messages(chunk, chunk_ids)
        context = ScoringContext(tenants=[tenant] * len(chunk), times=np.asarray(batch.column("headers.date")),
                                 tenant_configs=configs or {})
        blocks.append(compute_features(batch, context))
        signal_s += time.perf_counter() - t0
        ids.extend(chunk_ids)
        chunk.clear()
        chunk_ids.clear()

    for source_id, raw in reader:
        if limit is not None and len(ids) + len(chunk) >= limit:
            break
        t0 = time.perf_counter()
        chunk.append(parse(raw))
        parse_s += time.perf_counter() - t0
        chunk_ids.append(source_id)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    problems = reader.report.by_kind()
    if problems:
        print(f"corpus problems (entries skipped): {problems}", file=sys.stderr)
    from pyscore.signals import REGISTRY

    matrix = np.vstack(blocks) if blocks else np.zeros((0, len(REGISTRY.names)), dtype=np.float32)
    return ids, matrix, parse_s, signal_s


def coverage_table(names, groups, matrix) -> str:
    import numpy as np

    n = max(1, matrix.shape[0])
    nan = np.isnan(matrix).sum(axis=0) / n
    nonzero = (np.nan_to_num(matrix, nan=0.0) != 0).sum(axis=0) / n
    lines = [f"{'signal':40s} {'group':12s} {'non-zero':>9s} {'NaN':>7s}"]
    for name, group, nz, na in zip(names, groups, nonzero, nan, strict=True):
        lines.append(f"{name:40s} {group:12s} {nz:9.3f} {na:7.3f}")
    return "\n".join(lines)


def write_parquet(path: Path, ids, names, matrix, schema_hash: str) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [pa.array(ids, pa.string())] + [pa.array(matrix[:, j]) for j in range(matrix.shape[1])]
    table = pa.Table.from_arrays(arrays, names=["id", *names])
    table = table.replace_schema_metadata({SCHEMA_KEY: schema_hash.encode(), NAMES_KEY: json.dumps(names).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_matrix(args: argparse.Namespace) -> int:
    from pyscore.signals import REGISTRY

    tenant, configs = _configs(args.tenant_config)
    ids, matrix, parse_s, signal_s = compute_paths(args.paths, limit=args.limit, tenant=tenant, configs=configs)
    groups = [g.name for g in REGISTRY.groups for _ in g.signals]
    print(coverage_table(REGISTRY.names, groups, matrix))
    rate = len(ids) / signal_s if signal_s else float("nan")
    print(f"\n{len(ids)} messages, {len(REGISTRY.names)} signals, schema {REGISTRY.schema_hash()[:16]}; "
          f"parse {parse_s:.1f} s, signals {signal_s:.2f} s ({rate:,.0f} messages/s incl. batch building)")
    if args.out is not None:
        write_parquet(args.out, ids, REGISTRY.names, matrix, REGISTRY.schema_hash())
        print(f"wrote {args.out}")
    return 0


def auc_separation(a, b):
    """Per column: ROC AUC of the value as a score for membership in b (NaN below every value)."""
    import numpy as np

    n_a, n_b = a.shape[0], b.shape[0]
    both = np.vstack([a, b]).astype(np.float64)
    both = np.where(np.isnan(both), -np.inf, both)
    aucs = np.empty(both.shape[1])
    for j in range(both.shape[1]):
        col = both[:, j]
        order = np.argsort(col, kind="mergesort")
        ranks = np.empty(len(col))
        sorted_col = col[order]
        # average ranks for ties
        _, first, counts = np.unique(sorted_col, return_index=True, return_counts=True)
        avg = first + (counts + 1) / 2.0
        ranks[order] = np.repeat(avg, counts)
        rank_b = ranks[n_a:].sum()
        aucs[j] = (rank_b - n_b * (n_b + 1) / 2.0) / (n_a * n_b)
    return aucs


def rank_table(names, a, b, top: int) -> str:
    import numpy as np

    aucs = auc_separation(a, b)
    order = np.argsort(-np.abs(aucs - 0.5), kind="mergesort")[:top]
    lines = [f"{'#':>3s} {'signal':40s} {'AUC(B)':>7s} {'|AUC-.5|':>8s} {'mean A':>10s} {'mean B':>10s} "
             f"{'nz A':>6s} {'nz B':>6s}"]
    for k, j in enumerate(order, 1):
        ma, mb = np.nanmean(a[:, j]) if (~np.isnan(a[:, j])).any() else np.nan, \
            np.nanmean(b[:, j]) if (~np.isnan(b[:, j])).any() else np.nan
        nza = (np.nan_to_num(a[:, j]) != 0).mean()
        nzb = (np.nan_to_num(b[:, j]) != 0).mean()
        lines.append(f"{k:3d} {names[j]:40s} {aucs[j]:7.3f} {abs(aucs[j] - 0.5):8.3f} {ma:10.3g} {mb:10.3g} "
                     f"{nza:6.2f} {nzb:6.2f}")
    return "\n".join(lines)


def run_rank(args: argparse.Namespace) -> int:
    from pyscore.signals import REGISTRY

    tenant, configs = _configs(args.tenant_config)
    _, a, _, _ = compute_paths(args.a, limit=args.limit, tenant=tenant, configs=configs)
    _, b, _, _ = compute_paths(args.b, limit=args.limit, tenant=tenant, configs=configs)
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError(f"no messages read from {'--a' if a.shape[0] == 0 else '--b'}")
    print(f"A = {' '.join(map(str, args.a))} ({a.shape[0]} messages); "
          f"B = {' '.join(map(str, args.b))} ({b.shape[0]} messages)")
    print("separation: ROC AUC of the signal as a score for B (NaN lowest); |AUC - 0.5| ranks\n")
    print(rank_table(REGISTRY.names, a, b, args.top))
    return 0
