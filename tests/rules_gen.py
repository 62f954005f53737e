"""Random well-typed MQL rules and random messages, for compiled-vs-reference tests and benches."""

from __future__ import annotations

import random

from pyscore.message import (
    Attachment,
    AuthCheck,
    AuthSummary,
    Body,
    Domain,
    EmailAddress,
    Headers,
    Link,
    Mailbox,
    Message,
    Recipients,
    Subject,
    Url,
)

# Small vocabularies so that literals collide with values: case variants, look-alikes, non-ASCII.
WORDS = ["", "a", "Ab", "paypal", "PayPal", "PAYPAL", "pаypal", "invoice", "Invoice due", "verify",
         "KELVIN \u212a", "ſtraße", "x@y.com", "ceo", "gift card", "http://evil.ru/login", "ünï", "re: pay"]
DOMAINS = ["", "paypal.com", "paypa1.com", "gmail.com", "corp.com", "corp.co", "evil.ru", "xn--pple-43d.com"]
EXTS = ["", "exe", "pdf", "EXE", "js", "zip", "html"]
LITERALS = ["a", "ab", "pay", "PAY", "paypal", "invoice", "verify", "\u212a", "ſ", "ü", "x@", ".com", "ceo",
            "gift", "evil", "re:", "e", " "]
GLOBS = ["*pay*", "pay*", "*pal", "*", "paypal", "*in*ce*", "p*l", "**", "*a*b*", "re:*"]
REGEXES = ["pay(pal)?", "^re:", "inv[a-z]+", "\\bceo\\b", "k", "s", "[0-9]+", "gift ?card", "evil\\.ru/login$",
           # gaps, negated classes over non-ASCII, anchors, Unicode look-alikes, and patterns only re can run
           "(pay|invoice)[^.\\n]{0,8}(due|pal)", "[^a-z ]{2}", "\\W\\w", "^\\S+$", "ü|\u212a", ".{3,}\\Z",
           "(?i:PAY)pal|re\\b", "pay(?=pal)", "(a)b\\1",
           "(?i)PAY", "x@y\\.com"]
STR_FIELDS = ["subject.subject", "sender.display_name", "sender.email.domain.root_domain", "body.current_thread.text",
              "sender.email.email"]
LISTS = {
    "body.links": (["href_url.url", "href_url.domain.root_domain", "display_text"], []),
    "attachments": (["file_name", "file_extension"], ["size"]),
    "recipients.to": (["email.domain.root_domain", "display_name"], []),
}
NAMED_LISTS = {"brands": ("paypal", "PayPal", "ceo", "gift card"), "empty": ()}
SIGNALS = {"sig_num": "num", "sig_flag": "bool"}


def q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RuleGen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, xs):
        return self.r.choice(xs)

    def string(self, elem: str | None, depth: int) -> str:
        r = self.r.random()
        if elem and r < 0.45:
            return "." + self.pick(LISTS[elem][0])
        if depth > 0 and r < 0.55:
            a, b = self.string(elem, depth - 1), self.string(elem, depth - 1)
            return self.pick([f"strings.concat({a}, {b})", f"strings.replace_confusables({a})",
                              f"coalesce({a}, {b})"])
        if r < 0.6:
            return q(self.pick(WORDS))
        return self.pick(STR_FIELDS)

    def number(self, elem: str | None, depth: int) -> str:
        r = self.r.random()
        if elem and LISTS[elem][1] and r < 0.3:
            return "." + self.pick(LISTS[elem][1])
        if r < 0.45:
            lst = self.pick(list(LISTS))
            if depth > 0 and self.r.random() < 0.5:
                return f"length(filter({lst}, {self.boolean(lst, depth - 1)}))"
            if self.r.random() < 0.4:
                return f"length(distinct({lst}, .{self.pick(LISTS[lst][0])}))"
            return f"length({lst})"
        if r < 0.6:
            return f"length({self.string(elem, depth - 1)})"
        if r < 0.7:
            return f"strings.ilevenshtein({self.string(elem, 0)}, {q(self.pick(WORDS))})"
        if r < 0.8:
            return self.pick(["signals.sig_num", "size", "coalesce(signals.sig_num, 2)"])
        return str(self.r.randint(0, 4))

    def boolean(self, elem: str | None, depth: int) -> str:
        r = self.r.random()
        if depth > 0 and r < 0.25:
            op = self.pick([" and ", " or "])
            return "(" + op.join(self.boolean(elem, depth - 1) for _ in range(self.r.randint(2, 3))) + ")"
        if depth > 0 and r < 0.32:
            return f"not {self.boolean(elem, depth - 1)}"
        if depth > 0 and r < 0.5:
            lst = self.pick(list(LISTS))
            fn = self.pick(["any", "all"])
            inner = self.boolean(lst, depth - 1)
            source = lst
            k = self.r.random()
            if k < 0.25:
                source = f"filter({lst}, {self.boolean(lst, depth - 1)})"
            elif k < 0.4:
                field = self.pick(LISTS[lst][0])
                pred = self.pick([f'strings.icontains(., {q(self.pick(LITERALS))})', ". is null",
                                  f". == {q(self.pick(WORDS))}", f"regex.contains(., {q(self.pick(REGEXES))})"])
                wrap = self.pick(["map", "distinct_map"])
                src = f"map({lst}, .{field})"
                source = src if wrap == "map" else f"distinct({src})"
                return f"{fn}({source}, {pred})"
            return f"{fn}({source}, {inner})"
        if r < 0.56:
            return f"any($brands, strings.icontains({self.string(None, 0)}, .))"
        s = self.string(elem, 1)
        k = self.r.random()
        if k < 0.25:
            fn = self.pick(["contains", "icontains", "starts_with", "istarts_with", "ends_with", "iends_with"])
            pats = ", ".join(q(self.pick(LITERALS)) for _ in range(self.r.randint(1, 2)))
            return f"strings.{fn}({s}, {pats})"
        if k < 0.35:
            fn = self.pick(["like", "ilike"])
            return f"strings.{fn}({s}, {q(self.pick(GLOBS))})"
        if k < 0.47:
            fn = self.pick(["contains", "icontains", "match", "imatch"])
            return f"regex.{fn}({s}, {q(self.pick(REGEXES))})"
        if k < 0.57:
            return f"{s} {self.pick(['==', '!='])} {self.string(elem, 0)}"
        if k < 0.65:
            items = ", ".join(q(self.pick(WORDS + DOMAINS)) for _ in range(self.r.randint(1, 3)))
            return f"{s} {self.pick(['in', 'in~', 'not in'])} ({items})"
        if k < 0.7:
            return f"{s} is {self.pick(['', 'not '])}null"
        if k < 0.75:
            return self.pick(["signals.sig_flag", "not signals.sig_flag", "headers.auth_summary.dmarc.pass == false",
                              "headers.auth_summary.spf.pass is null", "type.inbound"])
        if k < 0.8:
            lst = self.pick(list(LISTS))
            return f"any(regex.iextract({s}, {q(self.pick(['[a-z]+', 'pay|pal', '[0-9]']))}), .full_match {self.pick(['==', '!='])} {q(self.pick(['pay', 'a', 'paypal']))}) or length({lst}) == 0"
        return f"{self.number(elem, depth - 1)} {self.pick(['==', '!=', '<', '<=', '>', '>='])} {self.number(elem, 0)}"

    def rule(self, depth: int = 3) -> str:
        return self.boolean(None, depth)


def _mailbox(r: random.Random) -> Mailbox:
    dom = r.choice(DOMAINS)
    local = r.choice(["", "bob", "Alice", "ceo"])
    email = f"{local}@{dom}" if local and dom else ""
    return Mailbox(EmailAddress(email, local, Domain(dom, dom, dom.rsplit(".", 1)[-1] if dom else "")), r.choice(WORDS))


def random_message(r: random.Random) -> Message:
    links = tuple(
        Link(Url(url=r.choice(WORDS + ["http://paypal.com/x"]), domain=Domain(d, d, "")), display_text=r.choice(WORDS))
        for d in (r.choice(DOMAINS) for _ in range(r.choice([0, 0, 1, 2, 3, 5]))))
    atts = tuple(Attachment(file_name=r.choice(WORDS) + "." + r.choice(EXTS), file_extension=r.choice(EXTS),
                            size=r.choice([0, 10, 5000])) for _ in range(r.choice([0, 0, 1, 2])))
    dmarc = AuthCheck(r.choice([None, "pass", "fail"]))
    spf = AuthCheck(r.choice([None, "pass", "fail"]))
    return Message(
        sender=_mailbox(r),
        headers=Headers(auth_summary=AuthSummary(spf=spf, dmarc=dmarc)),
        recipients=Recipients(to=tuple(_mailbox(r) for _ in range(r.choice([0, 1, 2])))),
        subject=Subject(r.choice(WORDS)),
        body=Body(current_thread_text=" ".join(r.choice(WORDS) for _ in range(r.randint(0, 4)))),
        links=links, attachments=atts, size=r.choice([0, 100, 20000]))


def random_signals(r: random.Random) -> dict[str, float]:
    return {"sig_num": r.choice([float("nan"), 0.0, 1.0, 3.0]), "sig_flag": r.choice([float("nan"), 0.0, 1.0])}
