"""This module contains the `pyscore baseline` commands: build, show, stats and lookup.

- ``build --messages DATA --out STORE [--engine duckdb|spark]``: DATA is a
  Parquet events table (``pyscore.baseline.events.EVENT_SCHEMA``) or mail
  (files, folders, mboxes, tar archives), parsed and turned into events first;
- ``show STORE --tenant T --sender ADDRESS``: the history the store holds for
  one sender (and its domain, and a recipient pair with ``--recipient``);
- ``stats STORE``: table sizes and bytes per sender and pair;
- ``lookup STORE --tenant T MESSAGE...``: the baseline signals of messages.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

PLAUSIBLE_SECONDS = 3 * 365 * 86400  # mail Dates further than this from the median are left out


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("baseline", help="behavioral baselines: build, show, stats, lookup",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="baseline_command", required=True)

    b = sub.add_parser("build", help="build a baseline store from Parquet events or mail")
    b.add_argument("--messages", nargs="+", required=True, metavar="DATA",
                   help="a .parquet events table, or mail files, folders, mboxes, tar archives")
    b.add_argument("--out", required=True, metavar="STORE", help="store directory (replaced when present)")
    b.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    b.add_argument("--half-life-days", type=_positive_float, default=30.0, help="decay half-life (default 30)")
    _tenant_args(b)
    b.add_argument("--events-out", metavar="FILE", help="also write the events extracted from mail as Parquet")
    b.add_argument("--limit", type=int, default=None, metavar="N", help="read at most N messages of mail")
    b.set_defaults(run=run_build)

    s = sub.add_parser("show", help="print the history of one sender")
    s.add_argument("store", metavar="STORE")
    s.add_argument("--tenant", required=True)
    s.add_argument("--sender", required=True, metavar="ADDRESS")
    s.add_argument("--recipient", metavar="ADDRESS", help="also show the pair sender <-> recipient")
    s.add_argument("--name", metavar="DISPLAY_NAME", help="also show the addresses seen with a display name")
    s.set_defaults(run=run_show)

    st = sub.add_parser("stats", help="table sizes, bytes per sender and pair")
    st.add_argument("store", metavar="STORE")
    st.set_defaults(run=run_stats)

    lk = sub.add_parser("lookup", help="baseline signals of messages (as of each message's Date)")
    lk.add_argument("store", metavar="STORE")
    lk.add_argument("messages", nargs="+", metavar="MESSAGE", help=".eml files, folders, mboxes, archives")
    _tenant_args(lk)
    lk.add_argument("--vip", action="append", default=[], metavar="NAME[=ADDRESS]", help="a VIP of the tenant")
    lk.set_defaults(run=run_lookup)


def _tenant_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenant", default="default", help="tenant id of mail input (default: default)")
    p.add_argument("--own-domain", action="append", default=[], metavar="DOMAIN",
                   help="a domain of the tenant's organisation (repeatable): gives direction and solicited")


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _configs(args: argparse.Namespace, vips: list | None = None) -> dict:
    return {args.tenant: {"own_domains": [d.lower() for d in args.own_domain], "vips": vips or []}}


def mail_events(paths: list[str], tenant: str, tenant_configs: dict, *, limit: int | None = None,
                chunk: int = 2000, log=sys.stderr):
    """Events of mail read with pyscore.corpus and parsed with pyscore.mime; messages
    without a plausible Date are left out (their ids returned second), corpus problems third."""
    import numpy as np

    from pyscore.baseline.events import concat_events, events_from_batch
    from pyscore.batch import MessageBatch
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse

    reader = CorpusReader(paths)
    parts, ids, messages, undated = [], [], [], []

    def flush():
        if not messages:
            return
        batch = MessageBatch.from_messages(messages, ids)
        times = np.asarray(batch.column("headers.date"), dtype=np.float64)
        keep = np.flatnonzero(np.isfinite(times))
        undated.extend(batch.ids[i] for i in np.flatnonzero(~np.isfinite(times)))
        events = events_from_batch(batch, [tenant] * len(batch), times=np.where(np.isfinite(times), times, 0),
                                   tenant_configs=tenant_configs)
        parts.append(events.take(keep))
        messages.clear()
        ids.clear()

    for count, (source_id, raw) in enumerate(reader, 1):
        messages.append(parse(raw))
        ids.append(source_id)
        if len(messages) >= chunk:
            flush()
            print(f"  parsed {count} messages", file=log)
        if limit is not None and count >= limit:
            break
    flush()
    events = concat_events(parts)
    if events.num_rows:
        # A Date header decades off (year 1, 2044) would stretch "days known"; with no
        # receiver clock to fall back on, leave out dates far from the corpus median.
        t = np.asarray(events["time"])
        far = np.abs(t - np.median(t)) > PLAUSIBLE_SECONDS
        undated.extend(np.asarray(events["message_id"])[far].tolist())
        events = events.filter(~far)
    return events, undated, reader.problems


def run_build(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from pyscore.baseline.build import build_store

    paths = [str(p) for p in args.messages]
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
    tmp = None
    if all(p.endswith(".parquet") for p in paths):
        events_paths = paths
    else:
        if any(p.endswith(".parquet") for p in paths):
            raise ValueError("--messages takes Parquet events or mail, not both")
        start = time.perf_counter()
        events, undated, problems = mail_events(paths, args.tenant, _configs(args), limit=args.limit)
        print(f"read {events.num_rows} messages in {time.perf_counter() - start:.1f} s "
              f"({len(undated)} without a plausible Date left out{': ' + undated[0] if undated else ''}; "
              f"{len(problems)} corpus problems)")
        target = Path(args.events_out) if args.events_out else Path(args.out).with_suffix(".events.parquet.tmp")
        tmp = None if args.events_out else target
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(events, target)
        events_paths = [str(target)]
    try:
        report = build_store(events_paths, args.out, engine=args.engine, half_life_days=args.half_life_days)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    print(f"built {args.out} with {report.engine}: SQL {report.sql_seconds:.2f} s, load + save {report.load_seconds:.2f} s")
    for table, n in report.rows.items():
        print(f"  {table:15s} {n:>10,d}")
    return 0


def _date(t: int) -> str:
    return _dt.datetime.fromtimestamp(int(t), _dt.UTC).strftime("%Y-%m-%d %H:%M")


def _entity_lines(title: str, rec, half_life_days: float, distinct_label: str) -> list[str]:
    if rec is None:
        return [f"{title}: never seen"]
    lines = [f"{title}:"]
    if rec["messages"]:
        lines += [
            f"  messages sent      {int(rec['messages'])}",
            f"  first seen         {_date(rec['first_seen'])}",
            f"  last seen          {_date(rec['last_seen'])}",
            f"  known for          {(int(rec['last_seen']) - int(rec['first_seen'])) / 86400:.1f} days (first to last)",
            f"  active days        {int(rec['active_days'])}",
            f"  recent (decayed)   {float(rec['decayed']):.2f} at last seen (half-life {half_life_days:g} days)",
            f"  {distinct_label:18s} {int(rec['distinct'])}",
        ]
    else:
        lines.append("  never sent anything")
    lines += [
        f"  solicited          {int(rec['solicited'])} (messages the organisation wrote to it)",
        f"  verdicts           benign {int(rec['benign'])}, malicious {int(rec['malicious'])}, spam {int(rec['spam'])}",
    ]
    return lines


def run_show(args: argparse.Namespace) -> int:
    from pyscore.baseline.events import domain_of, normalize_name
    from pyscore.baseline.store import BaselineStore, key_hash

    store = BaselineStore.open(args.store, read_only=True)
    tenant, sender = args.tenant, args.sender.strip().lower()
    domain = domain_of(sender)
    hl = store.half_life_days
    lines = [f"tenant {tenant!r}, sender {sender}"]
    lines += _entity_lines("sender", store.find("senders", key_hash(tenant, sender)), hl, "distinct recipients")
    rcpt = store.find("recipients", key_hash(tenant, sender))
    if rcpt is not None:
        received = int(rcpt["received"])
        safe = (received - int(rcpt["malicious"]) - int(rcpt["spam"])) / received
        lines += ["as a recipient:", f"  received           {received} (since {_date(rcpt['first_seen'])})",
                  f"  from first-time    {int(rcpt['from_first_time'])} ({int(rcpt['from_first_time']) / received:.0%})",
                  f"  safe rate          {safe:.2f}"]
    lines += _entity_lines(f"domain {domain}", store.find("domains", key_hash(tenant, domain)), hl, "distinct senders")
    glob = store.find("global_domains", key_hash(domain))
    if glob is not None:
        lines.append(f"  tenants            {int(glob['distinct'])} (all tenants: {int(glob['messages'])} messages)")
    if args.recipient:
        other = args.recipient.strip().lower()
        for a, b in ((sender, other), (other, sender)):
            p = store.find("pairs", key_hash(tenant, a, b))
            lines.append(f"pair {a} -> {b}: " + (
                "never" if p is None else
                f"{int(p['count'])} messages, {_date(p['first_seen'])} .. {_date(p['last_seen'])}"))
    if args.name:
        key = normalize_name(args.name)
        n = store.find("names", key_hash(tenant, key)) if key else None
        if n is None:
            lines.append(f"display name {args.name!r} ({key!r}): never seen")
        else:
            known = int((n["addresses"] != 0).sum())
            mine = key_hash(tenant, sender) or 1
            lines.append(f"display name {args.name!r} ({key!r}): {int(n['messages'])} messages from "
                         f"{int(n['distinct'])} address(es); this sender among them: "
                         f"{'yes' if mine in set(int(a) for a in n['addresses'][:known]) else 'no'}")
    print("\n".join(lines))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from pyscore.baseline.store import BaselineStore

    s = BaselineStore.open(args.store, read_only=True).stats()
    for name, t in s["tables"].items():
        print(f"{name:15s} {t['size']:>10,d} entries  {t['bytes'] / 2**20:8.2f} MiB ({t['entry_bytes']} B each)")
    print(f"total {s['total_bytes'] / 2**20:.2f} MiB; {s['bytes_per_sender']:.0f} B per sender, "
          f"{s['bytes_per_pair']:.0f} B per pair; log: {s['log_records']} records, {s['log_bytes']} bytes")
    return 0


def run_lookup(args: argparse.Namespace) -> int:
    import numpy as np

    from pyscore.baseline.signals import SIGNALS, compute
    from pyscore.baseline.store import BaselineStore
    from pyscore.batch import MessageBatch
    from pyscore.corpus import CorpusReader
    from pyscore.mime import parse
    from pyscore.signals.registry import ScoringContext

    vips = [dict(zip(("name", "address"), v.split("=", 1), strict=False)) for v in args.vip]
    configs = _configs(args, vips)
    store = BaselineStore.open(args.store, read_only=True)
    pairs = list(CorpusReader(args.messages))
    if not pairs:
        raise ValueError("no messages read from " + ", ".join(args.messages))
    batch = MessageBatch.from_messages([parse(raw) for _, raw in pairs], [sid for sid, _ in pairs])
    context = ScoringContext(tenants=[args.tenant] * len(batch), times=np.asarray(batch.column("headers.date")),
                             tenant_configs=configs, baseline=store)
    out = np.empty((len(batch), len(SIGNALS)), dtype=np.float32)
    compute(batch, context, out)
    for i, mid in enumerate(batch.ids):
        sender = batch.column("sender.email.email")[i]
        name = batch.column("sender.display_name")[i]
        print(f"{mid}\n  from {name!r} <{sender}>")
        for sig, value in zip(SIGNALS, out[i], strict=True):
            print(f"  {sig.name:45s} {value:g}")
    return 0
