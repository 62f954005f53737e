"""This module contains BEC and impersonation attacks injected into the Enron graph.

Every attack is addressed to a real Enron mailbox owner and exploits a real
history message: a VIP who wrote to that owner, or an external correspondent
who did. It is dated after the message it exploits and rendered in the Enron
release's own format (bare ``From`` address, the display name in ``X-From``,
JavaMail Message-ID, Pacific dates, the owner's X-Folder / X-Origin /
X-FileName), so that the archive's format does not tell injected mail apart.
Two tells are inherent to the techniques and stay: the release dropped
``Reply-To`` and ``In-Reply-To``/``References`` from nearly all real mail, and
a reply-to swap or a thread hijack needs them. Evaluate header features with
that in mind.

Techniques (category ``bec`` unless said):

* ``vip_freemail``: a VIP's display name on a free-mail address
  of the period, asking for a wire or an urgent favour;
* ``vendor_lookalike_<kind>``: a real correspondent's name and local part on
  a lookalike of their domain, kind ``homoglyph``, ``added_letter`` (doubled
  letter or a suffix such as -inc), ``dropped_letter`` or ``other_tld``,
  asking to change bank details;
* ``vendor_compromised``: the correspondent's real address
  asking to pay a new account;
* ``reply_to_swap``: a real correspondent's or VIP's address in ``From`` and
  the attacker's address in ``Reply-To``;
* ``thread_hijack``: a reply to a real message (``Re:`` subject,
  ``In-Reply-To``, ``References``, the original quoted) from a lookalike or the
  compromised real address, asking to pay a new account;
* ``gift_card``: a VIP's name on free mail asking for gift-card codes;
* ``cred_lookalike_login`` (category ``credential_phishing``):
  a password, mailbox or shared-document lure linking to a lookalike host.

Wording is assembled from many independent slots (greeting, pretext, ask,
secrecy, urgency, confirmation, closing, signature), each with many variants
and random fills (amounts, banks, invoice numbers, deadlines, places), and
optional sentences are dropped or reordered, so no sentence repeats often
enough to be memorised.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pyscore.datasets.enron_graph import ENRON_DOMAIN, FREE_MAIL, EnronGraph, HistoryMessage, Owner

PACIFIC = ZoneInfo("America/Los_Angeles")
DAY = 86400.0

# Names shared with pyscore.synth, so that reports join the two datasets per technique.
TECHNIQUES: dict[str, str] = {
    "vip_freemail": "bec",
    "vendor_lookalike_homoglyph": "bec",
    "vendor_lookalike_added_letter": "bec",
    "vendor_lookalike_dropped_letter": "bec",
    "vendor_lookalike_other_tld": "bec",
    "vendor_compromised": "bec",
    "reply_to_swap": "bec",
    "thread_hijack": "bec",
    "gift_card": "bec",
    "cred_lookalike_login": "credential_phishing",
}
# Relative share of each technique in an injected set.
WEIGHTS = {
    "vip_freemail": 3,
    "vendor_lookalike_homoglyph": 1,
    "vendor_lookalike_added_letter": 1,
    "vendor_lookalike_dropped_letter": 1,
    "vendor_lookalike_other_tld": 1,
    "vendor_compromised": 2,
    "reply_to_swap": 2,
    "thread_hijack": 3,
    "gift_card": 2,
    "cred_lookalike_login": 1,
}


@dataclass(frozen=True, slots=True)
class InjectedAttack:
    raw: bytes
    technique: str
    category: str
    timestamp: float
    message_id: str
    sender: str
    recipient: str
    owner: str
    exploits: HistoryMessage


# --- word pools -------------------------------------------------------------------------------

GREETINGS = [
    "{first},",
    "Hi {first},",
    "Hello {first},",
    "{first} -",
    "Dear {first},",
    "Good morning {first},",
    "Hey {first},",
    "{first}:",
    "Hi,",
    "Hello,",
    "Morning {first},",
    "Hi {first}!",
    "{first}, hope all is well.",
    "Afternoon {first},",
    "Dear {first} {last},",
    "",
]
CLOSINGS = [
    "Thanks,",
    "Thanks.",
    "Regards,",
    "Thx",
    "Best regards,",
    "Thank you,",
    "Many thanks,",
    "Cheers,",
    "Appreciate it,",
    "Best,",
    "Thanks again,",
    "Kind regards,",
    "Rgds,",
    "Talk soon,",
    "",
]
PLACES = [
    "in London",
    "in New York",
    "in Calgary",
    "at the board meeting",
    "in Washington",
    "on the road",
    "with the bankers",
    "in Portland",
    "at the offsite",
    "in Houston with the lenders",
    "in Sao Paulo",
    "at the conference in Dallas",
    "in Tokyo",
    "on a site visit",
    "in meetings with counsel",
]
DEALS = [
    "acquisition",
    "asset purchase",
    "settlement",
    "pipeline capacity deal",
    "partnership buy-in",
    "equity placement",
    "transaction",
    "vendor settlement",
    "power contract prepayment",
    "bid deposit",
]
COUNTERPARTIES = [
    "outside counsel",
    "the escrow agent",
    "our new partner",
    "the consultant",
    "the broker",
    "the seller's agent",
    "the advisory firm",
    "a supplier",
    "the trustee",
    "the closing agent",
]
BANKS = [
    "First Commerce Bank",
    "Bank One",
    "Chase Manhattan",
    "Wells Fargo",
    "Citibank",
    "Bank of America",
    "Southwest Securities Bank",
    "Compass Bank",
    "Frost National Bank",
    "Union Bank",
    "Fleet Bank",
    "Harris Trust",
    "Sterling Bank",
    "Amegy Bank",
    "Texas Capital Bank",
    "Comerica",
    "BNY Mellon",
    "Barclays",
    "HSBC",
    "Lloyds TSB",
    "Royal Bank of Canada",
    "Credit Suisse",
    "Wachovia",
    "SunTrust",
]
REASONS = [
    "after a merger of our treasury operations",
    "following an audit",
    "because of a change of ownership",
    "due to fraud on our old account",
    "as part of a restructuring",
    "after we moved our head office",
    "because our old bank is closing the branch",
    "for tax reasons",
    "to consolidate our accounts",
    "while our previous account is under review",
    "because of a dispute with our previous bank",
]
DEADLINES = [
    "today",
    "by end of day",
    "before 3 pm",
    "this afternoon",
    "before the close of business",
    "within the hour",
    "before the bank cutoff",
    "first thing tomorrow",
    "by noon",
    "before Friday",
]
GIFT_BRANDS = [
    "Amazon",
    "Best Buy",
    "Home Depot",
    "Wal-Mart",
    "Target",
    "Visa",
    "American Express",
    "Starbucks",
    "Barnes & Noble",
    "Macy's",
    "iTunes",
    "Sears",
]
GIFT_REASONS = [
    "a client appreciation gift",
    "the staff awards",
    "a thank-you for the team",
    "a customer promotion",
    "the holiday party raffle",
    "some of our vendors",
    "a surprise for the trading desk",
    "a few people who helped on the project",
    "prizes for the safety week",
]
SERVICES = [
    "Outlook Web Access",
    "EnronOnline",
    "the webmail portal",
    "the document exchange",
    "the intranet",
    "the secure file share",
    "ClickAtHome",
    "the benefits portal",
    "the VPN portal",
]
URL_PATHS = [
    "login",
    "owa/auth",
    "secure/logon.asp",
    "verify",
    "account/update",
    "portal/signin",
    "exchange/logon",
    "docs/view.asp",
    "webmail/index.html",
    "session/renew",
]

EXEC_SUBJECTS = [
    "Urgent",
    "Quick request",
    "Are you available?",
    "Confidential",
    "Wire today",
    "Need your help",
    "Payment",
    "Request",
    "Favor",
    "Time sensitive",
    "Pending transfer",
    "{deal} - confidential",
    "Quick question",
    "Are you in the office?",
    "Task",
    "Follow up",
    "Please handle",
]
BANK_SUBJECTS = [
    "Change of bank details",
    "Updated remittance information",
    "New banking instructions",
    "Important: payment details",
    "Vendor account update",
    "Remittance change - {company}",
    "Updated wire instructions",
    "Invoice {invoice} payment details",
    "Change of account",
    "Banking information update",
    "Re: invoice {invoice}",
    "Account change notification",
    "{company} - new bank account",
    "ACH update",
    "Payment instructions",
]
REPLY_SUBJECTS = [
    "Invoice {invoice}",
    "Payment status",
    "Outstanding balance",
    "Statement of account",
    "Remittance advice",
    "Open items",
    "Past due invoice {invoice}",
    "Vendor form",
    "Quick question",
    "W-9 and remittance",
    "Account reconciliation",
    "Payment schedule",
]
GIFT_SUBJECTS = [
    "Quick favor",
    "Are you around?",
    "Need a favor",
    "Request",
    "Gift cards",
    "Small task",
    "Are you busy?",
    "Help needed",
    "Urgent request",
    "Can you do this for me",
    "Surprise",
]
PHISH_SUBJECTS = [
    "Password expiration notice",
    "Mailbox quota exceeded",
    "Action required: verify your account",
    "Document shared with you",
    "Your account will be suspended",
    "Security alert",
    "New voice message",
    "Pending messages on hold",
    "Re-validate your login",
    "IT notice: mailbox upgrade",
    "{company} sent you a document",
    "Access will expire",
]

EXEC_PRETEXTS = [
    "I'm {place} and can't take calls right now.",
    "I am tied up {place} for the rest of the day.",
    "We are closing a confidential {deal} and I need your help.",
    "I'm stuck {place} and only have email on this account.",
    "I'm using my personal account since I can't get into the network from here.",
    "Something came up on the {deal} that needs to be handled quietly.",
    "I'm between meetings {place}.",
    "The {deal} we discussed is moving faster than expected.",
    "My blackberry is not syncing so please use this address for now.",
    "",
]
EXEC_ASKS = [
    "I need you to process a wire of {amount} to {counterparty} {deadline}.",
    "Can you get a payment of {amount} out to {counterparty} {deadline}? I'll send the account details.",
    "Please let me know if you can handle an urgent transfer of {amount}; details to follow.",
    "Are you at your desk? I need a quick favor that has to stay between us.",
    "I need {amount} sent to {counterparty} for the {deal}. Can you take care of it?",
    "Reply with the earliest time you can release a wire and I'll forward the instructions.",
    "How quickly can we send {amount} to an outside account? It is for the {deal}.",
    "Please set up a one-off payment to {counterparty}: {amount}. Banking details below.\n\n{bank_block}",
    "I need you to handle a transfer for me {deadline}. Let me know when you're free.",
    "Can you confirm the current balance available for same-day wires?",
]
SECRECY = [
    "Please keep this between us until it is announced.",
    "Don't discuss this with anyone else yet.",
    "This is confidential, so don't copy anyone.",
    "Keep this quiet for now, legal is still working on it.",
    "No need to loop in anyone else.",
    "",
    "",
]
URGENCY = [
    "It has to go out {deadline}.",
    "Time is critical on this one.",
    "Please treat this as a priority.",
    "I need it done {deadline}, no exceptions.",
    "Let me know as soon as it's done.",
    "Reply as soon as you see this.",
    "",
]
BANK_PRETEXTS = [
    "Please be advised that our banking arrangements have changed {reason}.",
    "Our accounts department has asked me to let our customers know about a change of bank.",
    "We recently switched banks {reason}.",
    "This is to notify you that {company} has a new account for receivables.",
    "Following a review of our treasury, we are moving all receipts to a new bank.",
    "As of this month our remittance details are different {reason}.",
    "I wanted to give you a heads up that our bank information has changed.",
    "We have had to change the account we use for incoming payments {reason}.",
    "Our controller asked me to send out updated remittance instructions.",
    "We are in the middle of a bank migration {reason}.",
    "Effective immediately, {company} is receiving payments at a different bank.",
    "Please note a change to how we receive funds {reason}.",
    "This is a courtesy notice regarding our payment details.",
    "Our treasury team has opened a new operating account.",
    "I'm writing on behalf of our accounting group about a change of bank.",
]
BANK_ASKS = [
    "Kindly update our remittance details before the next payment:\n\n{bank_block}",
    "All future payments, including invoice {invoice}, should go to the account below.\n\n{bank_block}",
    "Please make the payment for invoice {invoice} ({amount}) to our new account:\n\n{bank_block}",
    "Could you update your vendor file with these details and confirm?\n\n{bank_block}",
    "The open balance of {amount} should be remitted to:\n\n{bank_block}",
    "Please send this month's payment to the new account instead of the old one.\n\n{bank_block}",
    "Going forward please remit to:\n\n{bank_block}",
    "Here are the updated wire instructions for invoice {invoice}:\n\n{bank_block}",
    "The {amount} due {deadline} should be sent here:\n\n{bank_block}",
    "New details for ACH and wires are below.\n\n{bank_block}",
    "Our receivables now go to the following account:\n\n{bank_block}",
    "Please amend the beneficiary information on file to read:\n\n{bank_block}",
    "Use the following for all open items, including {invoice}:\n\n{bank_block}",
    "Can you set up the new account below in your payables system?\n\n{bank_block}",
]
CONFIRMS = [
    "Please confirm by return email once your records are updated.",
    "Do not use the old account as it is being closed.",
    "Let me know when the change is done so I can tell our treasury.",
    "Payments to the old account will be returned.",
    "Reply to confirm receipt of this notice.",
    "If you need a signed letter I can send one.",
    "",
    "Kindly acknowledge this change in writing.",
    "Our old bank details should be removed from your system.",
    "Once updated, send me a short note so I can close this out.",
    "Any payment sent to the previous account will bounce.",
    "We appreciate your prompt attention to this change.",
    "Feel free to reach me on my cell if anything is unclear.",
    "Our auditors need your confirmation by the end of the week.",
    "Please share this with whoever processes our invoices.",
    "I have copied the details above so you can update the file directly.",
    "Let me know if your team needs a new W-9 as well.",
    "The previous account is no longer able to accept deposits.",
    "Please make sure the next remittance uses these details.",
    "A quick reply once this is set up would be great.",
]
COMPROMISED_PRETEXTS = [
    "Our old account is frozen for an audit, so we need to redirect payments for the moment.",
    "Quick one: we're having issues with our usual bank this week.",
    "Regarding the outstanding invoice {invoice}, there is a change on our side.",
    "Hope you're well. Our finance team asked me to reach out about the next payment.",
    "Following up on the open invoices: our remittance account has changed {reason}.",
    "Before you release the {amount} payment, please note our new details.",
    "",
]
REPLY_ASKS = [
    "Could you reply with the payment status of invoice {invoice}?",
    "Please send me the remittance details for the last three payments.",
    "Can you confirm who approves vendor payments on your side?",
    "Would you send over a copy of your current vendor set-up form?",
    "Please let me know when the {amount} is scheduled to go out.",
    "Can you send me the contact in accounts payable for our invoices?",
    "Please reply with your latest statement so we can reconcile.",
    "We show {amount} outstanding. Can you confirm the date it will be paid?",
    "Who should I speak to about the {amount} balance?",
    "Can you tell me which of our invoices are still open?",
    "Please confirm the remittance address you have on file for us.",
    "Could you check whether invoice {invoice} was approved?",
]
HIJACK_ASKS = [
    "Following up on this: please note that payment for this should now go to our new account.\n\n{bank_block}",
    "Just circling back on the below. Our bank details have changed {reason}, see below.\n\n{bank_block}",
    "Before this gets processed, please use the updated remittance information:\n\n{bank_block}",
    "One more thing on this thread: invoice {invoice} for {amount} is due {deadline}. New details below.\n\n{bank_block}",
    "As discussed below, can you release the {amount} {deadline}? Wire to:\n\n{bank_block}",
    "Per the note below, please update the account on file before the next payment.\n\n{bank_block}",
    "Quick update on the below: please route the payment to our new bank.\n\n{bank_block}",
    "Thanks for this. Note that our account details have changed, see below.\n\n{bank_block}",
    "Re the below, we'd appreciate payment {deadline}. Please use:\n\n{bank_block}",
    "Adding to this thread: the {amount} should be wired to the account below.\n\n{bank_block}",
]
GIFT_ASKS = [
    "I need you to pick up {count} {brand} gift cards at ${value} each for {gift_reason}.",
    "Can you buy {count} {brand} cards, ${value} each? They are for {gift_reason}.",
    "I need {count} {brand} gift cards (${value} each) {deadline} for {gift_reason}.",
    "Please get {count} x ${value} {brand} gift cards for {gift_reason}, I'll reimburse you.",
    "Could you purchase {brand} gift cards for {gift_reason}? {count} of them at ${value}.",
]
GIFT_CODES = [
    "Scratch off the back and email me the codes.",
    "Send me pictures of the cards with the codes showing.",
    "Email me the card numbers and PINs once you have them.",
    "Reply with the codes as soon as you have them.",
    "Just send the claim codes here, I'll hand them out.",
]
PHISH_BODIES = [
    "Your password for {service} expires in {n} days. To keep your access, log in and confirm it here:\n{url}",
    "Your mailbox is over its storage limit and new messages are being held. Re-validate your account at\n{url}",
    "{sender_name} has shared a document with you on {service}. View it here:\n{url}",
    "We detected an unusual sign-in to your {service} account. Verify your identity within {n} hours:\n{url}",
    "You have {n} messages waiting on {service}. Log in to release them:\n{url}",
    "As part of the {service} upgrade all users must re-enter their credentials before {weekday}:\n{url}",
    "A secure message from {company} is waiting for you. Open it with your network login:\n{url}",
]
PHISH_FOOTERS = [
    "IT Service Desk",
    "Network Support",
    "Help Desk",
    "Messaging Team",
    "Information Technology",
    "Systems Administrator",
    "Security Operations",
    "",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
HOMOGLYPHS = {
    "o": ["0"],
    "l": ["1", "i"],
    "i": ["l", "1"],
    "m": ["rn"],
    "w": ["vv"],
    "e": ["c"],
    "a": ["e"],
    "s": ["5"],
    "g": ["q"],
    "d": ["cl"],
    "u": ["v"],
    "n": ["rn", "m"],
    "c": ["e"],
}
OTHER_TLDS = ["net", "org", "co", "us", "biz", "cc", "info", "com.co", "ws"]


# --- fills ------------------------------------------------------------------------------------


def _amount(rng: random.Random) -> str:
    value = rng.choice(
        [
            rng.randint(9, 99) * 1000 + rng.choice([0, 250, 500, 750]),
            rng.randint(100, 480) * 1000,
            rng.randint(12000, 95000) + rng.random(),
        ]
    )
    style = rng.randrange(4)
    if style == 0:
        return f"${value:,.2f}"
    if style == 1:
        return f"USD {value:,.0f}"
    if style == 2:
        return f"${value:,.0f}"
    return f"{value:,.2f} dollars"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _invoice(rng: random.Random) -> str:
    return rng.choice(["INV-", "#", "", "No. ", "EN-", "A"]) + _digits(rng, rng.randint(4, 7))


def _bank_block(rng: random.Random, company: str) -> str:
    bank, acct, aba = rng.choice(BANKS), _digits(rng, rng.randint(8, 12)), _digits(rng, 9)
    lines = [
        [f"Bank: {bank}", f"Account name: {company}", f"Account no: {acct}", f"ABA: {aba}"],
        [
            f"Beneficiary: {company}",
            f"Bank name: {bank}",
            f"Routing number: {aba}",
            f"Account number: {acct}",
        ],
        [f"{bank}", f"ABA {aba}", f"Acct {acct}", f"For credit to {company}"],
        [
            f"Bank - {bank}",
            f"Routing/ABA - {aba}",
            f"Account - {acct}",
            f"Name on account - {company}",
        ],
    ][rng.randrange(4)]
    if rng.random() < 0.3:
        lines.append(f"SWIFT: {''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(8))}")
    return "\n".join(lines)


def company_of(domain: str) -> str:
    from pyscore.domains import make_domain

    label = (make_domain(domain).root_domain or domain).split(".")[0]
    words = re.split(r"[-_]", label)
    name = " ".join(w.capitalize() for w in words if w)
    return name + (
        ""
        if len(name) > 12
        else " " + ["Inc.", "LLC", "Corp.", "Co.", "Ltd.", "Partners"][len(name) % 6]
    )


def split_name(display: str) -> tuple[str, str]:
    """(first, last) from "Last, First M." or "First Last"."""
    display = display.strip().strip('"').strip()
    if "," in display:
        last, first = (p.strip() for p in display.split(",", 1))
        first = first.split()[0] if first.split() else ""
    else:
        parts = display.split()
        first, last = (parts[0], parts[-1]) if len(parts) > 1 else (display, "")
    return first.strip(".").capitalize() or "there", last.strip(".").capitalize()


LOOKALIKE_KINDS = ("homoglyph", "added_letter", "dropped_letter", "other_tld")


def lookalike_domain(
    domain: str, rng: random.Random, avoid: set[str] = frozenset(), kind: str | None = None
) -> tuple[str, str]:
    """(lookalike, kind): a registrable domain a reader would take for ``domain``.

    The change is made to the registrable label (``omahasteaks`` of
    ``offer.omahasteaks.com``), since an attacker registers a domain, not a host
    under someone else's. Kinds follow ``pyscore.synth``: homoglyph, added_letter
    (a doubled letter or a suffix such as -inc), dropped_letter, other_tld. ASCII
    only: the mail it goes into predates IDN.
    """
    from pyscore.domains import make_domain

    root = make_domain(domain).root_domain or domain
    suffix = root.split(".", 1)[1] if "." in root else "com"
    label = root.split(".", 1)[0]
    for _ in range(50):
        k = kind or rng.choice(LOOKALIKE_KINDS)
        spots = [i for i, c in enumerate(label) if c in HOMOGLYPHS]
        if k == "homoglyph" and spots:
            i = rng.choice(spots)
            new = label[:i] + rng.choice(HOMOGLYPHS[label[i]]) + label[i + 1 :]
        elif k == "dropped_letter" and len(label) > 4:
            i = rng.randrange(1, len(label) - 1)
            new = label[:i] + label[i + 1 :]
        elif k == "other_tld":
            out = f"{label}.{rng.choice([t for t in OTHER_TLDS if t != suffix])}"
            if out != root and out not in avoid:
                return out, k
            continue
        else:
            k = "added_letter"
            if rng.random() < 0.7:
                i = rng.randrange(len(label))
                new = f"{label[:i]}{label[i]}{label[i:]}"  # a doubled letter
            else:
                new = label + rng.choice(
                    ["-inc", "-corp", "-us", "-llc", "-group", "-payments", "-accounts"]
                )
        out = f"{new}.{suffix}"
        if out != root and out not in avoid:
            return out, k
    return f"{label}-{rng.randrange(10, 99)}.{suffix}", "added_letter"


def freemail_address(first: str, last: str, rng: random.Random) -> str:
    f, l_ = first.lower(), (last or "exec").lower()
    local = rng.choice(
        [
            f"{f}.{l_}",
            f"{f}{l_}{rng.randint(1, 99)}",
            f"{f[0]}{l_}",
            f"{l_}.{f}",
            f"{f}_{l_}",
            f"{f}.{l_}.office",
            f"{f[0]}.{l_}{rng.randint(1, 9)}",
            f"office.{l_}",
            f"{l_}{f[0]}.exec",
        ]
    )
    return f"{re.sub(r'[^a-z0-9._]', '', local)}@{rng.choice(FREE_MAIL)}"


# --- rendering --------------------------------------------------------------------------------


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"template slot {{{key}}} has no fill")


def _render(text: str, fills: _Fill) -> str:
    return text.format_map(fills)


def _paragraphs(rng: random.Random, parts: list[str], fills: _Fill) -> str:
    """Non-empty parts, each rendered; sentences sometimes joined into one paragraph."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        text = _render(part, fills)
        if out and "\n" not in text and "\n" not in out[-1] and rng.random() < 0.45:
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
    return "\n\n".join(out)


# Word-level variants, each applied independently: multiplies the distinct sentences.
PARAPHRASES = [
    ("Please ", ["Kindly ", "Please ", "Pls "]),
    ("please ", ["kindly ", "please "]),
    ("confirm", ["confirm", "verify", "acknowledge"]),
    ("account", ["account", "acct", "bank account"]),
    ("payment", ["payment", "remittance", "transfer"]),
    ("update", ["update", "change", "amend"]),
    ("details", ["details", "information", "info", "particulars"]),
    ("old ", ["old ", "previous ", "former ", "current "]),
    ("new ", ["new ", "updated ", "revised "]),
    ("send", ["send", "forward", "email"]),
    ("Let me know", ["Let me know", "Tell me", "Advise", "Please advise"]),
    ("as soon as", ["as soon as", "once", "the moment"]),
    ("invoice", ["invoice", "bill", "inv."]),
    ("today", ["today", "this afternoon", "asap"]),
    ("need", ["need", "require", "would like"]),
    ("quick", ["quick", "small", "brief"]),
]


def _paraphrase(text: str, rng: random.Random) -> str:
    out = text
    for word, options in PARAPHRASES:
        if word in out and rng.random() < 0.5:
            pattern = re.compile(r"\b" + re.escape(word.strip()) + r"\b")
            out = pattern.sub(lambda _m, o=options: rng.choice(o).strip(), out)
    return out


def _noise(text: str, rng: random.Random) -> str:
    """Small human variation: contractions, case, spacing."""
    swaps = [
        ("I am ", "I'm "),
        ("do not ", "don't "),
        ("Please ", "Pls "),
        ("you ", "u "),
        ("Thanks", "Thank you"),
        ("can you", "could you"),
        ("today", "today please"),
    ]
    for a, b in swaps:
        if a in text and rng.random() < 0.2:
            text = text.replace(a, b, 1)
    if rng.random() < 0.15:
        text = text.replace(". ", ".  ", 1)
    return text


def _signature(
    rng: random.Random, first: str, last: str, name: str, company: str, phone: bool
) -> str:
    style = rng.randrange(6)
    sig = [
        first,
        f"{first} {last}",
        f"{first[:1]}{last[:1]}".upper(),
        name if "," not in name else f"{first} {last}",
        f"{first} {last}\n{company}",
        f"{first}\n{company}\n{rng.choice(['Accounts Receivable', 'Finance', 'Treasury', 'Billing', 'Sales'])}",
    ][style]
    if phone and rng.random() < 0.6:
        sig += f"\n({rng.randint(201, 989)}) {rng.randint(200, 999)}-{_digits(rng, 4)}"
    return sig


def _date_header(ts: float) -> str:
    local = _dt.datetime.fromtimestamp(ts, PACIFIC)
    return local.strftime("%a, %-d %b %Y %H:%M:%S %z") + f" ({local.tzname()})"


def _java_message_id(rng: random.Random) -> str:
    return f"<{rng.randint(1_000_000, 33_999_999)}.1075{_digits(rng, 9)}.JavaMail.evans@thyme>"


def render_enron(
    rng: random.Random,
    *,
    ts: float,
    sender: str,
    sender_name: str,
    owner: Owner,
    subject: str,
    body: str,
    reply_to: str = "",
    in_reply_to: str = "",
) -> tuple[bytes, str]:
    """Raw bytes in the Enron release's layout, and the Message-ID given."""
    message_id = _java_message_id(rng)
    x_from = rng.choice(
        [f"{sender_name} <{sender}>", f'"{sender_name}" <{sender}>@ENRON', sender_name]
    )
    headers = [
        ("Message-ID", message_id),
        ("Date", _date_header(ts)),
        ("From", sender),
        ("To", owner.email),
        ("Subject", subject),
    ]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    if in_reply_to:
        headers += [("In-Reply-To", in_reply_to), ("References", in_reply_to)]
    headers += [
        ("Mime-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
        ("Content-Transfer-Encoding", "7bit"),
        ("X-From", x_from),
        ("X-To", owner.name or owner.email),
        ("X-cc", ""),
        ("X-bcc", ""),
    ]
    headers += list(owner.folder_headers)
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    text = body.encode("ascii", "replace").decode()
    return (head + "\n" + text + "\n").encode("ascii", "replace"), message_id


# --- techniques -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    technique: str
    history: HistoryMessage
    owner: Owner


def _common_fills(rng: random.Random, owner: Owner, company: str) -> _Fill:
    first, last = split_name(owner.name) if owner.name else ("there", "")
    return _Fill(
        first=first,
        last=last,
        first_formal=f"Mr./Ms. {last}" if last else first,
        place=rng.choice(PLACES),
        deal=rng.choice(DEALS),
        counterparty=rng.choice(COUNTERPARTIES),
        amount=_amount(rng),
        deadline=rng.choice(DEADLINES),
        reason=rng.choice(REASONS),
        invoice=_invoice(rng),
        company=company,
        bank_block=_bank_block(rng, company),
        brand=rng.choice(GIFT_BRANDS),
        count=rng.choice([3, 4, 5, 6, 8, 10, 12]),
        value=rng.choice([50, 100, 100, 200, 250, 500]),
        gift_reason=rng.choice(GIFT_REASONS),
        service=rng.choice(SERVICES),
        n=rng.randint(1, 14),
        weekday=rng.choice(WEEKDAYS),
    )


def _compose(rng: random.Random, fills: _Fill, middle: list[str], closing_sig: str) -> str:
    greeting = re.sub(r"\s+([,:!])", r"\1", _render(rng.choice(GREETINGS), fills))
    body = _paragraphs(rng, middle, fills)
    closing = rng.choice(CLOSINGS)
    tail = f"{closing}\n{closing_sig}" if closing else closing_sig
    text = "\n\n".join(p for p in (greeting, _paraphrase(body, rng), tail) if p)
    return _noise(text, rng)


def _exec(rng, plan: _Plan, graph: EnronGraph, gift: bool) -> tuple[dict, str]:
    vip = plan.history.sender
    name = graph.names.get(vip, plan.history.sender_name)
    first, last = split_name(name)
    sender = freemail_address(first, last, rng)
    fills = _common_fills(rng, plan.owner, "Enron")
    if gift:
        middle = [
            rng.choice(["", "Are you at your desk?", "I need a favor.", "Quick one."]),
            rng.choice(GIFT_ASKS),
            rng.choice(GIFT_CODES),
            rng.choice(SECRECY),
            rng.choice(URGENCY),
        ]
        subject = rng.choice(GIFT_SUBJECTS)
    else:
        pre = [rng.choice(EXEC_PRETEXTS), rng.choice(EXEC_ASKS)]
        if rng.random() < 0.5:
            pre.reverse()
        middle = [*pre, rng.choice(SECRECY), rng.choice(URGENCY)]
        subject = rng.choice(EXEC_SUBJECTS)
    sig = rng.choice(
        [
            first,
            f"{first[:1]}{last[:1]}".upper(),
            f"{first} {last}",
            f"{first}\nSent from my wireless device",
        ]
    )
    body = _compose(rng, fills, middle, sig)
    subject = _render(subject, fills)
    return dict(sender=sender, sender_name=name, subject=subject[:1].upper() + subject[1:]), body


def _vendor(
    rng, plan: _Plan, graph: EnronGraph, technique: str, avoid: set[str]
) -> tuple[dict, str]:
    real = plan.history.sender
    local, domain = real.split("@")
    name = graph.names.get(real, plan.history.sender_name)
    first, last = split_name(name)
    company = company_of(domain)
    fills = _common_fills(rng, plan.owner, company)
    sig = _signature(rng, first, last, name, company, phone=True)
    extra: dict = {}
    if technique.startswith("vendor_lookalike_"):
        fake, kind = lookalike_domain(
            domain, rng, avoid, kind=technique.removeprefix("vendor_lookalike_")
        )
        # A label without the wanted change (no homoglyph in "rr") gets another kind: say which.
        extra["technique"] = f"vendor_lookalike_{kind}"
        sender = f"{local}@{fake}"
        middle = [
            rng.choice(BANK_PRETEXTS),
            rng.choice(BANK_ASKS),
            rng.choice(CONFIRMS),
            rng.choice(URGENCY),
        ]
        subject = rng.choice(BANK_SUBJECTS)
    elif technique == "vendor_compromised":
        sender = real
        middle = [rng.choice(COMPROMISED_PRETEXTS), rng.choice(BANK_ASKS), rng.choice(CONFIRMS)]
        subject = rng.choice(BANK_SUBJECTS + REPLY_SUBJECTS)
    elif technique == "reply_to_swap":
        sender = real
        attacker = rng.choice(
            [
                freemail_address(first, last, rng),
                f"{local}@{lookalike_domain(domain, rng, avoid)[0]}",
            ]
        )
        extra["reply_to"] = f'"{name}" <{attacker}>' if rng.random() < 0.5 else attacker
        middle = [
            rng.choice(["", *COMPROMISED_PRETEXTS]),
            rng.choice(REPLY_ASKS),
            rng.choice(URGENCY),
        ]
        subject = rng.choice(REPLY_SUBJECTS)
    else:  # thread_hijack
        hist = plan.history
        sender = (
            real if rng.random() < 0.4 else f"{local}@{lookalike_domain(domain, rng, avoid)[0]}"
        )
        middle = [rng.choice(HIJACK_ASKS), rng.choice(CONFIRMS)]
        subject = hist.subject if hist.subject.lower().startswith("re:") else f"Re: {hist.subject}"
        extra["in_reply_to"] = hist.message_id
        extra["quote"] = _quote(rng, hist, plan.owner)
    body = _compose(rng, fills, middle, sig)
    if "quote" in extra:
        body = f"{body}\n\n{extra.pop('quote')}"
    return dict(sender=sender, sender_name=name, subject=_render(subject, fills), **extra), body


def _quote(rng: random.Random, hist: HistoryMessage, owner: Owner) -> str:
    excerpt = "\n".join(hist.excerpt.strip().splitlines()[:20])
    if rng.random() < 0.6:  # Outlook style, as most Enron replies quote
        return (
            "-----Original Message-----\n"
            f"From: {hist.sender_name}\nSent: {hist.date_raw}\nTo: {owner.name or owner.email}\n"
            f"Subject: {hist.subject}\n\n{excerpt}"
        )
    quoted = "\n".join(f"> {line}" for line in excerpt.splitlines())
    return f"On {hist.date_raw}, {hist.sender_name} wrote:\n{quoted}"


def _phish(rng, plan: _Plan, graph: EnronGraph, avoid: set[str]) -> tuple[dict, str]:
    hist = plan.history
    if "@" + ENRON_DOMAIN in hist.sender or rng.random() < 0.5:
        host = lookalike_domain(ENRON_DOMAIN, rng, avoid)[0]
        sender_name = rng.choice(PHISH_FOOTERS[:-1])
        sender = f"{rng.choice(['helpdesk', 'it.support', 'postmaster', 'admin', 'security', 'noreply'])}@{host}"
        company = "Enron"
    else:
        local, domain = hist.sender.split("@")
        host = lookalike_domain(domain, rng, avoid)[0]
        sender_name = graph.names.get(hist.sender, hist.sender_name)
        sender = f"{local}@{host}"
        company = company_of(domain)
    fills = _common_fills(rng, plan.owner, company)
    fills["url"] = (
        f"http://{rng.choice(['', 'www.', 'mail.', 'secure.', 'login.'])}{host}/{rng.choice(URL_PATHS)}"
    )
    fills["sender_name"] = sender_name
    body = _compose(
        rng,
        fills,
        [rng.choice(PHISH_BODIES), rng.choice(URGENCY)],
        rng.choice(PHISH_FOOTERS) or company,
    )
    return dict(
        sender=sender, sender_name=sender_name, subject=_render(rng.choice(PHISH_SUBJECTS), fills)
    ), body


# --- planning ---------------------------------------------------------------------------------


def _attack_time(rng: random.Random, hist: HistoryMessage, owner: Owner) -> float:
    """After the exploited message: days to weeks later, within the owner's observed inbox period."""
    lo = hist.timestamp + 2 * 3600
    hi = max(owner.last_timestamp, lo + 3 * DAY)
    t = lo + rng.expovariate(1 / (12 * DAY))
    if t > hi:
        t = rng.uniform(lo, hi)
    # Working hours, Pacific, like the mail around it.
    local = _dt.datetime.fromtimestamp(t, PACIFIC)
    local = local.replace(
        hour=rng.randint(7, 18), minute=rng.randrange(60), second=rng.randrange(60)
    )
    return max(local.timestamp(), lo)


def plan_attacks(graph: EnronGraph, n: int, rng: random.Random) -> list[_Plan]:
    """Pick the history each of n attacks exploits, technique shares by WEIGHTS."""
    internal = sorted(graph.internal.items())
    external = sorted(graph.external.items())
    threads = [
        (k, h) for k, hs in external for h in hs if h.message_id and h.subject and h.excerpt.strip()
    ]
    if not internal and not external:
        return []
    techniques = [t for t, w in WEIGHTS.items() for _ in range(w)]
    plans: list[_Plan] = []
    used: set[int] = set()
    for i in range(n):
        technique = techniques[i % len(techniques)]
        # Prefer history no other attack exploits yet; reuse only when the graph is small.
        for _ in range(20):
            hist = _pool_for(technique, internal, external, threads, rng)
            if hist is None or hist.index not in used:
                break
        if hist is None:
            continue
        used.add(hist.index)
        plans.append(_Plan(technique, hist, graph.owners[hist.owner]))
    return plans


def _pool_for(technique, internal, external, threads, rng) -> HistoryMessage | None:
    if technique in ("vip_freemail", "gift_card"):
        if not internal:
            return None
        return rng.choice(rng.choice(internal)[1])
    if technique == "thread_hijack":
        return rng.choice(threads)[1] if threads else None
    if technique == "reply_to_swap" and internal and rng.random() < 0.25:
        return rng.choice(rng.choice(internal)[1])
    if technique == "cred_lookalike_login":
        source = external if (external and rng.random() < 0.6) else internal
        return rng.choice(rng.choice(source)[1]) if source else None
    return rng.choice(rng.choice(external)[1]) if external else None


def inject(
    graph: EnronGraph, n: int, *, seed: int = 0, known_domains: set[str] = frozenset()
) -> list[InjectedAttack]:
    """n attacks (fewer when the graph lacks the history a technique needs), deterministic for a seed."""
    rng = random.Random(seed)
    avoid = set(known_domains)
    attacks: list[InjectedAttack] = []
    for plan in plan_attacks(graph, n, rng):
        technique = plan.technique
        if technique in ("vip_freemail", "gift_card"):
            meta, body = _exec(rng, plan, graph, gift=technique == "gift_card")
        elif technique == "cred_lookalike_login":
            meta, body = _phish(rng, plan, graph, avoid)
        elif technique == "reply_to_swap" and plan.history.sender.endswith("@" + ENRON_DOMAIN):
            meta, body = _exec(rng, plan, graph, gift=False)
            meta["reply_to"], meta["sender"] = meta["sender"], plan.history.sender
        else:
            meta, body = _vendor(rng, plan, graph, technique, avoid)
        ts = _attack_time(rng, plan.history, plan.owner)
        technique = meta.pop("technique", technique)
        raw, message_id = render_enron(rng, ts=ts, owner=plan.owner, body=body, **meta)
        attacks.append(
            InjectedAttack(
                raw,
                technique,
                TECHNIQUES[technique],
                ts,
                message_id,
                meta["sender"],
                plan.owner.email,
                plan.owner.mailbox,
                plan.history,
            )
        )
    return attacks
