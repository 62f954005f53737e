"""This module contains the attack techniques: each builds one message against a victim
from an ``AttackContext`` and returns it with its labels.

The context is plain data (people, a vendor, a thread, a time), so the same techniques
inject into any communication graph: the simulated organisations here, or the Enron
mailboxes in ``pyscore.datasets``. Attacks go through the same rendering, client-header
and trace code as safe mail and carry no marker of their own.

    >>> raw = render_attack("vendor_lookalike_homoglyph", ctx, random.Random(7))
"""

from __future__ import annotations

import base64
import datetime as dt
import html as _html
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pyscore.synth import documents, transport
from pyscore.synth import templates as T
from pyscore.synth.people import (
    FIRST_NAMES,
    FREEMAIL,
    LAST_NAMES,
    External,
    Person,
    _company,
    ascii_fold,
    local_part,
    make_graymail_senders,
    phone_number,
    random_ip,
)
from pyscore.synth.render import Attachment, Mail, render
from pyscore.synth.traffic import (
    compose,
    invoice_pdf,
    link_token,
    quote_block,
    reply_subject,
    text_to_html,
)


@dataclass
class ThreadRef:
    """An earlier real conversation that a hijack continues."""

    subject: str
    message_ids: list[str]  # oldest first; the last one is answered
    partner: Person  # the outside correspondent the attacker poses as
    last_from: Person  # who wrote the newest message
    last_to: list[Person]
    last_text: str
    last_date: dt.datetime
    partner_company: str = ""
    partner_system: str = "hosted"


@dataclass
class AttackContext:
    """Everything a technique needs; fields a technique does not use may stay empty."""

    victim: Person
    org_domain: str
    time: dt.datetime  # timezone-aware Date of the attack, in the attacker's offset
    org_name: str = ""
    mx: str = ""  # receiving host named in Received / Authentication-Results
    impersonated: Person | None = None  # an executive (VIP) of the victim's organisation
    vendor: External | None = None  # a real vendor of the organisation, with its contacts
    thread: ThreadRef | None = None
    lang: str = "en"
    org_dmarc_policy: str = "quarantine"
    # "modern": client headers, Received chain, Authentication-Results, HTML alternative.
    # "bare": only RFC 5322 core headers and a text body, like archives that dropped traces.
    style: str = "modern"
    message_id: Callable[[random.Random], str] | None = None  # override Message-ID habits
    known_domains: frozenset[str] = frozenset()  # real correspondents' domains no lookalike may hit


@dataclass
class AttackResult:
    mail: Mail
    technique: str
    category: str
    label: str
    meta: dict = field(default_factory=dict)


# technique -> (category, label, what the context must provide)
TECHNIQUES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "vip_freemail": ("bec", "malicious", ("impersonated",)),
    "reply_to_swap": ("bec", "malicious", ("impersonated",)),
    "gift_card": ("bec", "malicious", ("impersonated",)),
    "vendor_lookalike_homoglyph": ("bec", "malicious", ("vendor",)),
    "vendor_lookalike_added_letter": ("bec", "malicious", ("vendor",)),
    "vendor_lookalike_dropped_letter": ("bec", "malicious", ("vendor",)),
    "vendor_lookalike_other_tld": ("bec", "malicious", ("vendor",)),
    "vendor_compromised": ("bec", "malicious", ("vendor",)),
    "thread_hijack": ("bec", "malicious", ("thread",)),
    "cred_lookalike_login": ("credential_phishing", "malicious", ()),
    "cred_url_shortener": ("credential_phishing", "malicious", ()),
    "cred_open_redirect": ("credential_phishing", "malicious", ()),
    "cred_free_hosting": ("credential_phishing", "malicious", ()),
    "html_attachment": ("credential_phishing", "malicious", ()),
    "macro_document": ("malware", "malicious", ()),
    "iso_image": ("malware", "malicious", ()),
    "archive_executable": ("malware", "malicious", ()),
    "encrypted_archive": ("malware", "malicious", ()),
    "callback_invoice": ("callback_scam", "malicious", ()),
    "extortion": ("callback_scam", "malicious", ()),
    "advance_fee": ("callback_scam", "malicious", ()),
    "spam": ("spam", "spam", ()),
    "graymail": ("graymail", "spam", ()),
}

# --- lookalike domains --------------------------------------------------------------------
_ASCII_GLYPHS = {"o": ["0"], "l": ["1", "i"], "i": ["l", "1"], "m": ["rn"], "w": ["vv"],
                 "d": ["cl"], "e": ["3"], "a": ["4"], "s": ["5"], "g": ["q"], "n": ["m"]}
_IDN_GLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440",
               "x": "\u0445", "i": "\u0456"}
_OTHER_TLDS = ["co", "net", "org", "us", "biz", "info", "cc", "com.co", "co.com", "email",
               "online", "site", "llc", "group", "com"]


def split_domain(domain: str) -> tuple[str, str]:
    """(label, suffix) with two-level suffixes kept whole: acme.co.uk -> (acme, co.uk)."""
    parts = domain.split(".")
    if len(parts) > 2 and parts[-2] in ("co", "com", "org", "net", "ac", "gov"):
        return ".".join(parts[:-2]), ".".join(parts[-2:])
    return ".".join(parts[:-1]), parts[-1]


def lookalike(domain: str, kind: str, rng: random.Random, avoid: frozenset[str] | set[str] = frozenset()) -> str:
    """A domain a reader takes for ``domain``; never equal to it nor to any domain in
    ``avoid`` (other real correspondents). Unicode for IDN homoglyphs."""
    label, suffix = split_domain(domain.lower())
    for _ in range(50):
        if kind == "homoglyph":
            idx = [i for i, c in enumerate(label) if c in _ASCII_GLYPHS or c in _IDN_GLYPHS]
            if not idx:
                kind = "added_letter"
                continue
            i = rng.choice(idx)
            c = label[i]
            if c in _IDN_GLYPHS and (c not in _ASCII_GLYPHS or rng.random() < 0.3):
                new = label[:i] + _IDN_GLYPHS[c] + label[i + 1:]
            else:
                new = label[:i] + rng.choice(_ASCII_GLYPHS[c]) + label[i + 1:]
            out = f"{new}.{suffix}"
        elif kind == "added_letter":
            r = rng.random()
            i = rng.randint(1, max(1, len(label) - 1))
            if r < 0.4:
                new = label[:i] + label[i - 1] + label[i:]  # doubled letter
            elif r < 0.7:
                new = label[:i] + rng.choice("aeiousnrt") + label[i:]
            elif r < 0.85 and "-" not in label:
                new = label[:i] + "-" + label[i:]
            else:
                new = label + rng.choice(["-inc", "-llc", "group", "-us", "-billing", "-pay", "corp", "-invoices"])
            out = f"{new}.{suffix}"
        elif kind == "dropped_letter":
            if len(label) < 4:
                kind = "added_letter"
                continue
            i = rng.randint(1, len(label) - 2)
            out = f"{label[:i] + label[i + 1:]}.{suffix}"
        elif kind == "other_tld":
            tld = rng.choice([t for t in _OTHER_TLDS if t != suffix])
            out = f"{label}.{tld}"
        else:
            raise ValueError(f"unknown lookalike kind {kind!r}")
        if out != domain.lower() and out.strip(".-") == out and out not in avoid:
            return out
    raise ValueError(f"cannot derive a lookalike of {domain!r}")


def address_domain(domain: str) -> str:
    """The form of a domain written in an address header (IDN as punycode)."""
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")


# --- shared builders ------------------------------------------------------------------------
def _freemail_address(rng: random.Random, person: Person) -> str:
    first, *rest = ascii_fold(person.name).lower().split()
    last = "".join(rest) or first
    local = rng.choice([f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}", f"{first[0]}{last}.office",
                        f"ceo.{last}", f"{first}.{last}.exec", f"{last}{first[0]}{rng.randint(10, 999)}",
                        f"{first}{rng.randint(100, 9999)}", f"office.{first}{last}", f"{first}_{last}",
                        f"{first}.{last}{rng.choice(['', '.', '-'])}{rng.choice(['mobile', 'private', 'work', 'mail'])}"])
    dom = rng.choice(FREEMAIL)
    return f"{local}@{dom}"


def _random_person(rng: random.Random, domain: str) -> Person:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    style = rng.choice(["first.last", "flast", "first", "firstl"])
    return Person(name=name, email=f"{local_part(name, style, rng)}@{domain}")


def _new_bank(rng: random.Random, lang: str, old: dict | None) -> dict:
    for _ in range(10):
        if lang == "en" or rng.random() < 0.3:
            bank = {"bank": rng.choice(["Chase", "TD Bank", "Citizens Bank", "Regions Bank", "Truist",
                                        "Capital One", "KeyBank", "Fifth Third Bank"]),
                    "routing": f"{rng.randint(10**8, 10**9 - 1)}", "account": f"{rng.randint(10**9, 10**11)}"}
        else:
            cc = rng.choice(["GB", "PT", "LT", "HK", "DE", "ES", "FR", "PL"])
            digits = "".join(str(rng.randint(0, 9)) for _ in range(18))
            bank = {"bank": rng.choice(["Revolut", "Wise", "Barclays", "HSBC", "Banco BPI", "ING"]),
                    "iban": f"{cc}{rng.randint(10, 99)} " + " ".join(digits[i:i + 4] for i in range(0, 18, 4)),
                    "swift": "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6)) + "22"}
        if bank != old:
            return bank
    return bank


def _bank_text(bank: dict, lang: str) -> str:
    names = {"en": {"bank": "Bank", "routing": "Routing/ABA", "account": "Account", "iban": "IBAN", "swift": "SWIFT/BIC"},
             "de": {"bank": "Bank", "routing": "BLZ", "account": "Konto", "iban": "IBAN", "swift": "BIC"},
             "fr": {"bank": "Banque", "routing": "Code banque", "account": "Compte", "iban": "IBAN", "swift": "BIC"},
             "es": {"bank": "Banco", "routing": "Código", "account": "Cuenta", "iban": "IBAN", "swift": "BIC"}}[lang]
    return "\n".join(f"{names[k]}: {v}" for k, v in bank.items())


def _finish(ctx: AttackContext, mail: Mail, rng: random.Random, route: transport.Route) -> None:
    """Message-ID, client habits and trace, exactly as for safe mail from that system."""
    if ctx.message_id is not None:
        mail.message_id = ctx.message_id(rng)
    else:
        mail.message_id = transport.message_id(route.system, address_domain(route.domain), rng)
    if ctx.style == "bare":
        mail.html, mail.trace, mail.extra = "", [], []
        mail.boundary_style = "generic"
        return
    if route.system != "esp":
        extra, style, qp = transport.client_profile(route.system, rng, mail.subject)
        mail.extra = extra + mail.extra
        mail.boundary_style, mail.qp = style, qp
    mx = ctx.mx or f"mx1.{ctx.org_domain}"
    transport.stamp_inbound(mail, route, mx, ctx.victim.email, rng)


def _freemail_route(rng: random.Random, addr: str) -> transport.Route:
    dom = addr.rsplit("@", 1)[1]
    system = transport.FREEMAIL_SYSTEM.get(dom, "hosted")
    return transport.Route(system=system, domain=dom, ip=random_ip(rng),
                           policy="none" if dom not in ("gmail.com", "yahoo.com", "aol.com") else "reject")


def _lookalike_route(rng: random.Random, domain: str) -> transport.Route:
    """Attacker-registered domain: SPF set up, DKIM often, DMARC record often missing."""
    system = rng.choices(["m365", "google", "hosted", "vps"], [0.4, 0.3, 0.15, 0.15])[0]
    dkim = "pass" if system in ("m365", "google") or rng.random() < 0.5 else "none"
    dmarc = rng.choice(["pass", "none", "none"]) if dkim == "pass" else "none"
    return transport.Route(system=system, domain=address_domain(domain), ip=random_ip(rng), dkim=dkim,
                           dmarc=dmarc, policy="none")


def _compromised_site_route(rng: random.Random) -> tuple[transport.Route, str]:
    """A small business whose mailbox or web host was taken over: authentication passes."""
    _, dom, _ = _company(rng, set())
    system = rng.choices(["hosted", "m365", "google", "vps"], [0.3, 0.35, 0.2, 0.15])[0]
    route = transport.Route(system=system, domain=dom, ip=random_ip(rng),
                            dkim="pass" if rng.random() < 0.6 else "none", policy=rng.choice(["none", "quarantine"]))
    return route, dom


def _make_mail(ctx: AttackContext, from_: tuple[str, str], subject: str, text: str, *,
               html: str | None = None, to: list[tuple[str, str]] | None = None) -> Mail:
    return Mail(from_=from_, to=to or [(ctx.victim.name, ctx.victim.email)], subject=subject,
                date=ctx.time, message_id="", text=text,
                html=html if html is not None else text_to_html(text))


def _need(ctx: AttackContext, technique: str) -> None:
    for attr in TECHNIQUES[technique][2]:
        if getattr(ctx, attr) is None:
            raise ValueError(f"technique {technique!r} needs ctx.{attr}")


# --- BEC -----------------------------------------------------------------------------------
def _vip_message(ctx: AttackContext, rng: random.Random, family: dict) -> tuple[str, str]:
    vip = ctx.impersonated
    slots = T.base_slots(rng, ctx.lang)
    slots["amount"] = T.money(rng, ctx.lang, 4800, 148000)
    slots["first"] = ctx.victim.first
    lang_t = family[ctx.lang] if ctx.lang in family else family["en"]
    subject = T.fill(rng.choice(lang_t["subject"]), slots)
    body = T.join_sentences(T.fill(rng.choice(lang_t["open"]), slots), T.fill(rng.choice(lang_t["ask"]), slots),
                            T.fill(rng.choice(lang_t["pressure"]), slots), T.fill(rng.choice(lang_t["close"]), slots))
    sig = rng.choice([vip.first, vip.name, f"{vip.name}\n{vip.title}", f"{vip.first}\n\nSent from my iPhone",
                      f"{vip.name}\n{vip.title}\n{ctx.org_name}".rstrip(), "Sent from my iPad", vip.first[0]])
    return subject, compose(rng, ctx.lang, ctx.victim.first, body, sig, greet_p=0.6)


def _vip_freemail(ctx: AttackContext, rng: random.Random) -> AttackResult:
    vip = ctx.impersonated
    addr = _freemail_address(rng, vip)
    subject, text = _vip_message(ctx, rng, T.BEC_VIP)
    mail = _make_mail(ctx, (vip.name, addr), subject, text)
    _finish(ctx, mail, rng, _freemail_route(rng, addr))
    return AttackResult(mail, "vip_freemail", "bec", "malicious", {"impersonated": vip.email, "sender": addr})


def _gift_card(ctx: AttackContext, rng: random.Random) -> AttackResult:
    vip = ctx.impersonated
    addr = _freemail_address(rng, vip)
    fam = T.GIFT_CARD.get(ctx.lang, T.GIFT_CARD["en"])
    slots = {"n": rng.choice([3, 4, 5, 6, 8, 10]), "card": rng.choice(T.GIFT_CARDS),
             "value": T.money(rng, ctx.lang, 100, 500).split(".")[0].split(",")[0] if ctx.lang == "en" else f"{rng.choice([50, 100, 200])} €"}
    if ctx.lang == "en":
        slots["value"] = f"${rng.choice([100, 150, 200, 250, 500])}"
    subject = T.fill(rng.choice(fam["subject"]), slots)
    opener = T.fill(rng.choice(T.BEC_VIP.get(ctx.lang, T.BEC_VIP["en"])["open"]), {})
    body = T.join_sentences(opener, T.fill(rng.choice(fam["ask"]), slots), T.fill(rng.choice(fam["then"]), slots))
    sig = rng.choice([vip.first, vip.name, f"{vip.first}\n\nSent from my iPhone", f"{vip.name}\n{vip.title}"])
    text = compose(rng, ctx.lang, ctx.victim.first, body, sig, greet_p=0.6)
    mail = _make_mail(ctx, (vip.name, addr), subject, text)
    _finish(ctx, mail, rng, _freemail_route(rng, addr))
    return AttackResult(mail, "gift_card", "bec", "malicious", {"impersonated": vip.email, "sender": addr})


def _reply_to_swap(ctx: AttackContext, rng: random.Random) -> AttackResult:
    vip = ctx.impersonated
    reply = _freemail_address(rng, vip)
    subject, text = _vip_message(ctx, rng, T.BEC_VIP)
    if rng.random() < 0.5:
        # exact executive address spoofed: the receiver sees SPF and DMARC fail
        sender = vip.email
        route = transport.Route(system="vps", domain=ctx.org_domain, ip=random_ip(rng), spf=rng.choice(["fail", "softfail"]),
                                dkim="none", dmarc="fail", policy=ctx.org_dmarc_policy)
        variant = "spoofed_exact"
    else:
        dom = lookalike(ctx.org_domain, rng.choice(["added_letter", "homoglyph", "other_tld", "dropped_letter"]), rng,
                        ctx.known_domains)
        sender = f"{vip.email.split('@')[0]}@{address_domain(dom)}"
        route = _lookalike_route(rng, dom)
        variant = "lookalike_org"
    mail = _make_mail(ctx, (vip.name, sender), subject, text)
    mail.reply_to = [(vip.name, reply)]
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, "reply_to_swap", "bec", "malicious",
                        {"impersonated": vip.email, "sender": sender, "reply_to": reply, "variant": variant})


def _bank_change_text(ctx: AttackContext, rng: random.Random, vendor: External, contact: Person,
                      new_bank: dict) -> tuple[str, str]:
    lang = vendor.lang if vendor.lang in T.BANK_CHANGE else "en"
    fam = T.BANK_CHANGE[lang]
    slots = T.base_slots(rng, lang)
    slots.update(company=vendor.company, inv=f"{vendor.invoice_prefix}{rng.randint(10000, 999999)}")
    subject = T.fill(rng.choice(fam["subject"]), slots)
    opener = T.fill(rng.choice(fam["open"]), slots)
    ask = T.fill(rng.choice(fam["ask"]), slots)
    if opener.endswith((",", "que", "that", ":")) or (not opener and lang == "de"):
        ask_text = T.join_sentences(opener, ask)  # the sentence continues (German: after the greeting)
    else:
        ask_text = T.join_sentences(opener, ask[0].upper() + ask[1:])
    body = T.para(ask_text, _bank_text(new_bank, lang) if rng.random() < 0.85 else "",
                  T.fill(rng.choice(fam["pressure"]), slots))
    sig = T.signature(rng, lang, contact.name, contact.title, vendor.company, contact.phone, style=rng.random())
    return subject, compose(rng, lang, ctx.victim.first, body, sig, greet_p=0.9)


def _vendor_lookalike(ctx: AttackContext, rng: random.Random, kind: str) -> AttackResult:
    vendor = ctx.vendor
    contact = rng.choice(vendor.contacts) if vendor.contacts else _random_person(rng, vendor.domain)
    dom = lookalike(vendor.domain, kind, rng, ctx.known_domains)
    local = contact.email.split("@")[0] if contact.email.endswith("@" + vendor.domain) else local_part(contact.name, "first.last", rng)
    if rng.random() < 0.2:
        local = rng.choice(["accounts", "billing", "ar", "finance", "accounting", "invoices"])
    sender = f"{local}@{address_domain(dom)}"
    new_bank = _new_bank(rng, vendor.lang, vendor.bank)
    subject, text = _bank_change_text(ctx, rng, vendor, contact, new_bank)
    mail = _make_mail(ctx, (contact.name, sender), subject, text)
    if rng.random() < 0.35:
        inv = f"{vendor.invoice_prefix}{rng.randint(10000, 999999)}"
        mail.attachments.append(Attachment(f"Invoice_{inv}.pdf".replace("/", "-"), "application/pdf",
                                           invoice_pdf(rng, vendor, inv, T.money(rng, vendor.lang), "upon receipt",
                                                       new_bank, ctx.org_name or ctx.org_domain)))
    _finish(ctx, mail, rng, _lookalike_route(rng, dom))
    return AttackResult(mail, f"vendor_lookalike_{kind}", "bec", "malicious",
                        {"impersonated": contact.email, "vendor_domain": vendor.domain, "lookalike_domain": dom,
                         "sender": sender})


def _vendor_compromised(ctx: AttackContext, rng: random.Random) -> AttackResult:
    vendor = ctx.vendor
    contact = rng.choice(vendor.contacts) if vendor.contacts else _random_person(rng, vendor.domain)
    new_bank = _new_bank(rng, vendor.lang, vendor.bank)
    subject, text = _bank_change_text(ctx, rng, vendor, contact, new_bank)
    mail = _make_mail(ctx, (contact.name, contact.email), subject, text)
    dom = contact.email.rsplit("@", 1)[1]
    system = vendor.system if dom == vendor.domain else transport.FREEMAIL_SYSTEM.get(dom, "hosted")
    # the attacker is logged into the real mailbox: the vendor's own system signs it
    route = transport.Route(system=system, domain=dom, ip=vendor.ip or random_ip(rng), policy="reject")
    if rng.random() < 0.3:
        mail.reply_to = [(contact.name, _freemail_address(rng, contact))]
    _finish(ctx, mail, rng, route)
    meta = {"impersonated": contact.email, "vendor_domain": vendor.domain, "sender": contact.email}
    if mail.reply_to:
        meta["reply_to"] = mail.reply_to[0][1]
    return AttackResult(mail, "vendor_compromised", "bec", "malicious", meta)


def _thread_hijack(ctx: AttackContext, rng: random.Random) -> AttackResult:
    th = ctx.thread
    partner = th.partner
    lang = ctx.lang
    compromised = rng.random() < 0.3
    if compromised:
        sender, dom = partner.email, partner.domain
        route = transport.Route(system=th.partner_system, domain=dom, ip=random_ip(rng), policy="none")
    else:
        dom = lookalike(partner.domain, rng.choice(["homoglyph", "added_letter", "dropped_letter", "other_tld"]), rng,
                        ctx.known_domains)
        sender = f"{partner.email.split('@')[0]}@{address_domain(dom)}"
        route = _lookalike_route(rng, dom)
    slots = T.base_slots(rng, lang)
    if lang != "en" or rng.random() < 0.65:  # the link lure is written in English only
        new_bank = _new_bank(rng, lang, None)
        fam = T.BANK_CHANGE.get(lang, T.BANK_CHANGE["en"])
        slots.update(company=th.partner_company or partner.company or partner.domain, inv=f"{rng.randint(10000, 999999)}")
        ask = T.fill(rng.choice(fam["ask"]), slots)
        thanks = {"de": ["Danke für die Info.", "Vielen Dank.", ""], "fr": ["Merci pour le retour.", "Merci.", ""],
                  "es": ["Gracias por la información.", "Gracias.", ""]}.get(
            lang, ["Thanks for the update.", "Thank you.", "Noted, thanks.", ""])
        body = T.para(T.join_sentences(rng.choice(thanks),
                                       ask[0].upper() + ask[1:]),
                      _bank_text(new_bank, lang), T.fill(rng.choice(fam["pressure"]), slots))
        variant = "payment"
    else:
        host = _free_host(rng)
        url = f"https://{host}/{link_token(rng, 10).lower()}/view"
        body = T.para(rng.choice(["Please find the updated documents here:", "Revised version is available below:",
                                  "Sharing the signed copy via our secure portal:", "Here is the file you asked for:"]),
                      url, rng.choice(["Let me know if you have trouble opening it.", "Thanks!", ""]))
        variant = "link"
    sig = T.signature(rng, lang, partner.name, partner.title, th.partner_company, partner.phone, style=rng.random())
    text = compose(rng, lang, th.last_from.first if th.last_from.email != partner.email else ctx.victim.first,
                   body, sig, greet_p=0.5)
    prev = Mail(from_=(th.last_from.name, th.last_from.email), to=[(p.name, p.email) for p in th.last_to],
                subject=th.subject, date=th.last_date, message_id=th.message_ids[-1], text=th.last_text)
    system = route.system if route.system in ("m365", "google") else "hosted"
    quoted = quote_block(prev, system, lang, partner.tz)
    mail = _make_mail(ctx, (partner.name, sender), reply_subject(th.subject, system),
                      f"{text}\n\n{quoted}", html=text_to_html(text, quoted, style="outlook" if system == "m365" else "gmail"))
    mail.in_reply_to = th.message_ids[-1]
    mail.references = th.message_ids[-8:]
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, "thread_hijack", "bec", "malicious",
                        {"impersonated": partner.email, "sender": sender, "hijacked": th.message_ids[-1],
                         "lookalike_domain": "" if compromised else dom, "variant": variant})


# --- credential phishing -------------------------------------------------------------------
_FREE_HOSTS = ["{x}.web.app", "{x}.firebaseapp.com", "{x}.netlify.app", "{x}.pages.dev", "{x}.vercel.app",
               "sites.google.com/view/{x}", "{x}.blob.core.windows.net/$web", "ipfs.io/ipfs/Qm{X}",
               "{x}.weebly.com", "{x}.wixsite.com/{x}", "storage.googleapis.com/{x}", "{x}.glitch.me",
               "{x}.z13.web.core.windows.net", "{x}.r2.dev", "{x}.square.site"]
_SHORTENERS = ["bit.ly", "tinyurl.com", "t.ly", "rb.gy", "is.gd", "cutt.ly", "ow.ly", "shorturl.at", "tiny.cc"]
_LOOK_WORDS = ["login", "secure", "verify", "auth", "account", "portal", "sso", "signin", "mail", "docs", "online"]


def _free_host(rng: random.Random) -> str:
    x = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(6, 14)))
    return rng.choice(_FREE_HOSTS).format(x=x, X=link_token(rng, 44))


def _landing(rng: random.Random, ctx: AttackContext, brand: str) -> str:
    """Where the harvesting page really lives."""
    r = rng.random()
    if r < 0.5:
        return f"https://{_free_host(rng)}/{rng.choice(['index.html', 'login.html', '', 'auth/'])}"
    b = ascii_fold(brand).lower().replace(" ", "")[:12] or "office"
    host = rng.choice([f"{b}-{rng.choice(_LOOK_WORDS)}.com", f"{rng.choice(_LOOK_WORDS)}-{b}.net",
                       f"{ctx.org_domain.split('.')[0]}-{rng.choice(_LOOK_WORDS)}.com",
                       f"{rng.choice(_LOOK_WORDS)}.{b}-{rng.choice(_LOOK_WORDS)}.app"])
    return f"https://{host}/{link_token(rng, 8).lower()}/"


def _cred_url(technique: str, rng: random.Random, ctx: AttackContext, brand: str) -> str:
    email_q = base64.b64encode(ctx.victim.email.encode()).decode().rstrip("=")
    if technique == "cred_lookalike_login":
        b = ascii_fold(brand).lower().replace(" ", "")
        base = rng.choice(["microsoftonline", "office365", "sharepoint", "docusign", "onedrive", "outlook", "adobe", b])
        host = rng.choice([f"{lookalike(base + '.com', rng.choice(['homoglyph', 'added_letter', 'dropped_letter']), rng)}",
                           f"{base}-{rng.choice(_LOOK_WORDS)}.com", f"{rng.choice(_LOOK_WORDS)}-{base}.net",
                           f"{base}.{rng.choice(_LOOK_WORDS)}-{rng.choice(_LOOK_WORDS)}.com",
                           f"{ctx.org_domain.split('.')[0]}-{rng.choice(_LOOK_WORDS)}.com"])
        return f"https://{address_domain(host)}/{rng.choice(['common/oauth2/authorize', 'login', 'auth', 'owa', 'signin'])}?client_id={link_token(rng, 16)}&login_hint={email_q}"
    if technique == "cred_url_shortener":
        return f"https://{rng.choice(_SHORTENERS)}/{link_token(rng, rng.randint(5, 8))}"
    if technique == "cred_open_redirect":
        target = _landing(rng, ctx, brand)
        enc = target.replace(":", "%3A").replace("/", "%2F")
        return rng.choice([f"https://www.google.com/url?q={target}&sa=D&source=editors&ust={rng.randint(10**15, 10**16)}",
                           f"https://www.youtube.com/redirect?event=comments&q={enc}",
                           f"https://l.facebook.com/l.php?u={enc}&h={link_token(rng, 20)}",
                           f"https://adclick.g.doubleclick.net/pcs/click?xai={link_token(rng, 30)}&adurl={target}",
                           f"https://www.bing.com/ck/a?!&&p={link_token(rng, 40)}&u=a1{base64.urlsafe_b64encode(target.encode()).decode().rstrip('=')}",
                           f"https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id={link_token(rng, 8)}&response_type=code&redirect_uri={enc}&scope=openid",
                           f"https://click.{rng.choice(['mlsend.com', 'sendgrid.net', 'mailchimp.com'])}/ls/click?upn={link_token(rng, 40)}&url={enc}"])
    if technique == "cred_free_hosting":
        return f"https://{_free_host(rng)}/{rng.choice(['index.html', 'login', 'doc/view', '', 'secure/'])}#{email_q if rng.random() < 0.5 else ''}".rstrip("#")
    raise ValueError(technique)


def _cred_sender(ctx: AttackContext, rng: random.Random, brand: str) -> tuple[tuple[str, str], transport.Route]:
    r = rng.random()
    if r < 0.55:
        route, dom = _compromised_site_route(rng)
        local = rng.choice(["info", "admin", "office", "no-reply", "support", "noreply", "mail", "hello"])
        return (brand, f"{local}@{dom}"), route
    if r < 0.75:
        dom = rng.choice(["mail-" + link_token(rng, 5).lower() + ".com", link_token(rng, 8).lower() + ".online",
                          link_token(rng, 7).lower() + ".xyz", link_token(rng, 6).lower() + "-notify.com"])
        route = transport.Route(system="vps", domain=dom, ip=random_ip(rng), dkim="none",
                                dmarc="none", spf=rng.choice(["pass", "neutral", "none"]), policy="none")
        return (brand, f"{rng.choice(['no-reply', 'notification', 'security', 'it'])}@{dom}"), route
    if r < 0.9:
        addr = f"{ascii_fold(brand).lower().replace(' ', '')}{rng.randint(10, 9999)}@{rng.choice(FREEMAIL)}"
        return (brand, addr), _freemail_route(rng, addr)
    # spoofed own domain display ("IT Support <helpdesk@org>"): fails authentication
    route = transport.Route(system="vps", domain=ctx.org_domain, ip=random_ip(rng), spf="softfail",
                            dkim="none", dmarc="fail", policy=ctx.org_dmarc_policy)
    return (brand, f"{rng.choice(['helpdesk', 'it-support', 'admin', 'noreply'])}@{ctx.org_domain}"), route


def _cred_phish(ctx: AttackContext, rng: random.Random, technique: str) -> AttackResult:
    fam = T.CRED.get(ctx.lang, T.CRED["en"])
    brand = rng.choice(fam["brands"])
    slots = T.base_slots(rng, ctx.lang)
    slots.update(brand=brand, email=ctx.victim.email, person=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                 city=rng.choice(T.CITIES), phone=phone_number(rng), inv=f"{rng.randint(10000, 99999)}",
                 company=ctx.org_name or ctx.org_domain, q=rng.randint(1, 4))
    slots["file"] = T.fill(rng.choice(T.FILES), slots)
    subject = T.fill(rng.choice(fam["subject"]), slots)
    body = T.vary(T.fill(rng.choice(fam["body"]), slots), rng, ctx.lang)
    cta = rng.choice(fam["cta"])
    from_, route = _cred_sender(ctx, rng, brand)
    meta: dict = {"brand": brand, "sender": from_[1]}
    footer = rng.choice([f"{brand} | {ctx.org_name or ctx.org_domain}", f"This message was sent to {ctx.victim.email}.",
                         f"© {brand}. All rights reserved.", "Do not reply to this automated message.", "",
                         f"{ctx.org_name or ctx.org_domain} IT", "This is an automated notification.",
                         f"Sent by {brand} on behalf of {ctx.org_name or ctx.org_domain}.", "Privacy | Terms | Help"])
    if technique == "html_attachment":
        action = _landing(rng, ctx, brand)
        fname = T.fill(rng.choice(["Remittance_{num}.html", "Invoice_{num}.htm", "{file}.html", "Secure_Message.html",
                                   "VM_{num}.html", "Payment_Advice_{day}.shtml", "scan_{num}.html"]), slots).replace(" ", "_")
        data = (documents.html_login_page(brand, action, ctx.victim.email, rng) if rng.random() < 0.7
                else documents.html_redirect_page(action, rng))
        text = T.para(T.greet(rng, ctx.lang, ctx.victim.first), body,
                      rng.choice(["Open the attached file to view.", "See attached.", "The document is attached for your review.",
                                  "Download and open the attachment to continue."]), footer)
        mail = _make_mail(ctx, from_, subject, text)
        mail.attachments.append(Attachment(fname, "text/html", data))
        meta["landing"] = action
    else:
        url = _cred_url(technique, rng, ctx, brand)
        text = T.para(T.greet(rng, ctx.lang, ctx.victim.first), body, f"{cta}: {url}", footer)
        html = (f'<html><body style="font-family:Segoe UI,Arial"><table width="560"><tr><td>'
                f'<p>{_html.escape(T.greet(rng, ctx.lang, ctx.victim.first))}</p><p>{_html.escape(body)}</p>'
                f'<p><a href="{_html.escape(url)}" style="background:#0078d4;color:#fff;padding:10px 18px;text-decoration:none">{_html.escape(cta)}</a></p>'
                f'<p style="font-size:11px;color:#777">{_html.escape(footer)}</p></td></tr></table></body></html>')
        mail = _make_mail(ctx, from_, subject, text, html=html)
        meta["url"] = url
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, technique, "credential_phishing", "malicious", meta)


# --- malware --------------------------------------------------------------------------------
def _lure_sender(ctx: AttackContext, rng: random.Random) -> tuple[tuple[str, str], transport.Route]:
    if ctx.vendor is not None and rng.random() < 0.3:
        v = ctx.vendor
        contact = v.contacts[0] if v.contacts else _random_person(rng, v.domain)
        dom = lookalike(v.domain, rng.choice(["added_letter", "other_tld", "dropped_letter"]), rng, ctx.known_domains)
        return (contact.name, f"{contact.email.split('@')[0]}@{address_domain(dom)}"), _lookalike_route(rng, dom)
    route, dom = _compromised_site_route(rng)
    p = _random_person(rng, dom)
    return (p.name, p.email), route


def _malware(ctx: AttackContext, rng: random.Random, technique: str) -> AttackResult:
    slots = T.base_slots(rng)
    what = rng.choice(T.MALWARE_LURE["what"])
    slots.update(inv=f"{rng.randint(10000, 999999)}", file=T.fill(rng.choice(T.FILES), {**slots, "company": "", "q": 2}), what=what)
    subject = T.fill(rng.choice(T.MALWARE_LURE["subject"]), slots)
    body = T.fill(rng.choice(T.MALWARE_LURE["body"]), slots)
    stem = rng.choice([f"{what.title().replace(' ', '_')}_{slots['num']}", f"INV-{slots['inv']}", f"Scan_{slots['num']}",
                       f"PO{slots['num']}", f"Doc{rng.randint(100, 999)}_{slots['day'].replace(' ', '')}"])
    meta: dict = {}
    if technique == "macro_document":
        ext = rng.choice(["docm", "xlsm", "doc", "xls"])
        if ext == "docm":
            data, ct = documents.docx([what.title(), "Enable editing and content to view this document."], rng, macro=True), "application/vnd.ms-word.document.macroEnabled.12"
        elif ext == "xlsm":
            data, ct = documents.xlsx([["Enable content to view"], ["Amount", slots["amount"]]], rng, macro=True), "application/vnd.ms-excel.sheet.macroEnabled.12"
        else:
            data = documents.vba_project(rng, "WordDocument" if ext == "doc" else "Workbook")
            ct = "application/msword" if ext == "doc" else "application/vnd.ms-excel"
        atts = [Attachment(f"{stem}.{ext}", ct, data)]
    elif technique == "iso_image":
        ext = rng.choice(["iso", "iso", "img"])
        inner = rng.choice([[(f"{stem[:8].upper()}.EXE", documents.exe_stub(rng))],
                            [(f"{stem[:8].upper()}.LNK", documents.lnk_stub("C:\\Windows\\System32\\cmd.exe")),
                             ("DATA.DLL", documents.exe_stub(rng, 1024))]])
        atts = [Attachment(f"{stem}.{ext}", "application/octet-stream" if ext == "img" else "application/x-iso9660-image",
                           documents.iso9660(inner, volume=stem[:16]))]
        meta["members"] = [n for n, _ in inner]
    elif technique == "archive_executable":
        inner_ext = rng.choice(["exe", "scr", "js", "bat", "vbs", "pdf.exe", "com"])
        inner_name = f"{stem}.{inner_ext}"
        payload = documents.exe_stub(rng) if inner_ext in ("exe", "scr", "pdf.exe", "com") else b"WScript.Echo \"\"\r\n"
        arch = rng.choice(["zip", "zip", "zip"])
        atts = [Attachment(f"{stem}.{arch}", "application/zip", documents.zip_bytes([(inner_name, payload)]))]
        meta["members"] = [inner_name]
    elif technique == "encrypted_archive":
        password = rng.choice([str(rng.randint(100, 9999)), link_token(rng, 6), f"{what[:3].upper()}{rng.randint(10, 99)}"])
        inner_name = f"{stem}.{rng.choice(['exe', 'js', 'docm', 'scr'])}"
        atts = [Attachment(f"{stem}.zip", "application/zip",
                           documents.encrypted_zip([(inner_name, documents.exe_stub(rng))], password, rng))]
        body = T.join_sentences(body, rng.choice([f"Password: {password}", f"The archive password is {password}.",
                                                  f"Use {password} to open the file.", f"PW: {password}"]))
        meta.update(members=[inner_name], password=password)
    else:
        raise ValueError(technique)
    from_, route = _lure_sender(ctx, rng)
    sig = rng.choice([from_[0], f"{from_[0]}\n{rng.choice(['Accounts', 'Sales', 'Logistics', 'Purchasing'])}", "Regards", ""])
    text = compose(rng, "en", ctx.victim.first, body, sig, greet_p=0.7)
    mail = _make_mail(ctx, from_, subject, text)
    mail.attachments.extend(atts)
    meta["sender"] = from_[1]
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, technique, "malware", "malicious", meta)


# --- callback, extortion, scams, spam, graymail ----------------------------------------------
def _callback(ctx: AttackContext, rng: random.Random) -> AttackResult:
    c = T.CALLBACK
    phone = f"+1 ({rng.choice([800, 833, 844, 855, 866, 877, 888])}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"
    slots = {"num": rng.randint(10**6, 10**9), "inv": f"{rng.randint(10**5, 10**7)}", "amount": T.money(rng, "en", 199, 899),
             "product": rng.choice(c["product"]), "phone": phone}
    subject = T.fill(rng.choice(c["subject"]), slots)
    body = T.para(T.fill(rng.choice(c["body"]), slots), T.fill(rng.choice(c["call"]), slots))
    brand = slots["product"].split()[0]
    addr = f"{rng.choice([brand.lower(), 'billing', 'support', 'service', 'invoice'])}{rng.choice(['', '.', '_'])}{link_token(rng, 4).lower()}@{rng.choice(FREEMAIL[:9])}"
    display = rng.choice([f"{brand} Billing", f"{brand} Support", "Billing Department", f"{brand} Service", f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"])
    text = T.para(T.greet(rng, "en", ctx.victim.first), body)
    mail = _make_mail(ctx, (display, addr), subject, text)
    if rng.random() < 0.5:
        vend = External(kind="vendor", company=f"{brand} Inc.", domain="", system="", contacts=[], service=slots["product"])
        mail.attachments.append(Attachment(f"Invoice_{slots['inv']}.pdf", "application/pdf",
                                           invoice_pdf(rng, vend, slots["inv"], slots["amount"], "paid", {}, ctx.victim.name, phone)))
    _finish(ctx, mail, rng, _freemail_route(rng, addr))
    return AttackResult(mail, "callback_invoice", "callback_scam", "malicious", {"phone": phone, "sender": addr})


def _extortion(ctx: AttackContext, rng: random.Random) -> AttackResult:
    wallet = "bc1q" + "".join(rng.choice("023456789acdefghjklmnpqrstuvwxyz") for _ in range(38))
    slots = {"secret": link_token(rng, 9).lower(), "btc": f"{rng.uniform(0.02, 0.2):.4f}", "wallet": wallet,
             "email": ctx.victim.email, "usd": rng.choice([950, 1200, 1450, 1650, 2000])}
    text = T.fill(rng.choice(T.EXTORTION), slots)
    subject = rng.choice(["Security notice", f"{ctx.victim.email}", "Your account is hacked", "Payment required",
                          "I know your secret", "Last warning", f"Re: {slots['secret']}"])
    if rng.random() < 0.5:
        sender = ctx.victim.email  # the classic: mail "from yourself", which fails DMARC
        route = transport.Route(system="vps", domain=ctx.victim.domain, ip=random_ip(rng), spf="softfail", dkim="none",
                                dmarc="fail", policy=ctx.org_dmarc_policy)
        from_ = (ctx.victim.name if rng.random() < 0.5 else "", sender)
    else:
        route, dom = _compromised_site_route(rng)
        from_ = ("", f"{link_token(rng, 7).lower()}@{dom}")
    mail = _make_mail(ctx, from_, subject, text, html="")
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, "extortion", "callback_scam", "malicious", {"wallet": wallet, "sender": from_[1]})


def _advance_fee(ctx: AttackContext, rng: random.Random) -> AttackResult:
    name = f"{rng.choice(['Dr.', 'Barrister', 'Mr.', 'Mrs.', ''])} {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}".strip()
    slots = {"name": name, "big": rng.choice(["$4,500,000", "USD 10.5 million", "€2,800,000", "$7.2M", "GBP 1,250,000"]),
             "usd": rng.choice([800, 1200, 2500])}
    text = T.para(rng.choice(["Dear Friend,", "Greetings,", "Attention:", "Dear Beneficiary,", f"Hello {ctx.victim.first},"]),
                  T.fill(rng.choice(T.ADVANCE_FEE), slots), name)
    subject = rng.choice(["Urgent reply needed", "Business proposal", "Your inheritance", "Congratulations!!!",
                          "Confidential", "Compensation payment", "Job offer", "From " + name])
    addr = f"{ascii_fold(name).lower().replace(' ', '').replace('.', '')[:14]}{rng.randint(1, 999)}@{rng.choice(FREEMAIL)}"
    mail = _make_mail(ctx, (name, addr), subject, text)
    if rng.random() < 0.4:
        mail.reply_to = [(name, f"{link_token(rng, 8).lower()}@{rng.choice(FREEMAIL)}")]
    _finish(ctx, mail, rng, _freemail_route(rng, addr))
    return AttackResult(mail, "advance_fee", "callback_scam", "malicious", {"sender": addr})


def _spam(ctx: AttackContext, rng: random.Random) -> AttackResult:
    s = T.SPAM
    slots = {"item": rng.choice(s["item"]), "pct": rng.randint(30, 90), "usd": rng.choice([3000, 5000, 25000, 50000]),
             "n": rng.randint(5, 30), "num": rng.randint(1000, 90000), "domain": ctx.org_domain}
    subject = T.fill(rng.choice(s["subject"]), slots)
    body = T.fill(rng.choice(s["body"]), slots)
    dom = f"{link_token(rng, rng.randint(5, 10)).lower()}.{rng.choice(['com', 'info', 'top', 'xyz', 'biz', 'ru', 'click', 'shop'])}"
    url = f"http://{dom}/{link_token(rng, 6).lower()}?id={rng.randint(10**5, 10**7)}"
    unsub = f"http://{dom}/unsub?e={base64.b64encode(ctx.victim.email.encode()).decode()}"
    text = T.para(body, url, f"To stop receiving these emails: {unsub}")
    html = (f'<html><body><p>{_html.escape(body)}</p><p><a href="{url}"><b>{_html.escape(subject)}</b></a></p>'
            f'<img src="http://{dom}/i/{link_token(rng, 10)}.jpg"><p style="font-size:9px"><a href="{unsub}">unsubscribe</a></p></body></html>')
    name = rng.choice([f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", slots["item"].title() + " Store", "Special Offers", ""])
    mail = _make_mail(ctx, (name, f"{link_token(rng, 6).lower()}@{dom}"), subject, text, html=html)
    route = transport.Route(system="vps", domain=dom, ip=random_ip(rng), spf=rng.choice(["pass", "softfail", "neutral", "none"]),
                            dkim=rng.choice(["none", "none", "pass", "fail"]), dmarc=rng.choice(["none", "none", "fail"]), policy="none")
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, "spam", "spam", "spam", {"sender": mail.from_[1]})


def _graymail(ctx: AttackContext, rng: random.Random) -> AttackResult:
    sender = make_graymail_senders(rng, set(), 1)[0]
    g = T.GRAYMAIL
    slots = {"pct": rng.randint(10, 50), "quarter": rng.choice(T.QUARTERS), "event": rng.choice(g["event"]),
             "product": rng.choice(g["product"]), "day": rng.choice(T.DAYS["en"]), "time": rng.choice(T.TIMES), "n": rng.randint(3, 12)}
    subject = T.fill(rng.choice(g["subject"]), slots)
    body = T.fill(rng.choice(g["body"]), slots)
    links = [f"https://{rng.choice(sender.link_hosts)}/{rng.choice(['e', 'c', 'l'])}/{link_token(rng, 24)}" for _ in range(rng.randint(3, 9))]
    unsub = f"https://{sender.link_hosts[0]}/unsubscribe/{link_token(rng, 20)}"
    text = T.para(body, "\n".join(links), f"Unsubscribe: {unsub}")
    html = ('<html><body><table width="600" align="center">' + f"<tr><td><h1>{_html.escape(subject)}</h1><p>{_html.escape(body)}</p></td></tr>"
            + "".join(f'<tr><td><a href="{u}">Learn more</a></td></tr>' for u in links)
            + f'<tr><td style="font-size:10px"><a href="{unsub}">Unsubscribe</a></td></tr></table></body></html>')
    mail = _make_mail(ctx, (sender.display, sender.address), subject, text, html=html)
    mail.extra.append(("List-Unsubscribe", f"<{unsub}>"))
    dom = sender.address.rsplit("@", 1)[1]
    route = transport.Route(system="esp", domain=dom, ip=random_ip(rng), mailfrom=sender.esp[0] if sender.esp else dom,
                            dkim_domain=dom, policy="none")
    mail.boundary_style = "generic"
    _finish(ctx, mail, rng, route)
    return AttackResult(mail, "graymail", "graymail", "spam", {"sender": sender.address})


_BUILDERS: dict[str, Callable[[AttackContext, random.Random], AttackResult]] = {
    "vip_freemail": _vip_freemail,
    "reply_to_swap": _reply_to_swap,
    "gift_card": _gift_card,
    "vendor_lookalike_homoglyph": lambda c, r: _vendor_lookalike(c, r, "homoglyph"),
    "vendor_lookalike_added_letter": lambda c, r: _vendor_lookalike(c, r, "added_letter"),
    "vendor_lookalike_dropped_letter": lambda c, r: _vendor_lookalike(c, r, "dropped_letter"),
    "vendor_lookalike_other_tld": lambda c, r: _vendor_lookalike(c, r, "other_tld"),
    "vendor_compromised": _vendor_compromised,
    "thread_hijack": _thread_hijack,
    "cred_lookalike_login": lambda c, r: _cred_phish(c, r, "cred_lookalike_login"),
    "cred_url_shortener": lambda c, r: _cred_phish(c, r, "cred_url_shortener"),
    "cred_open_redirect": lambda c, r: _cred_phish(c, r, "cred_open_redirect"),
    "cred_free_hosting": lambda c, r: _cred_phish(c, r, "cred_free_hosting"),
    "html_attachment": lambda c, r: _cred_phish(c, r, "html_attachment"),
    "macro_document": lambda c, r: _malware(c, r, "macro_document"),
    "iso_image": lambda c, r: _malware(c, r, "iso_image"),
    "archive_executable": lambda c, r: _malware(c, r, "archive_executable"),
    "encrypted_archive": lambda c, r: _malware(c, r, "encrypted_archive"),
    "callback_invoice": _callback,
    "extortion": _extortion,
    "advance_fee": _advance_fee,
    "spam": _spam,
    "graymail": _graymail,
}


def build_attack(technique: str, ctx: AttackContext, rng: random.Random) -> AttackResult:
    """One attack message (unrendered) with its labels. Raises ValueError on an unknown
    technique or a context missing what the technique needs."""
    if technique not in _BUILDERS:
        raise ValueError(f"unknown attack technique {technique!r}; known: {', '.join(TECHNIQUES)}")
    if ctx.time.tzinfo is None:
        raise ValueError("ctx.time must be timezone-aware")
    if ctx.style not in ("modern", "bare"):
        raise ValueError(f"ctx.style must be 'modern' or 'bare', got {ctx.style!r}")
    _need(ctx, technique)
    result = _BUILDERS[technique](ctx, rng)
    result.mail.boundary_key = result.mail.message_id
    return result


def render_attack(technique: str, ctx: AttackContext, rng: random.Random) -> bytes:
    """RFC 5322 bytes of one attack of ``technique`` against ``ctx.victim``."""
    return render(build_attack(technique, ctx, rng).mail)
