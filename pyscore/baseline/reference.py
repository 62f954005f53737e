"""This module contains ReferenceBaseline: the store's semantics in plain Python dicts.

It keys by strings, not hashes, and shares no code with the C++ core, so tests
use it as the oracle of ``BaselineStore`` (same outputs for the same events)
and the benchmark uses it as the Python-dict peer. Slow by design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pyscore.baseline.store import NAME_SLOTS, OUTPUTS, SECONDS_PER_DAY

COMMON_MESSAGES = 5
_VERDICTS = ("benign", "malicious", "spam")


@dataclass
class _Entity:
    first_seen: int = 0
    last_seen: int = 0
    decayed: float = 0.0
    messages: int = 0
    active_days: int = 0
    distinct: int = 0
    solicited: int = 0
    verdicts: dict = field(default_factory=lambda: dict.fromkeys(_VERDICTS, 0))


@dataclass
class _Pair:
    first_seen: int = 0
    last_seen: int = 0
    decayed: float = 0.0
    count: int = 0


@dataclass
class _Recipient:
    first_seen: int = 0
    received: int = 0
    from_first_time: int = 0
    malicious: int = 0
    spam: int = 0


def _day(t: int) -> int:
    return t // SECONDS_PER_DAY


class ReferenceBaseline:
    def __init__(self, half_life_days: float = 30.0) -> None:
        self.h = half_life_days * SECONDS_PER_DAY
        self.senders: dict[tuple, _Entity] = {}
        self.domains: dict[tuple, _Entity] = {}
        self.global_domains: dict[str, _Entity] = {}
        self.pairs: dict[tuple, _Pair] = {}
        self.reply: dict[tuple, _Pair] = {}
        self.recipients: dict[tuple, _Recipient] = {}
        self.names: dict[tuple, list] = {}  # -> [messages, [addresses]]

    def _entity(self, e: _Entity, t: int, verdict: str | None) -> None:
        if e.messages == 0:
            e.first_seen = e.last_seen = t
            e.decayed, e.active_days = 1.0, 1
        else:
            if _day(t) > _day(e.last_seen):
                e.active_days += 1
            if t >= e.last_seen:
                e.decayed = e.decayed * 2.0 ** (-(t - e.last_seen) / self.h) + 1.0
                e.last_seen = t
            else:
                e.decayed += 2.0 ** (-(e.last_seen - t) / self.h)
            e.first_seen = min(e.first_seen, t)
        e.messages += 1
        if verdict in e.verdicts:
            e.verdicts[verdict] += 1

    def _pair(self, table: dict, key: tuple, t: int) -> bool:
        p = table.get(key)
        new = p is None
        if new:
            p = table[key] = _Pair(t, t, 1.0, 0)
        elif t >= p.last_seen:
            p.decayed = p.decayed * 2.0 ** (-(t - p.last_seen) / self.h) + 1.0
            p.last_seen = t
        else:
            p.decayed += 2.0 ** (-(p.last_seen - t) / self.h)
            p.first_seen = min(p.first_seen, t)
        p.count += 1
        return new

    def observe(self, ev: dict) -> None:
        """One event: a row of an events table as a dict (recipients as {address, domain})."""
        tenant, t, sender, domain = ev["tenant"], int(ev["time"]), ev["sender"], ev["sender_domain"]
        verdict = ev.get("verdict")
        s = self.senders.setdefault((tenant, sender), _Entity())
        sender_new = s.messages == 0 or s.first_seen >= t
        sender_first = s.messages == 0
        self._entity(s, t, verdict)
        d = self.domains.setdefault((tenant, domain), _Entity())
        domain_first = d.messages == 0
        d.distinct += sender_first
        self._entity(d, t, verdict)
        g = self.global_domains.setdefault(domain, _Entity())
        g.distinct += domain_first
        self._entity(g, t, verdict)
        for r in ev["recipients"]:
            address = r["address"]
            if self._pair(self.pairs, (tenant, sender, address), t):
                s.distinct += 1
            rc = self.recipients.get((tenant, address))
            if rc is None:
                rc = self.recipients[(tenant, address)] = _Recipient(first_seen=t)
            rc.first_seen = min(rc.first_seen, t)
            rc.received += 1
            rc.from_first_time += sender_new
            rc.malicious += verdict == "malicious"
            rc.spam += verdict == "spam"
            if ev["sender_own"]:
                self.senders.setdefault((tenant, address), _Entity()).solicited += 1
                self.domains.setdefault((tenant, r["domain"]), _Entity()).solicited += 1
        for address in ev["reply_to"]:
            self._pair(self.reply, (tenant, sender, address), t)
        if ev["name_key"]:
            entry = self.names.setdefault((tenant, ev["name_key"]), [0, []])
            entry[0] += 1
            if sender not in entry[1] and len(entry[1]) < NAME_SLOTS:
                entry[1].append(sender)

    def _visible(self, e: _Entity | None, t: int) -> bool:
        return e is not None and e.messages > 0 and e.first_seen < t

    def _entity_outputs(self, e: _Entity | None, t: int) -> tuple:
        known = self._visible(e, t)
        if not known:
            return 0.0, 0.0, 0.0, 0.0, known
        prevalence = 2.0 if e.messages >= COMMON_MESSAGES else 1.0
        recent = e.decayed * 2.0 ** (-(t - e.last_seen) / self.h) if t >= e.last_seen else e.decayed
        return prevalence, (t - e.first_seen) / SECONDS_PER_DAY, float(e.messages), recent, known

    def lookup(self, ev: dict) -> list[float]:
        """The OUTPUTS of one event, as known strictly before its time."""
        tenant, t, sender, domain = ev["tenant"], int(ev["time"]), ev["sender"], ev["sender_domain"]
        o = dict.fromkeys(OUTPUTS, 0.0)
        s = self.senders.get((tenant, sender))
        prev, days, msgs, recent, known = self._entity_outputs(s, t)
        o.update(sender_prevalence=prev, sender_days_known=days, sender_messages=msgs, sender_recent=recent)
        if known:
            o.update(sender_active_days=s.active_days, sender_recipients=s.distinct,
                     sender_malicious=s.verdicts["malicious"], sender_benign=s.verdicts["benign"])
        o["sender_solicited"] = s.solicited if s else 0
        d = self.domains.get((tenant, domain))
        prev, days, msgs, _, d_known = self._entity_outputs(d, t)
        o.update(domain_prevalence=prev, domain_days_known=days, domain_messages=msgs)
        if d_known:
            o.update(domain_senders=d.distinct, domain_malicious=d.verdicts["malicious"])
        o["domain_solicited"] = d.solicited if d else 0
        g = self.global_domains.get(domain)
        o["domain_tenants"] = g.distinct if self._visible(g, t) else 0
        self._recipient_outputs(ev, o, t)
        self._name_outputs(ev, o, t, known)
        o["reply_to_never_seen"] = float(any(
            not ((p := self.reply.get((tenant, sender, a))) and p.first_seen < t) for a in ev["reply_to"]))
        return [float(o[name]) for name in OUTPUTS]

    def _recipient_outputs(self, ev: dict, o: dict, t: int) -> None:
        tenant, sender, rcpts = ev["tenant"], ev["sender"], ev["recipients"]
        if not rcpts:
            for name in OUTPUTS[OUTPUTS.index("pair_count_min"): OUTPUTS.index("recipient_received_min") + 1]:
                o[name] = math.nan
            return
        counts, reverse, received, safe, first = [], [0], [], [], []
        for r in rcpts:
            a = r["address"]
            p = self.pairs.get((tenant, sender, a))
            counts.append(p.count if p and p.first_seen < t else 0)
            q = self.pairs.get((tenant, a, sender))
            if q and q.first_seen < t:
                reverse.append(q.count)
            rc = self.recipients.get((tenant, a))
            n = rc.received if rc and rc.first_seen < t else 0
            received.append(n)
            if n:
                safe.append((n - rc.malicious - rc.spam) / n)
                first.append(rc.from_first_time / n)
        o.update(pair_count_min=min(counts), pair_count_max=max(counts), pair_reverse_max=max(reverse),
                 pair_known_share=sum(c > 0 for c in counts) / len(counts),
                 recipient_safe_rate_min=min(safe) if safe else math.nan,
                 recipient_first_time_share_max=max(first) if first else math.nan,
                 recipient_received_min=min(received))

    def _name_outputs(self, ev: dict, o: dict, t: int, sender_known: bool) -> None:
        if not ev["name_key"]:
            o.update(name_other_address=math.nan, name_addresses=math.nan, name_sender_known=math.nan)
            return
        tenant = ev["tenant"]
        entry = self.names.get((tenant, ev["name_key"]))
        addresses = entry[1] if entry else []
        visible = any(self._visible(self.senders.get((tenant, a)), t) for a in addresses)
        in_set = ev["sender"] in addresses and sender_known
        o.update(name_sender_known=float(in_set), name_addresses=float(len(addresses)) if visible else 0.0,
                 name_other_address=float(visible and not in_set))
