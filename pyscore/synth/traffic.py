"""This module contains the normal traffic of a simulated organisation: threads with
replies and forwards, internal and external, at working hours, following each person's
habits; vendor invoices, newsletters, SaaS notifications and mailing lists.

It produces ``Record`` objects (an unrendered Mail plus its labels); ``generate``
renders and writes them. Attacks reuse the timing, quoting and HTML helpers here.
"""

from __future__ import annotations

import datetime as dt
import html as _html
import math
import random
from dataclasses import dataclass, field

from pyscore.synth import documents, transport
from pyscore.synth import templates as T
from pyscore.synth.people import (
    FIRST_NAMES,
    FREEMAIL,
    LAST_NAMES,
    External,
    Org,
    Person,
    Sender,
    _company,
    ascii_fold,
    local_part,
    phone_number,
    random_ip,
)
from pyscore.synth.render import Attachment, Mail


@dataclass
class Record:
    """One generated message with its labels (before rendering)."""

    mail: Mail
    tenant: str
    direction: str  # inbound, outbound, internal
    label: str = "safe"
    category: str = "safe"
    technique: str = ""
    thread: str = ""
    kind: str = ""  # what produced it: internal, outbound, vendor_invoice, newsletter, ...
    meta: dict = field(default_factory=dict)

    @property
    def timestamp(self) -> float:
        return self.mail.date.timestamp()

    @property
    def references(self) -> list[str]:
        refs = list(self.mail.references)
        if self.mail.in_reply_to and self.mail.in_reply_to not in refs:
            refs.append(self.mail.in_reply_to)
        return refs


# --- timing ------------------------------------------------------------------------------------
def _tz(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


def work_time(rng: random.Random, day: dt.date, tz_minutes: int, *, off_hours: float = 0.07) -> dt.datetime:
    """A time on ``day`` in the sender's local working hours (a few evenings and early mornings)."""
    r = rng.random()
    if r < off_hours:
        hour = rng.choice([rng.uniform(6.0, 8.0), rng.uniform(18.5, 23.0)])
    else:
        # two humps: mid-morning and mid-afternoon, lunch dip
        hour = rng.gauss(10.3, 1.1) if rng.random() < 0.55 else rng.gauss(14.8, 1.3)
        hour = min(max(hour, 7.6), 18.6)
    secs = int(hour * 3600) + rng.randint(0, 59)
    base = dt.datetime(day.year, day.month, day.day, tzinfo=_tz(tz_minutes))
    return base + dt.timedelta(seconds=secs)


def machine_time(rng: random.Random, day: dt.date, tz_minutes: int) -> dt.datetime:
    """Automated senders: any hour, a peak before the working day."""
    hour = rng.gauss(6.5, 1.0) if rng.random() < 0.4 else rng.uniform(0, 24)
    hour = min(max(hour, 0.0), 23.99)
    base = dt.datetime(day.year, day.month, day.day, tzinfo=_tz(tz_minutes))
    return base + dt.timedelta(seconds=int(hour * 3600) + rng.randint(0, 59))


def reply_time(rng: random.Random, after: dt.datetime, tz_minutes: int) -> dt.datetime:
    """When a person answers: minutes to a day later, moved into their working hours."""
    delay = min(rng.lognormvariate(math.log(50 * 60), 1.3), 4 * 86400)
    t = (after + dt.timedelta(seconds=delay)).astimezone(_tz(tz_minutes))
    for _ in range(6):
        local_h = t.hour + t.minute / 60
        if t.weekday() < 5 and 7.5 <= local_h <= 19.0:
            return t
        if rng.random() < 0.12 and local_h < 23 and local_h > 7:
            return t  # the occasional evening or weekend answer
        nxt = (t + dt.timedelta(days=1)).date() if local_h > 12 else t.date()
        while nxt.weekday() >= 5:
            nxt += dt.timedelta(days=1)
        t = work_time(rng, nxt, tz_minutes, off_hours=0.0)
        if t > after:
            return t
    return t


# --- text helpers ------------------------------------------------------------------------------
def text_to_html(text: str, quoted: str = "", *, style: str = "outlook") -> str:
    """HTML alternative the way clients write it: one block per line, quotes set apart."""
    def blocks(s: str) -> str:
        out = []
        for line in s.split("\n"):
            esc = _html.escape(line, quote=False)
            if line.startswith("http"):
                esc = f'<a href="{_html.escape(line)}">{esc}</a>'
            out.append(f"<div>{esc or '<br>'}</div>")
        return "\n".join(out)
    font = "font-family:Calibri,Arial,Helvetica,sans-serif;font-size:11pt" if style == "outlook" else "font-family:Arial,sans-serif"
    body = f'<div style="{font}">\n{blocks(text)}\n</div>'
    if quoted:
        if style == "outlook":
            body += f'\n<hr style="display:inline-block;width:98%">\n<div>{blocks(quoted)}</div>'
        else:
            q = "\n".join(ln[2:] if ln.startswith("> ") else "" if ln == ">" else ln
                          for ln in quoted.split("\n"))
            body += f'\n<blockquote style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">{blocks(q)}</blockquote>'
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>\n<body>\n{body}\n</body></html>'


def quote_block(prev: Mail, system: str, lang: str = "en", tz_minutes: int | None = None) -> str:
    """The previous message as the replier's client quotes it (in the replier's local time)."""
    sender = prev.from_[0] or prev.from_[1]
    date = prev.date if tz_minutes is None else prev.date.astimezone(_tz(tz_minutes))
    if system == "m365":
        to = "; ".join(n or a for n, a in prev.to)
        head = (f"From: {sender} <{prev.from_[1]}>\nSent: {date.strftime('%A, %B %d, %Y %I:%M %p')}\n"
                f"To: {to}\nSubject: {prev.subject}")
        return f"{head}\n\n{prev.text}"
    when = date.strftime("%a, %b %d, %Y at %I:%M %p")
    intro = {"de": f"Am {date.strftime('%d.%m.%Y um %H:%M')} schrieb {sender} <{prev.from_[1]}>:",
             "fr": f"Le {date.strftime('%d/%m/%Y à %H:%M')}, {sender} <{prev.from_[1]}> a écrit :",
             "es": f"El {date.strftime('%d/%m/%Y a las %H:%M')}, {sender} <{prev.from_[1]}> escribió:"
             }.get(lang, f"On {when}, {sender} <{prev.from_[1]}> wrote:")
    quoted = "\n".join("> " + ln if ln else ">" for ln in prev.text.split("\n"))
    return f"{intro}\n{quoted}"


def reply_subject(subject: str, system: str, forward: bool = False) -> str:
    base = subject
    low = subject.lower()
    prefixes = ("re: ", "fw: ", "fwd: ", "aw: ", "wg: ", "tr: ", "rv: ")
    while low.startswith(prefixes):
        cut = subject.index(":") + 2
        base, low = base[cut:], low[cut:]
        subject = base
    if forward:
        return ("FW: " if system == "m365" else "Fwd: ") + base
    return ("RE: " if system == "m365" else "Re: ") + base


def compose(rng: random.Random, lang: str, to_first: str, body: str, sig: str, *, greet_p: float = 0.8) -> str:
    """Greeting, body (lightly paraphrased) and signature, as every human-written message here."""
    g = T.greet(rng, lang, to_first) if rng.random() < greet_p else ""
    return T.para(g, T.vary(body, rng, lang), sig)


def invoice_number(rng: random.Random, vendor: External) -> str:
    return f"{vendor.invoice_prefix}{rng.randint(10000, 999999)}"


def invoice_pdf(rng: random.Random, vendor: External, inv: str, amount: str, due: str, bank: dict,
                bill_to: str, phone: str = "") -> bytes:
    lines = [vendor.company, f"Invoice {inv}", f"Date due: {due}", f"Bill to: {bill_to}", "",
             f"{vendor.service or 'Services'} ............ {amount}", "", f"Total due: {amount}", ""]
    if bank:
        lines.append("Remit to: " + ", ".join(f"{k.upper()} {v}" for k, v in bank.items()))
    if phone:
        lines.append(f"Questions? Call {phone}")
    return documents.pdf(lines, title=f"Invoice {inv}",
                         producer=rng.choice(["QuickBooks", "Xero", "Microsoft Word", "SAP", "Sage", "FreshBooks"]))


def office_attachment(rng: random.Random, slots: dict) -> Attachment:
    kind = rng.random()
    name = T.fill(rng.choice(T.FILES), slots)
    stem = name.rsplit(".", 1)[0].replace("/", "-")
    lines = [stem, f"Prepared for {slots['project']}", f"Owner: {slots.get('first2', '')}",
             f"Total {slots['amount']}", f"{slots['quarter']} plan, {slots['n']} items"]
    if kind < 0.4:
        return Attachment(f"{stem}.pdf", "application/pdf", documents.pdf(lines, title=stem, producer="Microsoft Word"))
    if kind < 0.7:
        return Attachment(f"{stem}.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          documents.docx(lines, rng))
    rows = [["Item", "Qty", "Amount"]] + [[f"Line {i}", str(rng.randint(1, 40)), f"{rng.uniform(10, 5000):.2f}"] for i in range(rng.randint(3, 9))]
    return Attachment(f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      documents.xlsx(rows, rng))


def link_token(rng: random.Random, n: int = 22) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))


def doc_link(rng: random.Random, org: Org, slots: dict) -> str:
    choice = rng.random()
    name = T.fill(rng.choice(T.FILES), slots).replace(" ", "%20")
    if choice < 0.4:
        return f"https://{org.slug}.sharepoint.com/:w:/r/sites/{rng.choice(['Finance', 'Sales', 'Ops', 'Team', 'Projects'])}/Shared%20Documents/{name}?d=w{link_token(rng, 32).lower()}"
    if choice < 0.7:
        return f"https://docs.google.com/document/d/{link_token(rng, 44)}/edit?usp=sharing"
    if choice < 0.8:
        return f"https://{org.slug}.atlassian.net/wiki/spaces/{rng.choice(['ENG', 'OPS', 'FIN'])}/pages/{rng.randint(10**6, 10**9)}"
    if choice < 0.9:
        return f"https://www.dropbox.com/scl/fi/{link_token(rng, 20).lower()}/{name}?rlkey={link_token(rng, 25).lower()}&dl=0"
    # campaign pages, event sites and shortened links are shared internally too
    project = slots["project"].lower().replace(" ", "-")
    return rng.choice([f"https://bit.ly/{link_token(rng, 7)}", f"https://sites.google.com/view/{org.slug}-{project}",
                       f"https://{org.slug}-{project}.netlify.app/", f"https://forms.office.com/r/{link_token(rng, 10)}",
                       f"https://tinyurl.com/{link_token(rng, 8).lower()}"])


# --- the simulation ----------------------------------------------------------------------------
@dataclass
class _Thread:
    tid: str
    mails: list[Mail]
    people: list[Person]  # participants in speaking order
    external: External | None
    lang: str
    records: list[Record]


class Simulator:
    """Generates one organisation's safe traffic over ``weeks`` weeks from ``start``."""

    def __init__(self, org: Org, rng: random.Random, start: dt.date, weeks: int, scale: float = 1.0):
        self.org, self.rng, self.start, self.weeks, self.scale = org, rng, start, weeks, scale
        self.records: list[Record] = []
        self.threads: list[_Thread] = []
        self._sig_style = {p.email: rng.random() for p in org.employees}
        self._ext_for = self._external_habits()
        self._tid = 0

    # who, outside, does each employee deal with
    def _external_habits(self) -> dict[str, list[External]]:
        org, rng = self.org, self.rng
        out = {}
        for p in org.employees:
            pool: list[External] = []
            if p.department in ("Sales", "Customer Success"):
                pool = rng.sample(org.customers, min(len(org.customers), rng.randint(3, 8)))
            elif p.department in ("Finance", "Operations", "IT"):
                pool = rng.sample(org.vendors, min(len(org.vendors), rng.randint(3, 7)))
            elif p.department in ("Executive", "Marketing"):
                pool = rng.sample(org.partners, min(len(org.partners), 3)) + rng.sample(org.customers, 2)
            elif p.department == "Engineering":
                pool = rng.sample(org.partners, min(len(org.partners), 2)) + rng.sample(org.vendors, 1)
            else:
                pool = rng.sample(org.vendors, 2) + rng.sample(org.partners, 1)
            out[p.email] = pool
        return out

    def days(self):
        for i in range(self.weeks * 7):
            yield self.start + dt.timedelta(days=i)

    def run(self) -> list[Record]:
        for day in self.days():
            workday = day.weekday() < 5
            self._people_day(day, workday)
            self._vendors_day(day, workday)
            self._inbound_contacts_day(day, workday)
            self._cold_day(day, workday)
            self._bulk_day(day, workday)
        self.records.sort(key=lambda r: (r.mail.date.timestamp(), r.mail.message_id))
        return self.records

    # ---- helpers
    def _poisson(self, lam: float) -> int:
        lam *= self.scale
        if lam <= 0:
            return 0
        n, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return n
            n += 1

    def _new_tid(self) -> str:
        self._tid += 1
        return f"{self.org.tenant}-th{self._tid}"

    def _system_of(self, p: Person, ext: External | None) -> str:
        if ext is None:
            return self.org.system
        d = p.domain
        return transport.FREEMAIL_SYSTEM.get(d, "hosted") if d != ext.domain else ext.system

    def _sig(self, p: Person, lang: str) -> str:
        return T.signature(self.rng, lang, p.name, p.title, p.company if p.company != self.org.name or self.rng.random() < 0.5 else "",
                           p.phone, style=self._sig_style.get(p.email, 0.5))

    def _is_employee(self, p: Person) -> bool:
        return p.domain == self.org.domain

    def _direction(self, sender: Person, rcpts: list[Person]) -> str:
        if not self._is_employee(sender):
            return "inbound"
        return "internal" if all(self._is_employee(r) for r in rcpts) else "outbound"

    def _finish(self, mail: Mail, sender: Person, rcpts: list[Person], system: str, ext: External | None) -> str:
        """Message-ID, client headers and trace for a person-to-person message."""
        rng, org = self.rng, self.org
        mail.message_id = transport.message_id(system, sender.domain, rng)
        extra, style, qp = transport.client_profile(system, rng, mail.subject)
        mail.extra = extra + mail.extra
        mail.boundary_style, mail.qp = style, qp
        direction = self._direction(sender, rcpts)
        if direction == "inbound":
            ip = ext.ip if ext and sender.domain == ext.domain else random_ip(rng)
            route = transport.Route(system=system, domain=sender.domain, ip=ip,
                                    policy=rng.choice(["none", "quarantine", "reject"]))
            if system == "hosted" and rng.random() < 0.5:
                # small domains: SPF-aligned only, or no DMARC record at all
                route.dkim, route.dmarc = rng.choice([("none", "pass"), ("pass", "none"), ("none", "none")])
            rcpt = next(r for r in rcpts if self._is_employee(r))
            transport.stamp_inbound(mail, route, org.mx, rcpt.email, rng)
        else:
            transport.stamp_internal(mail, org.system, org.domain, org.mx, org.ip_prefix, rng,
                                     outbound=direction == "outbound")
        return direction

    def _add(self, mail: Mail, direction: str, thread: _Thread | None, kind: str, **meta) -> Record:
        rec = Record(mail=mail, tenant=self.org.tenant, direction=direction,
                     thread=thread.tid if thread else "", kind=kind, meta=meta)
        self.records.append(rec)
        if thread is not None:
            thread.mails.append(mail)
            thread.records.append(rec)
        return rec

    def _mail(self, sender: Person, to: list[Person], cc: list[Person], subject: str, text: str,
              when: dt.datetime, *, quoted: str = "", html: bool | None = None, system: str = "") -> Mail:
        full = f"{text}\n\n{quoted}" if quoted else text
        use_html = html if html is not None else system in ("m365", "google") or self.rng.random() < 0.5
        mail = Mail(from_=(sender.name, sender.email), to=[(p.name, p.email) for p in to],
                    cc=[(p.name, p.email) for p in cc], subject=subject, date=when,
                    message_id="", text=full,
                    html=text_to_html(text, quoted, style="outlook" if system == "m365" else "gmail") if use_html else "")
        return mail

    # ---- person-to-person threads
    def _people_day(self, day: dt.date, workday: bool) -> None:
        org, rng = self.org, self.rng
        for p in org.employees:
            lam = p.rate * (1.0 if workday else 0.04)
            for _ in range(self._poisson(lam)):
                if rng.random() < 0.68 or not self._ext_for[p.email]:
                    self._internal_thread(p, day)
                else:
                    self._external_thread(p, day)

    def _pick_colleagues(self, p: Person) -> list[Person]:
        contacts = self.org.contacts[p.email]
        people = [c for c, _ in contacts]
        weights = [w for _, w in contacts]
        first = self.rng.choices(people, weights)[0]
        out = [first]
        if self.rng.random() < 0.3:
            extra = self.rng.choices(people, weights)[0]
            if extra is not first:
                out.append(extra)
        return out

    def _internal_thread(self, p: Person, day: dt.date) -> None:
        rng = self.rng
        rcpts = self._pick_colleagues(p)
        slots = T.base_slots(rng)
        slots["first2"] = rng.choice(self.org.employees).first
        slots["vendor"] = rng.choice(self.org.vendors).company
        urgent_ok = p.is_vip or p.is_finance or p.department == "Operations"
        topics = T.INTERNAL_TOPICS if urgent_ok else T.INTERNAL_TOPICS[:-1]
        topic = rng.choice(topics)
        if urgent_ok and rng.random() < 0.12:
            topic = T.INTERNAL_TOPICS[-1]
            fin = [e for e in self.org.finance if e is not p]
            if fin:
                rcpts = [rng.choice(fin)]
        subject = T.fill(rng.choice(topic["subject"]), slots)
        body = T.fill(rng.choice(topic["body"]), slots)
        if rng.random() < 0.35:
            body = T.join_sentences(body, T.fill(rng.choice(rng.choice(T.INTERNAL_TOPICS)["body"]), slots))
        if rng.random() < 0.12:
            body += "\n\n" + doc_link(rng, self.org, slots)
        text = compose(rng, "en", rcpts[0].first, body, self._sig(p, "en"), greet_p=0.65)
        when = work_time(rng, day, p.tz)
        th = _Thread(self._new_tid(), [], [p, *rcpts], None, "en", [])
        self.threads.append(th)
        if p.department in ("People", "Finance") and rng.random() < 0.06:
            password = link_token(rng, rng.choice([6, 8, 10]))
            stem = rng.choice(["Payroll", "Salary review", "Bonus plan", "Headcount", "Bank reconciliation"])
            text = T.para(text, rng.choice([f"The file is password protected: {password}",
                                            f"Password: {password}", f"Use {password} to open it."]))
        else:
            password = ""
        mail = self._mail(p, rcpts[:1], rcpts[1:], subject, text, when, system=self.org.system)
        if password:
            inner = office_attachment(rng, slots)
            mail.attachments.append(Attachment(f"{stem} {slots['quarter']}.zip", "application/zip",
                                               documents.encrypted_zip([(inner.filename, inner.data)], password, rng)))
        elif rng.random() < 0.1:
            mail.attachments.append(office_attachment(rng, slots))
        d = self._finish(mail, p, rcpts, self.org.system, None)
        self._add(mail, d, th, "internal")
        self._continue(th, slots, max_len=rng.choice([1, 2, 2, 3, 3, 4, 5, 7]))

    def _external_thread(self, p: Person, day: dt.date) -> None:
        rng = self.rng
        ext = rng.choice(self._ext_for[p.email])
        contact = rng.choice(ext.contacts)
        slots = self._ext_slots(ext, "en")
        subjects, bodies = T.OUTBOUND_TOPICS[ext.kind]
        subject = T.fill(rng.choice(subjects), slots)
        body = T.fill(rng.choice(bodies), slots)
        text = compose(rng, "en", contact.first, body, self._sig(p, "en"))
        when = work_time(rng, day, p.tz)
        th = _Thread(self._new_tid(), [], [p, contact], ext, ext.lang, [])
        self.threads.append(th)
        mail = self._mail(p, [contact], [], subject, text, when, system=self.org.system)
        if rng.random() < 0.15:
            mail.attachments.append(office_attachment(rng, slots))
        d = self._finish(mail, p, [contact], self.org.system, ext)
        self._add(mail, d, th, "outbound")
        self._continue(th, slots, max_len=rng.choice([1, 2, 2, 3, 4, 5]))

    def _ext_slots(self, ext: External, lang: str) -> dict:
        slots = T.base_slots(self.rng, lang)
        slots.update(company=ext.company, service=ext.service or "services",
                     inv=invoice_number(self.rng, ext) if ext.kind == "vendor" else f"{self.rng.randint(10000, 99999)}",
                     year_hint=self.rng.choice(["next year", "the coming term", "FY renewal"]),
                     first2=self.rng.choice(self.org.employees).first)
        return slots

    def _continue(self, th: _Thread, slots: dict, max_len: int) -> None:
        """Replies (and now and then a forward) until the thread runs out."""
        rng = self.rng
        end = dt.datetime.combine(self.start + dt.timedelta(weeks=self.weeks), dt.time(), tzinfo=dt.UTC)
        for _ in range(max_len - 1):
            if rng.random() > 0.72:
                break
            prev = th.mails[-1]
            prev_sender = next(q for q in th.people if q.email == prev.from_[1])
            others = [q for q in th.people if q.email != prev.from_[1]]
            replier = rng.choice(others[:2]) if len(others) > 1 and rng.random() < 0.3 else others[0]
            when = reply_time(rng, prev.date, replier.tz)
            if when >= end:
                break
            lang = th.lang if not self._is_employee(replier) else "en"
            ext = th.external if not self._is_employee(replier) else None
            system = self._system_of(replier, ext) if ext else self.org.system
            if rng.random() < 0.06 and self._is_employee(replier):
                self._forward(th, replier, prev, when, slots)
                continue
            body = self._reply_body(lang, slots, th)
            text = compose(rng, lang, prev_sender.first, body, self._sig(replier, lang), greet_p=0.5)
            quoted = quote_block(prev, system, lang, replier.tz)
            to = [prev_sender]
            cc = [q for q in th.people if q is not replier and q is not prev_sender and rng.random() < 0.8]
            mail = self._mail(replier, to, cc, reply_subject(prev.subject, system), text, when,
                              quoted=quoted, system=system)
            mail.in_reply_to = prev.message_id
            mail.references = (prev.references + [prev.message_id])[-8:]
            if ext is not None and ext.kind == "vendor" and rng.random() < 0.15:
                mail.attachments.append(self._invoice_attachment(ext, slots, self.org.name))
            d = self._finish(mail, replier, to + cc, system, ext)
            self._add(mail, d, th, "reply")

    def _reply_body(self, lang: str, slots: dict, th: _Thread) -> str:
        rng = self.rng
        body = T.fill(rng.choice(T.REPLIES[lang]), slots)
        if rng.random() < 0.35:
            pool = T.INBOUND_EXTERNAL[lang] if th.external is not None and rng.random() < 0.5 else T.REPLIES[lang]
            body = T.join_sentences(body, T.fill(rng.choice(pool), slots))
        return body

    def _forward(self, th: _Thread, who: Person, prev: Mail, when: dt.datetime, slots: dict) -> None:
        rng = self.rng
        target = self._pick_colleagues(who)[0]
        note = T.fill(rng.choice(["FYI", "See below.", "Can you handle this?", "Forwarding for visibility.",
                                  "Please take a look at the thread below.", "FYI - see {doc}."]), slots)
        sender = prev.from_[0] or prev.from_[1]
        fwd = (f"---------- Forwarded message ---------\nFrom: {sender} <{prev.from_[1]}>\n"
               f"Date: {prev.date.strftime('%a, %b %d, %Y at %I:%M %p')}\nSubject: {prev.subject}\n"
               f"To: {', '.join(a for _, a in prev.to)}\n\n{prev.text}")
        text = T.para(note, self._sig(who, "en"))
        nt = _Thread(self._new_tid(), [], [who, target], None, "en", [])
        self.threads.append(nt)
        mail = self._mail(who, [target], [], reply_subject(prev.subject, self.org.system, forward=True),
                          text, when, quoted=fwd, system=self.org.system)
        mail.attachments = list(prev.attachments)
        if self.org.system == "google":
            mail.references = [prev.message_id]
        d = self._finish(mail, who, [target], self.org.system, None)
        self._add(mail, d, nt, "forward", forwarded=prev.message_id)

    # ---- vendors: invoices, reminders (hard cases)
    def _invoice_attachment(self, v: External, slots: dict, bill_to: str) -> Attachment:
        inv = slots.get("inv") or invoice_number(self.rng, v)
        data = invoice_pdf(self.rng, v, inv, slots["amount"], slots.get("due", slots["day"]), v.bank, bill_to)
        name = self.rng.choice([f"Invoice_{inv}.pdf", f"{inv}.pdf", f"{v.company.replace(' ', '_')}_{inv}.pdf",
                                f"INV {inv}.pdf"])
        return Attachment(name.replace("/", "-"), "application/pdf", data)

    def _vendors_day(self, day: dt.date, workday: bool) -> None:
        if not workday:
            return
        rng, org = self.rng, self.org
        ap = org.finance
        for v in org.vendors:
            if rng.random() < 0.09 * self.scale:
                self._vendor_mail(v, day, rng.choice(ap), reminder=rng.random() < 0.22)

    def _vendor_mail(self, v: External, day: dt.date, to: Person, *, reminder: bool) -> None:
        rng = self.rng
        contact = rng.choice(v.contacts)
        lang = v.lang
        slots = self._ext_slots(v, lang)
        slots.update(due=(day + dt.timedelta(days=rng.choice([14, 30, 45]))).strftime("%d.%m.%Y" if lang != "en" else "%B %d"),
                     terms=rng.choice([15, 30, 45, 60]))
        subjects, bodies = (T.VENDOR_REMINDER if reminder else T.VENDOR_INVOICE)[lang]
        subject = T.fill(rng.choice(subjects), slots)
        body = T.fill(rng.choice(bodies), slots)
        sig = T.signature(rng, lang, contact.name, contact.title, v.company, contact.phone, style=0.7)
        text = compose(rng, lang, to.first, body, sig, greet_p=0.9)
        when = work_time(rng, day, contact.tz)
        th = _Thread(self._new_tid(), [], [contact, to], v, lang, [])
        self.threads.append(th)
        system = v.system
        mail = self._mail(contact, [to], [], subject, text, when, system=system)
        if not reminder or rng.random() < 0.5:
            mail.attachments.append(self._invoice_attachment(v, slots, self.org.name))
        d = self._finish(mail, contact, [to], system, v)
        self._add(mail, d, th, "vendor_reminder" if reminder else "vendor_invoice")
        self._continue(th, slots, max_len=rng.choice([1, 1, 2, 3]))

    def _inbound_contacts_day(self, day: dt.date, workday: bool) -> None:
        """Customers and partners starting conversations with the people they know."""
        if not workday:
            return
        rng, org = self.rng, self.org
        for ext in org.customers + org.partners:
            if rng.random() >= 0.12 * self.scale:
                continue
            known = [p for p in org.employees if ext in self._ext_for[p.email]]
            to = rng.choice(known) if known else rng.choice(org.employees)
            contact = rng.choice(ext.contacts)
            slots = self._ext_slots(ext, ext.lang)
            body = T.fill(rng.choice(T.INBOUND_EXTERNAL[ext.lang]), slots)
            subject = T.fill(rng.choice(T.OUTBOUND_TOPICS[ext.kind][0]), slots)
            sig = T.signature(rng, ext.lang, contact.name, contact.title, ext.company, contact.phone)
            text = compose(rng, ext.lang, to.first, body, sig)
            when = work_time(rng, day, contact.tz)
            system = self._system_of(contact, ext)
            th = _Thread(self._new_tid(), [], [contact, to], ext, ext.lang, [])
            self.threads.append(th)
            mail = self._mail(contact, [to], [], subject, text, when, system=system)
            if rng.random() < 0.05:
                mail.reply_to = [(ext.company, f"{rng.choice(['sales', 'office', 'team', 'orders'])}@{ext.domain}")]
            if rng.random() < 0.12:
                mail.attachments.append(office_attachment(rng, slots))
            d = self._finish(mail, contact, [to], system, ext)
            self._add(mail, d, th, "inbound_contact")
            self._continue(th, slots, max_len=rng.choice([1, 2, 3, 4]))

    def _cold_day(self, day: dt.date, workday: bool) -> None:
        """First contact from strangers: applicants, prospects, sales outreach, introductions."""
        rng, org = self.rng, self.org
        for _ in range(self._poisson(len(org.employees) * (0.09 if workday else 0.015))):
            kind = rng.choices(list(T.COLD), [0.22, 0.25, 0.3, 0.1, 0.13])[0]
            dept = {"applicant": ("People", "Executive"), "prospect": ("Sales", "Customer Success"),
                    "outreach": ("Finance", "Operations", "Executive", "Marketing", "IT"),
                    "invitation": ("Executive", "Marketing"), "intro": ("Executive", "Sales", "Engineering")}[kind]
            pool = [p for p in org.employees if p.department in dept] or org.employees
            to = rng.choice(pool)
            company, domain, lang = _company(rng, set())
            lang = "en"
            if kind == "applicant" or rng.random() < 0.15:
                sender = Person(name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", email="")
                sender.email = f"{local_part(sender.name, rng.choice(['first.last', 'flast', 'first_last']), rng)}{rng.choice(['', str(rng.randint(1, 99))])}@{rng.choice(FREEMAIL)}"
            else:
                sender = Person(name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", email="", company=company)
                sender.email = f"{local_part(sender.name, rng.choice(['first.last', 'first', 'flast']), rng)}@{domain}"
            sender.tz = rng.choice([-300, -360, -480, 0, 60])
            sender.title = rng.choice(["Account Executive", "Founder", "Director", "Head of Partnerships", "Editor", ""])
            slots = T.base_slots(rng)
            slots.update(role=rng.choice(T.COLD_ROLES), name=sender.name if kind != "intro" else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                         event=rng.choice(T.COLD_EVENTS), first=to.first, first2=rng.choice(org.employees).first,
                         company=company if kind != "outreach" else org.name)
            subjects, bodies = T.COLD[kind]
            subject = T.fill(rng.choice(subjects), slots)
            sig = T.signature(rng, lang, sender.name, sender.title if kind != "applicant" else "",
                              sender.company, phone_number(rng) if rng.random() < 0.5 else "")
            text = compose(rng, lang, to.first, T.fill(rng.choice(bodies), slots), sig, greet_p=0.9)
            when = work_time(rng, day, sender.tz, off_hours=0.12)
            system = transport.FREEMAIL_SYSTEM.get(sender.domain, "hosted") if sender.domain != domain else \
                rng.choices(["m365", "google", "hosted"], [0.45, 0.35, 0.2])[0]
            mail = self._mail(sender, [to], [], subject, text, when, system=system)
            if kind == "applicant":
                cv = [sender.name, f"Experience: {slots['n']} years", "Education", "Skills", "References on request"]
                mail.attachments.append(rng.choice([
                    Attachment(f"CV_{ascii_fold(sender.name).replace(' ', '_')}.pdf", "application/pdf", documents.pdf(cv, title="CV", producer="Microsoft Word")),
                    Attachment("Resume.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", documents.docx(cv, rng))]))
            elif kind in ("prospect", "outreach") and rng.random() < 0.15:
                mail.attachments.append(office_attachment(rng, slots))
            ext = External(kind="cold", company=company, domain=domain, system=system, contacts=[sender], ip=random_ip(rng))
            th = _Thread(self._new_tid(), [], [sender, to], ext, lang, [])
            self.threads.append(th)
            d = self._finish(mail, sender, [to], system, ext)
            self._add(mail, d, th, f"cold_{kind}")
            self._continue(th, slots, max_len=rng.choice([1, 1, 1, 2, 3]))

    # ---- bulk: newsletters, SaaS, lists
    def _bulk_day(self, day: dt.date, workday: bool) -> None:
        rng, org = self.rng, self.org
        if not hasattr(self, "_subs"):
            self._subs = {s.address: rng.sample(org.employees, min(len(org.employees), rng.randint(2, 9)))
                          for s in org.newsletters + org.lists}
            self._news_days = {s.address: sorted(rng.sample(range(7), rng.choice([1, 1, 2, 3, 5])))
                               for s in org.newsletters}
        for s in org.newsletters:
            if day.weekday() in self._news_days[s.address] and rng.random() < min(1.0, 0.95 * self.scale):
                issue = self._newsletter_issue(s, day)
                for p in self._subs[s.address]:
                    self._newsletter(s, p, day, issue)
        for p in org.employees:
            for _ in range(self._poisson(0.22 if workday else 0.05)):
                self._saas_note(rng.choice(org.saas), p, day)
        for lst in org.lists:
            for _ in range(self._poisson(1.1 if workday else 0.2)):
                self._list_post(lst, day)

    def _newsletter_issue(self, s: Sender, day: dt.date) -> dict:
        rng = self.rng
        slots = T.base_slots(rng)
        slots["company"] = rng.choice(self.org.customers + self.org.vendors).company
        stories = []
        for _ in range(rng.randint(4, 12)):
            host = rng.choice(s.link_hosts)
            url = f"https://{host}/{rng.choice(['ls/click', 'c', 'track/click', 'r'])}?upn={link_token(rng, rng.randint(30, 90))}"
            stories.append((T.fill(rng.choice(T.NEWS_HEADLINES), slots), url, rng.choice(T.NEWS_SECTIONS)))
        subject = rng.choice([f"{s.brand}: {stories[0][0]}", stories[0][0], f"{s.brand} - {day.strftime('%B %d')}",
                              f"This week: {stories[1][0]}"])
        dom = s.address.rsplit("@", 1)[1]
        reply_to = rng.choice(["", "", f"editors@{dom}", f"reply@{dom}", f"{ascii_fold(rng.choice(FIRST_NAMES)).lower()}@{dom}"])
        return {"subject": subject, "stories": stories, "id": link_token(rng, 10), "reply_to": reply_to}

    def _newsletter(self, s: Sender, p: Person, day: dt.date, issue: dict) -> None:
        rng = self.rng
        when = machine_time(rng, day, self.org.tz)
        unsub = f"https://{s.link_hosts[0]}/unsubscribe?u={link_token(rng, 24)}"
        text_lines = [s.brand, "", *[f"{h}\n{u}\n" for h, u, _ in issue["stories"]],
                      f"Unsubscribe: {unsub}", "You are receiving this because you subscribed."]
        rows = "".join(f'<tr><td style="padding:12px"><p style="color:#888;font-size:11px">{sec.upper()}</p>'
                       f'<a href="{u}" style="font-size:18px;color:#1a0dab">{_html.escape(h)}</a>'
                       f'<p><a href="{u}&amp;x=more">Read more</a></p></td></tr>' for h, u, sec in issue["stories"])
        html = (f'<html><body style="margin:0;background:#f4f4f4"><table width="600" align="center" style="background:#fff">'
                f'<tr><td><img src="https://{s.link_hosts[0]}/logo.png" alt="{_html.escape(s.brand)}" width="200"></td></tr>'
                f'{rows}<tr><td style="font-size:11px;color:#999"><a href="{unsub}">Unsubscribe</a> | '
                f'<a href="https://{s.link_hosts[0]}/preferences">Preferences</a></td></tr></table>'
                f'<img src="https://{s.link_hosts[1]}/open/{link_token(rng, 16)}.gif" width="1" height="1"></body></html>')
        mail = Mail(from_=(s.display, s.address), to=[("", p.email)], subject=issue["subject"], date=when,
                    message_id="", text="\n".join(text_lines), html=html)
        if issue["reply_to"]:
            mail.reply_to = [(s.display, issue["reply_to"])]
        self._bulk_finish(mail, s, p, unsub)
        self._add(mail, "inbound", None, "newsletter", sender=s.address)

    def _bulk_finish(self, mail: Mail, s: Sender, p: Person, unsub: str = "") -> None:
        rng = self.rng
        dom = s.address.rsplit("@", 1)[1]
        root = ".".join(dom.split(".")[-2:]) if not dom.endswith((".co.uk", ".com.au")) else ".".join(dom.split(".")[-3:])
        esp = s.esp
        mailfrom = f"em{rng.randint(100, 9999)}.{root}" if esp is None else esp[0]
        route = transport.Route(system="esp", domain=dom, ip=random_ip(rng), mailfrom=mailfrom,
                                dkim_domain=root, policy=rng.choice(["none", "quarantine", "reject"]))
        mail.message_id = transport.message_id("esp", dom, rng)
        mail.boundary_style = "generic"
        if unsub:
            mail.extra.append(("List-Unsubscribe", f"<{unsub}>, <mailto:unsubscribe@{dom}>"))
            mail.extra.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        transport.stamp_inbound(mail, route, self.org.mx, p.email, rng)

    def _saas_note(self, s: Sender, p: Person, day: dt.date) -> None:
        rng, org = self.rng, self.org
        kind = rng.choices(list(T.SAAS_NOTES), [0.12, 0.12, 0.26, 0.24, 0.14, 0.12])[0]
        other = rng.choice(org.employees)
        slots = T.base_slots(rng)
        slots.update(brand=s.brand, email=p.email, person=other.name, city=rng.choice(T.CITIES),
                     browser=rng.choice(T.BROWSERS), prio=rng.choice(["High", "Medium", "Low"]),
                     when=day.strftime("%B %d"), due=(day + dt.timedelta(days=rng.randint(3, 30))).strftime("%B %d"),
                     company=org.name, q=rng.randint(1, 4))
        slots["file"] = T.fill(rng.choice(T.FILES), slots)
        subjects, bodies = T.SAAS_NOTES[kind]
        subject = T.fill(rng.choice(subjects), slots)
        body = T.fill(rng.choice(bodies), slots)
        host = rng.choice(s.link_hosts)
        path = {"password_reset": f"/reset-password?token={link_token(rng, 40)}",
                "signin": "/security/activity", "share": f"/s/{link_token(rng, 16)}",
                "mention": f"/browse/{slots['ticket']}", "meeting": f"/j/{rng.randint(10**9, 10**10)}",
                "billing": f"/billing/invoices/{rng.randint(10**5, 10**6)}"}[kind]
        url = f"https://{host}{path}"
        cta = {"password_reset": "Reset password", "signin": "Review activity", "share": "Open",
               "mention": "View", "meeting": "Join meeting", "billing": "View receipt"}[kind]
        text = f"{body}\n\n{cta}: {url}\n\n{s.brand}, Inc. | Privacy | Help: https://{s.link_hosts[0]}/help"
        html = (f'<html><body style="font-family:Helvetica,Arial"><table width="560" align="center"><tr><td>'
                f'<h2>{_html.escape(s.brand)}</h2><p>{_html.escape(body)}</p>'
                f'<p><a href="{url}" style="background:#0b5cff;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none">{cta}</a></p>'
                f'<p style="font-size:11px;color:#777"><a href="https://{s.link_hosts[0]}/help">Help</a> | '
                f'<a href="https://{s.link_hosts[0]}/privacy">Privacy</a></p></td></tr></table></body></html>')
        display = s.display.replace("{person}", other.name)
        when = machine_time(rng, day, org.tz) if kind in ("billing", "signin") else work_time(rng, day, org.tz)
        mail = Mail(from_=(display, s.address), to=[("", p.email)], subject=subject, date=when,
                    message_id="", text=text, html=html)
        if kind == "share" and rng.random() < 0.7:
            mail.reply_to = [(other.name, other.email)]  # sharing services answer to the person
        self._bulk_finish(mail, s, p)
        self._add(mail, "inbound", None, f"saas_{kind}", sender=s.address)

    def _list_post(self, lst: Sender, day: dt.date) -> None:
        rng, org = self.rng, self.org
        subs = self._subs[lst.address]
        recipient = rng.choice(subs)
        ext_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        dom = rng.choice(["gmail.com", "outlook.com", f"{rng.choice(['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay'])}.com"])
        addr = f"{local_part(ext_name, rng.choice(['first.last', 'flast', 'first_last']), rng)}@{dom}"
        slots = T.base_slots(rng)
        slots["title"] = rng.choice(["data engineer", "controller", "SRE", "buyer", "analyst"])
        subject = f"[{lst.brand}] " + T.fill(rng.choice(["{project} experiences?", "Meetup {day}", "Question about {doc}",
                                                          "Intermittent failures", "Slides from last week", "Hiring: {title}"]), slots)
        body = T.fill(rng.choice(T.LIST_POSTS), slots)
        if rng.random() < 0.2:  # people on lists paste shortened and redirected links too
            body += "\n\n" + rng.choice([f"https://bit.ly/{link_token(rng, 7)}", f"https://tinyurl.com/{link_token(rng, 8).lower()}",
                                        f"https://www.google.com/url?q=https://{lst.link_hosts[1]}/events/{rng.randint(100, 999)}&sa=D",
                                        f"https://{link_token(rng, 8).lower()}.github.io/notes/"])
        footer = f"_______________________________________________\n{lst.brand} mailing list\n{lst.address}\nhttps://{lst.link_hosts[0]}/mailman/listinfo/{lst.brand}"
        when = work_time(rng, day, rng.choice([-300, 0, 60, -480]))
        mail = Mail(from_=(ext_name, addr), to=[("", lst.address)], subject=subject, date=when, message_id="",
                    text=T.para(body, ext_name.split()[0], footer))
        system = transport.FREEMAIL_SYSTEM.get(dom, "hosted")
        mail.message_id = transport.message_id(system, dom, rng)
        extra, style, qp = transport.client_profile(system, rng, subject)
        mail.extra = extra + [("List-Id", f"<{lst.list_id}>"), ("List-Post", f"<mailto:{lst.address}>"),
                              ("List-Unsubscribe", f"<https://{lst.link_hosts[0]}/mailman/options/{lst.brand}>"),
                              ("Precedence", "list")]
        mail.boundary_style, mail.qp = style, qp
        if rng.random() < 0.3:
            mail.reply_to = [("", lst.address)]
        list_dom = lst.address.rsplit("@", 1)[1]
        route = transport.Route(system="hosted", domain=dom, ip=random_ip(rng), mailfrom=list_dom,
                                dkim_domain=list_dom, dmarc="pass" if rng.random() < 0.6 else "fail",
                                host=f"mail.{list_dom}", policy="none")
        transport.stamp_inbound(mail, route, org.mx, recipient.email, rng)
        self._add(mail, "inbound", None, "mailing_list", sender=lst.address)
