"""This module contains the offline pipeline: dataset -> bundle -> scored held-out split -> metrics.

``build_bundle`` replays the training split in time order to get point-in-time
features (a message's baseline signals see only earlier mail), trains the
model detectors, compiles them, and writes a bundle with the rule pack, the
policy, the tenants' context and the baseline snapshot as it stands after the
training period. ``evaluate_bundle`` then scores the held-out split in time
order the way production would: each chunk is scored with the history so
far, then observed, and every decision goes to a decision log.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pyscore.batch import MessageBatch
from pyscore.bundle import Bundle, write_bundle
from pyscore.decision import Policy
from pyscore.message import Message
from pyscore.mime import parse
from pyscore.signals import REGISTRY
from pyscore.signals.registry import ScoringContext

Progress = Callable[[str], None]
SCORE_CHUNK = 512  # messages scored together before being observed
BASELINE_GROUP = "baseline"


@dataclass
class LoadedSplit:
    rows: list[dict[str, Any]]  # index rows, in time order
    messages: list[Message]

    @property
    def ids(self) -> list[str]:
        return [r["message_id"] for r in self.rows]

    @property
    def tenants(self) -> list[str]:
        return [r["tenant"] for r in self.rows]

    @property
    def times(self) -> np.ndarray:
        return np.array([_time_of(r, m) for r, m in zip(self.rows, self.messages, strict=True)], dtype=np.float64)


def _time_of(row: dict[str, Any], message: Message) -> float:
    t = row.get("timestamp")
    if t is not None and not math.isnan(t):
        return float(t)
    return message.headers.date.timestamp() if message.headers.date else math.nan


def iter_dataset(dataset_dir: Path, split: str | None) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(index row, raw bytes) of a dataset: a real-corpora one or a synthetic organisation."""
    if (dataset_dir / "orgs.json").is_file():  # pyscore synth output: refs are paths inside it
        import pyarrow.parquet as pq

        table = pq.read_table(dataset_dir / "index.parquet")
        for row in table.to_pylist():
            if split is None or row["split"] == split:
                yield row, (dataset_dir / row["ref"]).read_bytes()
        return
    from pyscore.datasets import iter_raw

    yield from iter_raw(dataset_dir, split)


def load_split(dataset_dir: str | Path, split: str | None, *, progress: Progress = print,
               drop_duplicates: bool = True) -> LoadedSplit:
    dataset_dir = Path(dataset_dir)
    rows, messages = [], []
    for row, raw in iter_dataset(dataset_dir, split):
        if drop_duplicates and row.get("is_duplicate"):
            continue
        rows.append(row)
        messages.append(parse(raw))
        if len(rows) % 5000 == 0:
            progress(f"  parsed {len(rows)} messages of split {split}")
    order = sorted(range(len(rows)), key=lambda i: (_sort_time(rows[i], messages[i]), rows[i]["message_id"]))
    return LoadedSplit([rows[i] for i in order], [messages[i] for i in order])


def _sort_time(row, message) -> float:
    t = _time_of(row, message)
    return math.inf if math.isnan(t) else t


def tenant_configs(dataset_dir: str | Path, split: LoadedSplit | None = None) -> dict[str, dict[str, Any]]:
    """Per-tenant organisation context (TenantConfig dicts) for a dataset.

    A synthetic dataset names its organisations in orgs.json; a real-corpora
    dataset may carry tenants.json. Otherwise each tenant's own domains are
    the root domains most of its internal mail is sent from, and its VIPs the
    internal senders who write to the most distinct colleagues, as an
    administrator would list them; nothing is read from labels.
    """
    dataset_dir = Path(dataset_dir)
    if (dataset_dir / "tenants.json").is_file():
        return json.loads((dataset_dir / "tenants.json").read_text(encoding="utf-8"))
    if (dataset_dir / "orgs.json").is_file():
        orgs = json.loads((dataset_dir / "orgs.json").read_text(encoding="utf-8"))["tenants"]
        return {o["tenant"]: _synth_tenant(o) for o in orgs}
    return _infer_tenants(split) if split is not None else {}


def _synth_tenant(org: dict[str, Any]) -> dict[str, Any]:
    people = lambda key: [{"name": p["name"], "address": p["email"]} for p in org.get(key, [])]  # noqa: E731
    return {"tenant_id": org["tenant"], "own_domains": list(org.get("domains", [])),
            "vips": people("vips"), "finance_staff": people("finance")}


def _infer_tenants(split: LoadedSplit, n_vips: int = 25) -> dict[str, dict[str, Any]]:
    by_tenant: dict[str, list[Message]] = {}
    for row, m in zip(split.rows, split.messages, strict=True):
        if row.get("label") == "safe":
            by_tenant.setdefault(row["tenant"], []).append(m)
    out = {}
    for tenant, msgs in by_tenant.items():
        recipient_domains = Counter(r.email.domain.root_domain for m in msgs for r in m.recipients.to if r.email.email)
        sender_domains = Counter(m.sender.email.domain.root_domain for m in msgs if m.sender.email.email)
        own = [d for d, _ in (recipient_domains & sender_domains).most_common(1) if d]
        reach: dict[str, set[str]] = {}
        names: dict[str, Counter] = {}
        for m in msgs:
            addr = m.sender.email.email
            if m.sender.email.domain.root_domain in own and addr:
                reach.setdefault(addr, set()).update(r.email.email for r in m.recipients.to + m.recipients.cc)
                if m.sender.display_name:
                    names.setdefault(addr, Counter())[m.sender.display_name] += 1
        top = sorted(reach, key=lambda a: (-len(reach[a]), a))
        vips = [{"name": _person_name(names[a].most_common(1)[0][0]), "address": a} for a in top if a in names][:n_vips]
        out[tenant] = {"tenant_id": tenant, "own_domains": own, "vips": vips, "finance_staff": []}
    return out


def _person_name(display: str) -> str:
    """'Lay, Kenneth' -> 'Kenneth Lay' (the Enron directory writes last names first)."""
    if display.count(",") == 1:
        last, first = (p.strip() for p in display.split(","))
        return f"{first} {last}".strip()
    return display.strip()


def point_in_time_features(split: LoadedSplit, configs: dict[str, Any]) -> tuple[np.ndarray, Any]:
    """The feature matrix of a time-ordered split, baseline signals replayed without future leaks.

    Returns (features, store): the store holds the whole split's history afterwards.
    """
    from pyscore.baseline.signals import replay_signals
    from pyscore.baseline.store import BaselineStore
    from pyscore.signals.tenant import TenantConfig

    batch = MessageBatch.from_messages(split.messages, split.ids)
    tenant_objs = {t: TenantConfig.from_dict(c) for t, c in configs.items()}
    context = ScoringContext(tenants=split.tenants, times=split.times, tenant_configs=tenant_objs, baseline=None)
    features = REGISTRY.compute(batch, context)
    store = BaselineStore.memory()
    group_cols = baseline_columns()
    features[:, group_cols] = replay_signals(batch, context, store)
    return features, store


def baseline_columns() -> np.ndarray:
    start = 0
    for group in REGISTRY.groups:
        if group.name == BASELINE_GROUP:
            return np.arange(start, start + len(group.signals))
        start += len(group.signals)
    return np.arange(0)


def labels_table(split: LoadedSplit) -> pa.Table:
    from pyscore.logschema import LABELS_SCHEMA

    rows = [{"message_id": r["message_id"], "label": r["label"], "category": r.get("category", ""),
             "source": r.get("source", ""), "technique": r.get("technique", "") or "", "split": r.get("split", "")}
            for r in split.rows]
    return pa.Table.from_pylist(rows, schema=LABELS_SCHEMA)


def write_default_policy(path: Path) -> None:
    path.write_text(Policy.default().dump(), encoding="utf-8")


def make_bundle(out: str | Path, *, configs: dict[str, Any], model_files: list[tuple[str, Path]], baseline_store,
                rules_dir: Path | None, policy_path: Path | None, metadata: dict[str, Any],
                shadow_detectors: list[str] = ()) -> Bundle:
    from pyscore.rules import PACK_DIR

    rules_dir = Path(rules_dir) if rules_dir is not None else PACK_DIR
    files = [(f"rules/{p.relative_to(rules_dir).as_posix()}", p) for p in sorted(rules_dir.rglob("*.yml"))]
    files += list(model_files)
    with tempfile.TemporaryDirectory() as tmp:
        if baseline_store is not None:
            snap = Path(tmp) / "baseline"
            baseline_store.save_as(snap)
            files += [(f"baseline/{p.relative_to(snap).as_posix()}", p) for p in sorted(snap.rglob("*")) if p.is_file()]
        policy = Policy.load(policy_path) if policy_path else Policy.default()
        tenants = {"default": {}, **configs}
        policy_doc = dict(policy.doc)
        policy_doc["tenants"] = {**{t: {} for t in tenants}, **policy.doc["tenants"]}
        # The policy's own word on a detector wins over the pipeline's shadow default.
        policy_doc["detectors"] = {**{d: {"mode": "shadow"} for d in shadow_detectors}, **policy.doc["detectors"]}
        return write_bundle(out, schema_hash=REGISTRY.schema_hash(), policy_text=Policy(policy_doc).dump(),
                            tenants=configs, files=files, metadata=metadata)


# -- training ---------------------------------------------------------------------------

# The model detectors a bundle carries. "content" reads the message's own
# signals (content_model_signals) and learns from every tenant; "identity"
# reads the baselines, identity and what a message asks for
# (identity_model_signals) and learns only from tenants with an organisation
# context (own domains), where sender history means something: on sources
# collected elsewhere (honeypots, list archives) every sender is "new", and a
# model fed that would learn where mail was collected instead of what an
# attack is.
MODEL_SPECS = (("content", False), ("identity", True))

# Signals that say how a message was produced (text and HTML statistics, timing, relay
# path, mailer, Message-ID form) rather than who sent it, to whom, or what it asks. Across
# the corpora they fingerprint the source and the attack generator, not the attack: the
# identity model's BEC detector, given them, leaned hardest on body_word_count. It does
# without them; what content it keeps is what a message asks for (phrase families, money,
# phone numbers) and how it hides (invisible and confusable characters).
_PRODUCTION_HEADER_PREFIXES = ("date_", "hop_", "mailer_", "message_id_", "defect_count", "php_script_header")
_ASKING_CONTENT = ("phrase_", "subject_phrase_", "money_amount_count", "phone_number_count", "subject_has_phone",
                   "callback_with_phone", "subject_invisible_count", "subject_confusable_word_count",
                   "body_zero_width_count", "body_invisible_count", "body_bidi_control_count",
                   "body_confusable_word_count", "body_confusable_word_ratio")


# Raw sizes: how long a generator happens to write, not what it writes.
_SIZES = ("subject_length", "body_length", "body_word_count", "html_length")


def content_model_signals() -> np.ndarray:
    """Mask over REGISTRY.names of the signals the content model may read: all but the
    baselines, the production headers and raw sizes (see identity_model_signals)."""
    keep = []
    for group in REGISTRY.groups:
        for sig in group.signals:
            production = group.name == "headers" and sig.name.startswith(_PRODUCTION_HEADER_PREFIXES)
            keep.append(group.name != "baseline" and not production and sig.name not in _SIZES)
    return np.array(keep, dtype=bool)


def identity_model_signals() -> np.ndarray:
    """Mask over REGISTRY.names of the signals the identity model may read."""
    keep = []
    for group in REGISTRY.groups:
        for sig in group.signals:
            if group.name == "content":
                keep.append(sig.name.startswith(_ASKING_CONTENT))
            elif group.name == "headers":
                keep.append(not sig.name.startswith(_PRODUCTION_HEADER_PREFIXES))
            else:
                keep.append(True)
    return np.array(keep, dtype=bool)


def per_source_time_rank(rows: list[dict[str, Any]], times: np.ndarray) -> np.ndarray:
    """Each row's time as its rank within its source (0..1), so a "latest 20%"
    validation slice takes the latest mail of every stream, not one era's source."""
    out = np.full(len(rows), np.nan)
    sources = np.array([r.get("source", "") for r in rows])
    for source in np.unique(sources):
        idx = np.flatnonzero(sources == source)
        order = np.argsort(np.nan_to_num(times[idx], nan=np.inf), kind="stable")
        out[idx[order]] = (np.arange(len(idx)) + 0.5) / len(idx)
    return out


def train_model_dirs(split: LoadedSplit, features: np.ndarray, configs: dict[str, Any], out_dir: Path, *,
                     algo: str, n_trees: int, progress: Progress) -> tuple[list[tuple[str, Path]], list[str]]:
    """Train, compile and save each model spec.

    Returns (bundle subdir, compiled dir) pairs, and the detectors whose
    validation did not reach the target precision: those ship in shadow mode
    (scored and logged, never acting) rather than at a threshold that would
    flood users with false alarms.
    """
    from pyscore.models.modelfile import compile_model, save_compiled
    from pyscore.models.train import TrainConfig, TrainingData, train_detectors

    names = np.array(REGISTRY.names)
    labels = np.array([r["label"] for r in split.rows])
    categories = np.array([r.get("category") or r["label"] for r in split.rows])
    ranks = per_source_time_rank(split.rows, split.times)
    with_context = np.array([bool(configs.get(t, {}).get("own_domains")) for t in split.tenants])
    out, missed = [], []
    for spec, use_baseline in MODEL_SPECS:
        rows = np.flatnonzero(with_context) if use_baseline else np.arange(len(split.rows))
        # A signal never available in training carries nothing to learn (and trips HGB's binning).
        observed = ~np.isnan(features[rows]).all(axis=0) if len(rows) else np.zeros(len(names), dtype=bool)
        allowed = identity_model_signals() if spec == "identity" else content_model_signals()
        cols = np.flatnonzero(allowed & observed)
        if len(rows) < 50 or len(set(categories[rows]) - {"safe"}) == 0:
            progress(f"  model {spec}: skipped ({len(rows)} rows with an organisation context)")
            continue
        data = TrainingData(X=np.ascontiguousarray(features[np.ix_(rows, cols)]), labels=labels[rows],
                            categories=categories[rows], timestamps=ranks[rows],
                            is_test=np.zeros(len(rows), dtype=bool), feature_names=list(names[cols]),
                            schema_hash=REGISTRY.schema_hash())
        progress(f"  model {spec}: training {algo} per-category detectors on {len(rows)} messages x {len(cols)} signals")
        try:
            model = train_detectors(data, TrainConfig(algo=algo, mode="per-category", n_trees=n_trees))
        except ValueError as exc:
            progress(f"  model {spec}: not trained: {exc}")
            continue
        for det in model.detectors:
            det.name = f"model_{spec}_{det.category}"
            validation = det.metrics.get(det.category, {}).get("validation") or {}
            if not validation.get("target_met"):
                missed.append(det.name)
            progress(f"    {det.name}: threshold {det.thresholds[0]:.4f}, validation {validation}"
                     + ("" if validation.get("target_met") else " -> shadow mode"))
        target = out_dir / spec
        save_compiled(compile_model(model), target)
        out.append((spec, target))
    return out, missed


def build_bundle(dataset_dir: str | Path, out: str | Path, *, algo: str = "hgb", rules_dir: Path | None = None,
                 policy_path: Path | None = None, n_trees: int = 200, progress: Progress = print) -> Bundle:
    """The offline pipeline: baselines, signals, training, compile, rules, policy -> a bundle."""
    dataset_dir = Path(dataset_dir)
    progress(f"loading the training split of {dataset_dir}")
    split = load_split(dataset_dir, "train", progress=progress)
    if not split.rows:
        raise ValueError(f"{dataset_dir}: the dataset has no training rows")
    configs = tenant_configs(dataset_dir, split)
    progress(f"signals for {len(split.rows)} messages, baselines replayed point-in-time")
    features, store = point_in_time_features(split, configs)
    check_rules(rules_dir)
    with tempfile.TemporaryDirectory() as tmp:
        model_dirs, shadow = train_model_dirs(split, features, configs, Path(tmp), algo=algo, n_trees=n_trees,
                                              progress=progress)
        files = [(f"models/{spec}/{p.name}", p) for spec, d in model_dirs for p in sorted(d.iterdir())]
        progress("writing the bundle")
        return make_bundle(out, configs=configs, model_files=files, baseline_store=store, rules_dir=rules_dir,
                           policy_path=policy_path, shadow_detectors=shadow,
                           metadata={"dataset": str(dataset_dir), "algo": algo, "train_messages": len(split.rows)})


def check_rules(rules_dir: Path | None) -> None:
    """Refuse to bundle rules that do not load (the engine would refuse the bundle)."""
    from pyscore.rules import PACK_DIR, RuleSet

    ruleset = RuleSet.load(rules_dir or PACK_DIR)
    if ruleset.errors:
        raise ValueError(f"{len(ruleset.errors)} rule(s) do not load, first: {ruleset.errors[0]}")


# -- evaluation ---------------------------------------------------------------------------


@dataclass
class EvalResult:
    log_dir: Path
    labels: pa.Table
    metrics: Any  # pyscore.metrics.MetricsResult
    split: str

    @property
    def tables(self) -> str:
        from pyscore.metrics import format_tables

        return format_tables(self.metrics)

    def write_report(self, path: str | Path) -> Path:
        from pyscore.report.html import write_report

        return write_report(self.log_dir, self.labels, path, split=self.split)


def evaluate_bundle(bundle: str | Path, dataset_dir: str | Path, *, split: str = "test",
                    log_dir: str | Path | None = None, progress: Progress = print) -> EvalResult:
    """Score a split in time order (score a chunk, then observe it) into a decision log; metrics."""
    from pyscore.decisionlog import DecisionLogWriter
    from pyscore.engine import Engine
    from pyscore.metrics import evaluate

    log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="pyscore-log-"))
    if log_dir.exists() and any(log_dir.glob("*.parquet")):
        raise ValueError(f"{log_dir} already holds a decision log: choose an empty directory")
    progress(f"loading the {split} split of {dataset_dir}")
    data = load_split(dataset_dir, split, progress=progress)
    if not data.rows:
        raise ValueError(f"{dataset_dir}: the dataset has no rows in split {split!r}")
    with DecisionLogWriter(log_dir) as log:
        engine = Engine.load(bundle, log=log)
        times = data.times
        sources = [r.get("source", "") for r in data.rows]
        for start in range(0, len(data.rows), SCORE_CHUNK):
            part = slice(start, start + SCORE_CHUNK)
            scored = engine.score_messages(data.messages[part], tenants=data.tenants[part], ids=data.ids[part],
                                           times=times[part])
            engine.records(scored, sources=sources[part])
            engine.observe(data.messages[part], tenants=data.tenants[part], times=times[part])
            if (start // SCORE_CHUNK) % 10 == 9:
                progress(f"  scored {min(start + SCORE_CHUNK, len(data.rows))} of {len(data.rows)}")
    labels = labels_table(data)
    metrics = evaluate(log_dir, labels)
    return EvalResult(log_dir, labels, metrics, split)


# -- the main job ---------------------------------------------------------------------------


def run_demo(out: str | Path, *, corpora: str | Path | None = None, weeks: int = 8, orgs: int = 2, seed: int = 7,
             progress: Progress = print) -> None:
    """Simulate organisations, build a bundle on their first weeks, score the held-out weeks, report."""
    from pyscore.synth.generate import generate

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [("synth", out / "synth-dataset")]
    progress(f"simulating {orgs} organisations over {weeks} weeks (seed {seed})")
    generate(_fresh(runs[0][1]), orgs=orgs, weeks=weeks, seed=seed)  # the demo's own output: replaced on rerun
    if corpora is not None:
        from pyscore.datasets import build_dataset

        progress(f"building the labeled dataset of the real corpora in {corpora}")
        build_dataset(corpora, out / "corpora-dataset")
        runs.append(("corpora", out / "corpora-dataset"))
    for name, dataset in runs:
        bundle = out / f"{name}-bundle"
        progress(f"[{name}] building the bundle")
        build_bundle(dataset, bundle, progress=progress)
        progress(f"[{name}] scoring the held-out split")
        result = evaluate_bundle(bundle, dataset, log_dir=_fresh(out / f"{name}-decisions"), progress=progress)
        print(f"\n=== {name}: metrics on the held-out (test) split ===")
        print(result.tables)
        report = result.write_report(out / f"{name}-report.html")
        print(f"report: {report}")


def _fresh(path: Path) -> Path:
    import shutil

    if path.exists():
        shutil.rmtree(path)
    return path
