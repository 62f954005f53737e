"""This module contains mail systems: Message-ID habits, client headers, Received chains
and the receiving server's Authentication-Results, consistent with the sending domain.

Safe mail and attacks go through the same functions: an attack differs only in which
system sends it and what authentication that system can honestly earn.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import random
from dataclasses import dataclass

from pyscore.synth.render import Mail

FREEMAIL_SYSTEM = {"gmail.com": "google", "outlook.com": "m365", "hotmail.com": "m365"}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEXL = "0123456789abcdef"


def _rand(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


@dataclass
class Route:
    """How a message left its sender: the system, the host, and what authentication it earns."""

    system: str  # m365, google, hosted, esp, vps
    domain: str  # the From domain
    ip: str
    spf: str = "pass"
    dkim: str = "pass"
    dmarc: str = "pass"
    mailfrom: str = ""  # envelope sender domain (defaults to domain)
    dkim_domain: str = ""  # d= of the signature (defaults to domain)
    host: str = ""  # outbound host name; derived when empty
    policy: str = "none"  # the From domain's DMARC policy, as the receiver reports it


def message_id(system: str, domain: str, rng: random.Random) -> str:
    if system == "m365":
        return (f"{_rand(rng, 4)}PR{rng.randint(10, 19)}MB{rng.randint(1000, 9999)}"
                f"{_rand(rng, 12)}@{_rand(rng, 4)}PR{rng.randint(10, 19)}MB{rng.randint(1000, 9999)}"
                f".namprd{rng.randint(10, 19)}.prod.outlook.com")
    if system == "google":
        tail = base64.b64encode(rng.randbytes(33)).decode().replace("/", "_").replace("+", "-")
        return f"CA{tail[:2].upper()}{tail}@mail.gmail.com"
    if system == "esp":
        return f"{_rand(rng, 22, _HEXL)}.{rng.randint(10**9, 10**10)}@{domain}"
    style = rng.random()
    if (system == "vps" and style < 0.3) or (system == "hosted" and style < 0.08):
        return f"{_rand(rng, 16, _HEXL)}@{rng.choice([domain, 'localhost', domain])}"
    if style < 0.5:
        h = _rand(rng, 32, _HEXL)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}"
    return f"{_rand(rng, 8, _HEXL)}.{rng.randint(10**5, 10**6)}@mail.{domain}"


def client_profile(system: str, rng: random.Random, subject: str) -> tuple[list[tuple[str, str]], str, bool]:
    """Headers the sending client adds, its boundary style, and whether it uses QP."""
    if system == "m365":
        idx = base64.b64encode(rng.randbytes(22)).decode()
        topic = subject
        while topic[:4].lower() in ("re: ", "fw: ") or topic[:5].lower() == "fwd: ":
            topic = topic.split(": ", 1)[1]
        return ([("Thread-Topic", topic[:120]), ("Thread-Index", idx),
                 ("Accept-Language", "en-US"), ("Content-Language", "en-US")], "outlook", True)
    if system == "google":
        return ([], "gmail", rng.random() < 0.5)
    if system == "esp":
        return ([], "generic", True)
    choice = rng.random()
    if system == "vps" and choice < 0.5:
        return ([], "generic", rng.random() < 0.5)  # scripts and web mailers add no client header
    if choice < 0.35:
        return ([("User-Agent", f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{rng.randint(102, 128)}.0) Gecko/20100101 Thunderbird/{rng.randint(102, 128)}.{rng.randint(0, 9)}.0")],
                "generic", False)
    if choice < 0.65:
        return ([("X-Mailer", f"Apple Mail (2.{rng.randint(3600, 3826)}.{rng.randint(100, 700)}.1.{rng.randint(1, 9)})")],
                "apple", True)
    if choice < 0.85:
        return ([("X-Mailer", "Microsoft Outlook 16.0")], "outlook", True)
    return ([], "generic", rng.random() < 0.5)


def route_for(system: str, domain: str, ip: str, rng: random.Random, **auth) -> Route:
    return Route(system=system, domain=domain, ip=ip, **auth)


def _out_host(route: Route, rng: random.Random) -> tuple[str, str]:
    """The outbound host name and address that connects to the receiver."""
    if route.host:
        return route.host, route.ip
    if route.system == "m365":
        region = rng.choice(["NAM12", "NAM11", "NAM10", "EUR05", "EUR03", "NAM04"])
        ip = f"40.107.{rng.randint(90, 255)}.{rng.randint(1, 254)}"
        pod = f"{rng.choice(['dm6', 'bn8', 'co1', 'mw2', 'db5', 'am6'])}{region.lower()}on2{rng.randint(100, 999)}"
        return f"mail-{pod}.outbound.protection.outlook.com", ip
    if route.system == "google":
        n = rng.randint(1, 254)
        ip = f"209.85.{rng.randint(128, 222)}.{n}"
        return f"mail-{rng.choice(['yw1', 'pj1', 'lf1', 'wr1', 'qk1', 'ot1'])}-f{n}.google.com", ip
    if route.system == "esp":
        return f"o{rng.randint(1, 9)}.ptr{rng.randint(1000, 9999)}.{route.mailfrom or route.domain}", route.ip
    if route.system == "vps":
        return rng.choice([f"{route.domain}", f"mail.{route.domain}", f"vps{rng.randint(1000, 99999)}.{rng.choice(['contaboserver.net', 'hostwindsdns.com', 'ovh.net', 'your-server.de'])}", "localhost"]), route.ip
    return rng.choice(["mail", "smtp", "mx", "mout"]) + f".{route.domain}", route.ip


def _rfc_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when)


def _dkim(route: Route, rng: random.Random) -> str:
    d = route.dkim_domain or route.domain
    sel = {"m365": "selector1", "google": "google" if d.endswith("gmail.com") else "20230601",
           "esp": rng.choice(["s1", "k1", "scph0124"])}.get(route.system, rng.choice(["default", "mail", "dkim"]))
    bh = base64.b64encode(rng.randbytes(32)).decode()
    b = base64.b64encode(rng.randbytes(128)).decode()
    b = "\r\n\t ".join(b[i:i + 70] for i in range(0, len(b), 70))
    return (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={d}; s={sel};\r\n\t"
            f"h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;\r\n\tbh={bh};\r\n\tb={b}")


def stamp_inbound(mail: Mail, route: Route, mx: str, rcpt: str, rng: random.Random) -> None:
    """Trace headers of a message arriving at the tenant's MX from outside."""
    when = mail.date.astimezone(dt.UTC) + dt.timedelta(seconds=rng.randint(1, 40))
    host, ip = _out_host(route, rng)
    mailfrom = route.mailfrom or route.domain
    envelope = mail.from_[1] if mailfrom == route.domain else f"bounces+{rng.randint(10**6, 10**7)}@{mailfrom}"
    dkim_d = route.dkim_domain or route.domain
    auth = [f"spf={route.spf} (domain of {mailfrom} designates {ip} as permitted sender)"
            if route.spf == "pass" else f"spf={route.spf} (domain of {mailfrom} does not designate {ip} as permitted sender)",
            f"smtp.mailfrom={mailfrom};"]
    if route.dkim == "none":
        auth.append("dkim=none (message not signed);")
    else:
        auth.append(f"dkim={route.dkim} header.d={dkim_d};")
    auth.append(f"dmarc={route.dmarc} (p={route.policy.upper()}) header.from={route.domain}")
    trace = [("Return-Path", f"<{envelope}>"),
             ("Authentication-Results", f"{mx}; " + " ".join(auth)),
             ("Received", f"from {host} ({host} [{ip}]) by {mx} (Postfix) with ESMTPS id "
                          f"{_rand(rng, 11)} for <{rcpt}>; {_rfc_date(when)}")]
    inner = _inner_hop(route, host, mail.date, rng)
    if inner:
        trace.append(("Received", inner))
    if route.dkim != "none":
        trace.append(("DKIM-Signature", _dkim(route, rng)))
    mail.trace = trace


def _inner_hop(route: Route, host: str, date: dt.datetime, rng: random.Random) -> str:
    when = _rfc_date(date + dt.timedelta(seconds=rng.randint(0, 3)))
    if route.system == "m365":
        pod = f"{_rand(rng, 2)}{rng.randint(1, 9)}PR{rng.randint(10, 19)}MB{rng.randint(1000, 9999)}.namprd{rng.randint(10, 19)}.prod.outlook.com"
        return f"from {pod} ([fe80::{_rand(rng, 4, _HEXL)}:{_rand(rng, 4, _HEXL)}]) by {pod} ([fe80::{_rand(rng, 4, _HEXL)}%{rng.randint(3, 7)}]) with mapi id 15.20.{rng.randint(6000, 8999)}.{rng.randint(10, 40):03d}; {when}"
    if route.system == "google":
        return f"by {host} with SMTP id {_rand(rng, 22, _HEXL)}; {when}"
    if route.system == "esp":
        return f"by filter{rng.randint(100, 9999)}p1mdw1.{route.mailfrom or route.domain} with SMTP id {_rand(rng, 22)}; {when}"
    if route.system == "vps":
        return f"from [{rng.choice(['127.0.0.1', '10.0.0.' + str(rng.randint(2, 200))])}] (localhost) by {host} with ESMTPSA; {when}" if rng.random() < 0.6 else ""
    return f"from [192.168.{rng.randint(0, 9)}.{rng.randint(2, 250)}] (unknown [{route.ip}]) by {host} (Postfix) with ESMTPSA id {_rand(rng, 10)}; {when}"


def stamp_internal(mail: Mail, org_system: str, org_domain: str, mx: str, ip_prefix: str,
                   rng: random.Random, *, outbound: bool = False) -> None:
    """Trace headers of a message between employees, or a sent copy of an outbound one."""
    route = Route(system=org_system, domain=org_domain, ip=f"{ip_prefix}.{rng.randint(2, 250)}")
    host, ip = _out_host(route, rng)
    inner = _inner_hop(route, host, mail.date, rng)
    when = mail.date.astimezone(dt.UTC) + dt.timedelta(seconds=rng.randint(1, 6))
    if outbound:
        mail.trace = [("Received", inner or f"from [10.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(2, 250)}] by {host} with ESMTPSA; {_rfc_date(when)}")]
        return
    trace = [("Authentication-Results", f"{mx}; spf=pass smtp.mailfrom={org_domain}; "
                                        f"dkim=pass header.d={org_domain}; dmarc=pass header.from={org_domain}"),
             ("Received", f"from {host} ({host} [{ip}]) by {mx} with ESMTPS id {_rand(rng, 11)}; {_rfc_date(when)}")]
    if inner:
        trace.append(("Received", inner))
    mail.trace = trace


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
