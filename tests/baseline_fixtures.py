"""Hand-made baseline events shared by the test_baseline*.py files (no corpus data)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pyscore.baseline.events import events_from_table, sort_events

DAY = 86400
CONFIGS = {"acme": {"own_domains": ["acme.com"]}, "globex": {"own_domains": ["globex.com"]}}


def synthetic_events(n: int = 400, seed: int = 0) -> pa.Table:
    """Random but reproducible traffic of two tenants: colleagues, outsiders, replies, verdicts."""
    rng = np.random.default_rng(seed)
    people = [f"p{i}@acme.com" for i in range(8)] + [f"q{i}@globex.com" for i in range(6)]
    outsiders = [f"x{i}@ext{i % 4}.com" for i in range(12)] + ["eve@evil.co.uk", "v@shared.org"]
    names = {a: f"Person {a.split('@')[0].upper()}x" for a in people + outsiders}
    rows = []
    for i in range(n):
        tenant = ("acme", "globex")[rng.integers(2)]
        own = [p for p in people if tenant in p]
        sender = own[rng.integers(len(own))] if rng.random() < 0.4 else outsiders[rng.integers(len(outsiders))]
        pool = own + outsiders
        recipients = sorted({pool[j] for j in rng.integers(len(pool), size=rng.integers(0, 4))})
        rows.append({
            "tenant": tenant, "message_id": f"m{i}",
            # a third of a day apart at most, with same-instant ties
            "time": int(rng.integers(0, 90)) * DAY // 3 + int(rng.integers(0, 3)),
            "sender": sender, "recipients": recipients,
            "display_name": names[sender] if rng.random() < 0.9 else "Person P1x",
            "reply_to": [outsiders[rng.integers(len(outsiders))]] if rng.random() < 0.2 else [],
            "verdict": (None, "benign", "malicious", "spam")[rng.integers(4)],
        })
    return sort_events(events_from_table(pa.Table.from_pylist(rows), tenant_configs=CONFIGS))


def event(tenant: str, time: int, sender: str, recipients: list[str], *, name: str = "",
          reply_to: tuple[str, ...] = (), verdict: str | None = None, message_id: str = "") -> dict:
    return {"tenant": tenant, "time": time, "sender": sender, "recipients": recipients, "display_name": name,
            "reply_to": list(reply_to), "verdict": verdict, "message_id": message_id or f"{sender}@{time}"}


def table(rows: list[dict]) -> pa.Table:
    return sort_events(events_from_table(pa.Table.from_pylist(rows), tenant_configs=CONFIGS))
