"""This module contains the top level of the simulated-organisation generator: it builds
the world, simulates each tenant's traffic, injects attacks and writes the dataset
(.eml files, labels.parquet, index.parquet, orgs.json) atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pyscore.synth.attacks import TECHNIQUES, AttackContext, ThreadRef, build_attack
from pyscore.synth.people import Org, Person, make_world
from pyscore.synth.render import render
from pyscore.synth.traffic import Record, Simulator, _Thread, machine_time, reply_time, work_time

DEFAULT_START = dt.date(2025, 3, 3)  # a Monday; any date works, no feature may read it

# Relative frequency of each technique among injected messages (spam and graymail dominate
# real non-safe volume; each malicious technique still appears many times at 10k messages).
TECHNIQUE_WEIGHTS = {
    "spam": 14, "graymail": 12,
    "vip_freemail": 4, "reply_to_swap": 3, "gift_card": 3, "vendor_lookalike_homoglyph": 2.5,
    "vendor_lookalike_added_letter": 2.5, "vendor_lookalike_dropped_letter": 2.5,
    "vendor_lookalike_other_tld": 2.5, "vendor_compromised": 2.5, "thread_hijack": 3,
    "cred_lookalike_login": 4, "cred_url_shortener": 3, "cred_open_redirect": 3, "cred_free_hosting": 4,
    "html_attachment": 3, "macro_document": 2.5, "iso_image": 2, "archive_executable": 2.5,
    "encrypted_archive": 2, "callback_invoice": 3, "extortion": 2, "advance_fee": 2,
}
_MESSAGES_PER_PERSON_WEEK = 18.0  # measured volume of the simulation at scale 1
_MACHINE_TIMED = {"spam", "graymail", "extortion", "advance_fee"}


@dataclass
class Summary:
    out_dir: Path
    messages: int
    tenants: list[str]
    by_label: dict[str, int]
    by_category: dict[str, int]
    by_technique: dict[str, int]
    by_split: dict[str, int]
    seconds: float
    extra: dict = field(default_factory=dict)

    def format(self) -> str:
        lines = [f"wrote {self.messages} messages for {len(self.tenants)} tenant(s) to {self.out_dir} "
                 f"in {self.seconds:.1f} s"]
        for name, counts in (("label", self.by_label), ("category", self.by_category),
                             ("split", self.by_split), ("technique", self.by_technique)):
            lines.append(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return "\n".join(lines)


def _check_args(orgs: int, weeks: int, attack_rate: float, messages: int | None) -> None:
    if not isinstance(orgs, int) or orgs < 1:
        raise ValueError(f"orgs must be a positive integer, got {orgs!r}")
    if not isinstance(weeks, int) or weeks < 1:
        raise ValueError(f"weeks must be a positive integer, got {weeks!r}")
    if not 0.0 <= attack_rate < 1.0:
        raise ValueError(f"attack_rate must be in [0, 1), got {attack_rate!r}")
    if messages is not None and (not isinstance(messages, int) or messages < orgs):
        raise ValueError(f"messages must be an integer of at least one per organisation, got {messages!r}")


def split_cutoff(start: dt.date, weeks: int) -> float:
    """Epoch seconds where the held-out test period begins: the last two weeks (or the last
    quarter of shorter periods)."""
    days = weeks * 7
    test_days = 14 if weeks >= 6 else max(1, round(days / 4))
    cut = dt.datetime.combine(start + dt.timedelta(days=days - test_days), dt.time(), tzinfo=dt.UTC)
    return cut.timestamp()


def simulate_org(org: Org, seed: int, start: dt.date, weeks: int, *, attack_rate: float,
                 target: int | None) -> tuple[list[Record], Simulator]:
    """Safe traffic plus attacks for one tenant, sorted by time."""
    def n_attacks_for(total):
        return (round(total * attack_rate))
    scale = 1.0
    if target is not None:  # start near the target: trimming is then small and even
        scale = 1.08 * target / (len(org.employees) * weeks * _MESSAGES_PER_PERSON_WEEK)
    sim = Simulator(org, random.Random(f"traffic:{seed}:{org.tenant}"), start, weeks, scale)
    safe = sim.run()
    if target is not None:
        need = target - n_attacks_for(target)
        for _ in range(4):
            if len(safe) >= need:
                break
            scale *= need / max(len(safe), 1) * 1.06
            sim = Simulator(org, random.Random(f"traffic:{seed}:{org.tenant}"), start, weeks, scale)
            safe = sim.run()
        safe = _trim(safe, need, random.Random(f"trim:{seed}:{org.tenant}"))
        n_attacks = target - len(safe)
    else:
        n_attacks = round(len(safe) * attack_rate / (1.0 - attack_rate))
    kept = {r.mail.message_id for r in safe}
    attacks = inject_attacks(org, sim, n_attacks, seed, start, weeks, kept)
    records = safe + attacks
    records.sort(key=lambda r: (r.mail.date.timestamp(), r.mail.message_id))
    return records, sim


def _trim(records: list[Record], need: int, rng: random.Random) -> list[Record]:
    """Drop messages nobody answered or forwarded until ``need`` remain, so every kept
    In-Reply-To and References still points at a kept message."""
    for _ in range(200):
        if len(records) <= need:
            return records
        referenced = {ref for r in records for ref in r.references}
        referenced |= {r.meta["forwarded"] for r in records if "forwarded" in r.meta}
        leaves = [i for i, r in enumerate(records) if r.mail.message_id not in referenced]
        # a share of the leaves per round, so bulk mail and thread ends thin out alike
        k = min(len(records) - need, max(1, len(leaves) // 4))
        drop = set(rng.sample(leaves, k))
        records = [r for i, r in enumerate(records) if i not in drop]
    return records[:need]


def technique_plan(n: int, rng: random.Random) -> list[str]:
    """Every technique once (when n allows), the rest drawn by weight, in random order."""
    names = list(TECHNIQUE_WEIGHTS)
    first = names[:]
    rng.shuffle(first)
    plan = first[:n]
    if n > len(names):
        plan += rng.choices(names, [TECHNIQUE_WEIGHTS[t] for t in names], k=n - len(names))
    rng.shuffle(plan)
    return plan


def _hijackable(sim: Simulator, end: dt.datetime, kept: set[str]) -> list[tuple[_Thread, list]]:
    """External threads with their messages that made it into the dataset."""
    out = []
    for t in sim.threads:
        if t.external is None:
            continue
        mails = [m for m in t.mails if m.message_id in kept]
        if mails and mails[-1].date < end:
            out.append((t, mails))
    return out


def inject_attacks(org: Org, sim: Simulator, n: int, seed: int, start: dt.date, weeks: int,
                   kept: set[str]) -> list[Record]:
    rng = random.Random(f"attacks:{seed}:{org.tenant}")
    end = dt.datetime.combine(start + dt.timedelta(days=weeks * 7), dt.time(), tzinfo=dt.UTC)
    hijackable = _hijackable(sim, end - dt.timedelta(days=1), kept)
    days = [start + dt.timedelta(days=i) for i in range(weeks * 7)]
    workdays = [d for d in days if d.weekday() < 5] or days
    out = []
    for k, technique in enumerate(technique_plan(n, rng)):
        if technique == "thread_hijack" and not hijackable:
            technique = "vendor_compromised"
        arng = random.Random(f"attack:{seed}:{org.tenant}:{k}")
        ctx = _context(org, technique, arng, days, workdays, hijackable, end)
        res = build_attack(technique, ctx, arng)
        category, label, _ = TECHNIQUES[technique]
        out.append(Record(mail=res.mail, tenant=org.tenant, direction="inbound", label=label,
                          category=category, technique=technique, kind="attack", meta=res.meta))
    return out


def _context(org: Org, technique: str, rng: random.Random, days: list[dt.date], workdays: list[dt.date],
             hijackable: list[tuple[_Thread, list]], end: dt.datetime) -> AttackContext:
    day = rng.choice(workdays if rng.random() < 0.93 else days)
    employees = org.employees
    fin = [p for p in org.finance if not p.is_vip] or org.finance or employees
    vendor = rng.choice(org.vendors)
    vip = rng.choice(org.vips)
    thread = None
    lang = "en"
    if technique in ("vip_freemail", "reply_to_swap"):
        victim = rng.choice(fin) if rng.random() < 0.7 else rng.choice([p for p in employees if p is not vip])
    elif technique == "gift_card":
        victim = rng.choice([p for p in employees if p is not vip])
    elif technique.startswith("vendor_"):
        victim = rng.choice(fin)
        lang = vendor.lang
    else:
        victim = rng.choice(employees)
    tz = victim.tz if technique not in ("vendor_compromised",) and not technique.startswith("vendor_") else vendor.contacts[0].tz
    if technique in _MACHINE_TIMED:
        when = machine_time(rng, day, rng.choice([-480, -300, 0, 60, 180, 330, 480]))
    else:
        # timed to the target's working hours, dated from the attacker's own clock, whose
        # offset follows the organisation's real outside correspondents
        ext = vendor if technique.startswith("vendor_") else rng.choice(org.vendors + org.customers + org.partners)
        own_tz = rng.choice(ext.contacts).tz
        when = work_time(rng, day, tz, off_hours=0.1).astimezone(dt.timezone(dt.timedelta(minutes=own_tz)))
    if technique == "thread_hijack":
        th, mails = rng.choice(hijackable)
        thread, victim, when, lang = _thread_ref(org, th, mails, rng, end)
    return AttackContext(victim=victim, org_domain=org.domain, org_name=org.name, mx=org.mx, time=when,
                         impersonated=vip, vendor=vendor, thread=thread, lang=lang,
                         org_dmarc_policy=org.dmarc_policy, known_domains=_known_domains(org))


def _known_domains(org: Org) -> frozenset[str]:
    return frozenset([org.domain, *org.extra_domains, *(e.domain for e in org.vendors + org.customers + org.partners)])


def _thread_ref(org: Org, th: _Thread, mails: list, rng: random.Random, end: dt.datetime):
    last = mails[-1]
    partner = next(p for p in th.people if not p.email.endswith("@" + org.domain))
    employee = next(p for p in th.people if p.email.endswith("@" + org.domain))
    by_mail = {p.email: p for p in th.people}
    last_from = by_mail.get(last.from_[1], partner)
    last_to = [by_mail.get(a, Person(name=n, email=a)) for n, a in last.to]
    ids = [*last.references, last.message_id] if last.references else [m.message_id for m in mails]
    when = reply_time(rng, last.date, partner.tz)
    if when >= end:
        when = last.date + dt.timedelta(minutes=rng.randint(20, 300))
    ref = ThreadRef(subject=last.subject, message_ids=ids, partner=partner, last_from=last_from,
                    last_to=last_to, last_text=last.text, last_date=last.date,
                    partner_company=th.external.company, partner_system=th.external.system)
    return ref, employee, when, th.lang


def _write_tables(tmp: Path, rows: list[dict], orgs: list[Org]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels = pa.table({
        "message_id": [r["message_id"] for r in rows], "path": [r["path"] for r in rows],
        "label": [r["label"] for r in rows], "category": [r["category"] for r in rows],
        "technique": [r["technique"] for r in rows], "tenant": [r["tenant"] for r in rows],
        "timestamp": pa.array([r["timestamp"] for r in rows], pa.float64()),
        "direction": [r["direction"] for r in rows], "split": [r["split"] for r in rows],
        "kind": [r["kind"] for r in rows], "thread": [r["thread"] for r in rows],
        "sender": [r["sender"] for r in rows], "recipient": [r["recipient"] for r in rows],
        "in_reply_to": [r["in_reply_to"] for r in rows], "size": pa.array([r["size"] for r in rows], pa.int64()),
        "meta": [r["meta"] for r in rows],
    })
    pq.write_table(labels, tmp / "labels.parquet")
    pq.write_table(_index_table(rows), tmp / "index.parquet")
    (tmp / "orgs.json").write_text(json.dumps({"tenants": [o.to_json() for o in orgs]}, indent=1,
                                              ensure_ascii=False), encoding="utf-8")


def _index_table(rows: list[dict]):
    """The dataset contract shared with ``pyscore.datasets`` (see its ``index_schema``)."""
    import pyarrow as pa

    from pyscore.datasets import index_schema

    schema = index_schema()
    n = len(rows)
    cols = {
        "message_id": [r["message_id"] for r in rows],
        "header_message_id": [f"<{r['message_id']}>" for r in rows],
        "source": ["synth"] * n,
        "ref": [r["path"] for r in rows],
        "ref_base": ["dataset"] * n,
        "folder": [r["tenant"] for r in rows],
        "label": [r["label"] for r in rows],
        "category": [r["category"] for r in rows],
        "category_basis": ["injected" if r["technique"] else "source" for r in rows],
        "technique": [r["technique"] for r in rows],
        "tenant": [r["tenant"] for r in rows],
        "era": [r["era"] for r in rows],
        "timestamp": [r["timestamp"] for r in rows],
        "split": [r["split"] for r in rows],
        "campaign": [""] * n,
        "body_hash": [r["body_hash"] for r in rows],
        "dup_message_id": [False] * n,
        "dup_body": [False] * n,
        "is_duplicate": [False] * n,
        "sender_email": [r["sender"] for r in rows],
        "subject": [r["subject"] for r in rows],
        "defects": [0] * n,  # tests/test_synth.py checks that the parser finds none
        "exploits": [r["exploits"] for r in rows],
        "exploits_timestamp": [r["exploits_timestamp"] for r in rows],
    }
    return pa.table({k: pa.array(cols[k], type=schema.field(k).type) for k in schema.names}, schema=schema)


def _manifest(seed: int, start: dt.date, weeks: int, attack_rate: float, messages: int | None,
              cutoff: float, rows: list[dict]) -> dict:
    counts: dict[str, Counter] = {"label": Counter(), "category": Counter(), "split": Counter(),
                                  "technique": Counter()}
    for r in rows:
        for key, counter in counts.items():
            if r[key]:
                counter[r[key]] += 1
    return {"format": "pyscore-dataset/1", "generator": "pyscore.synth", "corpora_dir": "",
            "seed": seed, "start": start.isoformat(), "weeks": weeks, "attack_rate": attack_rate,
            "messages_requested": messages, "split": {"method": "time", "test_from": cutoff},
            "counts": {k: dict(sorted(v.items())) for k, v in counts.items()}}


def _prepare_out(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"output directory {out_dir} exists and is not empty")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "messages").mkdir(parents=True)
    return tmp


def generate(out_dir: str | os.PathLike, *, orgs: int = 1, weeks: int = 8, attack_rate: float = 0.03,
             seed: int = 0, start: dt.date = DEFAULT_START, messages: int | None = None) -> Summary:
    """Simulate ``orgs`` organisations over ``weeks`` weeks from ``start`` and write the dataset.

    ``messages`` (optional) sets the exact total; otherwise the volume follows from the
    organisations' size. Output goes to a temporary sibling directory renamed into place
    at the end, so a failure never leaves a partial dataset at ``out_dir``.
    """
    _check_args(orgs, weeks, attack_rate, messages)
    if isinstance(start, dt.datetime):
        start = start.date()
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    world = make_world(seed, orgs)
    tmp = _prepare_out(out_dir)
    try:
        cutoff = split_cutoff(start, weeks)
        rows: list[dict] = []
        seen: set[str] = set()
        times: dict[str, float] = {}
        for i, org in enumerate(world):
            target = None if messages is None else messages // orgs + (1 if i < messages % orgs else 0)
            records, _ = simulate_org(org, seed, start, weeks, attack_rate=attack_rate, target=target)
            folder = tmp / "messages" / org.tenant
            folder.mkdir()
            for n, rec in enumerate(records):
                mid = rec.mail.message_id
                if mid in seen:
                    raise RuntimeError(f"duplicate Message-ID generated: {mid}")
                seen.add(mid)
                raw = render(rec.mail)
                rel = f"messages/{org.tenant}/{n:06d}.eml"
                with open(tmp / rel, "wb") as fh:
                    fh.write(raw)
                times[mid] = rec.mail.date.timestamp()
                rows.append(_row(rec, rel, len(raw), cutoff, times))
        _write_tables(tmp, rows, world)
        manifest = _manifest(seed, start, weeks, attack_rate, messages, cutoff, rows)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Summary(out_dir=out_dir, messages=len(rows), tenants=[o.tenant for o in world],
                   by_label=dict(Counter(r["label"] for r in rows)),
                   by_category=dict(Counter(r["category"] for r in rows)),
                   by_technique=dict(Counter(r["technique"] for r in rows if r["technique"])),
                   by_split=dict(Counter(r["split"] for r in rows)), seconds=time.perf_counter() - t0)


def _row(rec: Record, rel: str, size: int, cutoff: float, times: dict[str, float]) -> dict:
    ts = rec.mail.date.timestamp()
    exploits_ts = times.get(rec.meta.get("hijacked", ""), math.nan)
    return {"message_id": rec.mail.message_id, "path": rel, "label": rec.label, "category": rec.category,
            "technique": rec.technique, "tenant": rec.tenant, "timestamp": ts, "direction": rec.direction,
            "split": "test" if ts >= cutoff else "train", "kind": rec.kind, "thread": rec.thread,
            "sender": rec.mail.from_[1], "recipient": rec.mail.to[0][1] if rec.mail.to else "",
            "in_reply_to": rec.mail.in_reply_to, "size": size, "subject": rec.mail.subject,
            "era": str(rec.mail.date.year), "body_hash": _body_hash(rec.mail),
            "exploits": rec.meta.get("hijacked", ""), "exploits_timestamp": exploits_ts,
            "meta": json.dumps(rec.meta, sort_keys=True, ensure_ascii=False)}


def _body_hash(mail) -> str:
    from pyscore.datasets import dedup

    atts = tuple(hashlib.sha256(a.data).hexdigest() for a in mail.attachments)
    return dedup.body_hash(dedup.normalise_text(mail.text), atts, mail.subject)
