"""This module contains the simulated organisations: employees, VIPs, finance staff and
their external world (vendors, customers, partners, newsletters, SaaS, mailing lists).

Everything is drawn from a ``random.Random`` so that one seed gives one world.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

# --- name pools (mixed origins; some non-ASCII so encoded words get exercised) ------------
FIRST_NAMES = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Ashley", "Donald", "Emily", "Steven", "Kimberly", "Andrew", "Donna", "Paul", "Michelle", "Joshua", "Carol", "Kenneth", "Amanda", "Kevin", "Melissa", "Brian", "Deborah", "George", "Stephanie", "Timothy", "Rebecca", "Ronald", "Laura", "Jason", "Helen", "Edward", "Sharon", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Gary", "Angela", "Nicholas", "Anna", "Eric", "Brenda", "Jonathan", "Pamela", "Stephen", "Emma", "Larry", "Nicole", "Justin", "Samantha", "Scott", "Katherine", "Brandon", "Christine", "Benjamin", "Rachel", "Samuel", "Olivia", "Priya", "Rahul", "Aisha", "Omar", "Wei", "Mei", "Hiroshi", "Yuki", "Carlos", "Lucía", "José", "María", "Søren", "Zoë", "Chloé", "François", "Jürgen", "Björn", "Łukasz", "Agnieszka", "Giulia", "Marco", "Sven", "Ingrid", "Mateo", "Sofía", "Ahmed", "Fatima", "Nikhil", "Ananya", "Kwame", "Amara", "Diego", "Camila", "Elif", "Mehmet", "Hannah", "Lukas", "Noah", "Leon", "Mila", "Ravi", "Sanjay", "Ines", "Tomás"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Shah", "Kumar", "Singh", "Chen", "Wang", "Li", "Zhang", "Tanaka", "Sato", "Kim", "Park", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Dubois", "Lefèvre", "Moreau", "Girard", "Rossi", "Bianchi", "Romano", "Núñez", "Jiménez", "Álvarez", "Kowalski", "Nowak", "Wiśniewski", "Johansson", "Lindqvist", "Jensen", "Nielsen", "Okafor", "Mensah", "Haddad", "Khalil", "Yilmaz", "Demir", "O'Brien", "MacLeod", "Fitzgerald", "Brennan", "Novak", "Horvat", "van_der_Berg", "de_Vries", "Andersson", "Eriksson", "Costa", "Silva", "Pereira", "Oliveira", "Ferreira"]
LAST_NAMES = [n.replace("_", " ") for n in LAST_NAMES]

DEPARTMENTS = {
    "Executive": ["Chief Executive Officer", "Chief Financial Officer", "Chief Operating Officer",
                  "Chief Technology Officer", "President", "General Counsel"],
    "Finance": ["Controller", "Accounts Payable Specialist", "Senior Accountant",
                "Payroll Manager", "Financial Analyst", "Treasury Manager", "AP Clerk"],
    "Sales": ["Account Executive", "Sales Director", "Sales Manager", "Business Development Rep",
              "Regional Sales Lead"],
    "Engineering": ["Software Engineer", "Senior Engineer", "Engineering Manager", "QA Engineer",
                    "DevOps Engineer", "Data Engineer"],
    "Marketing": ["Marketing Manager", "Content Strategist", "Product Marketing Manager",
                  "Marketing Coordinator"],
    "Operations": ["Operations Manager", "Logistics Coordinator", "Office Manager",
                   "Facilities Coordinator", "Procurement Specialist"],
    "People": ["HR Business Partner", "Recruiter", "People Operations Manager"],
    "IT": ["IT Administrator", "Systems Engineer", "Security Analyst", "Help Desk Technician"],
    "Customer Success": ["Customer Success Manager", "Support Engineer", "Support Lead"],
}
DEPT_WEIGHTS = {"Finance": 0.10, "Sales": 0.18, "Engineering": 0.22, "Marketing": 0.09,
                "Operations": 0.11, "People": 0.06, "IT": 0.07, "Customer Success": 0.17}

_ORG_A = ["Blue", "North", "Summit", "Harbor", "Cedar", "Iron", "Silver", "Quantum", "Granite", "Maple", "Beacon", "Pioneer", "Crescent", "Meridian", "Evergreen", "Falcon", "Atlas", "Lumen", "Orchard", "Riverside", "Sterling", "Vertex", "Aurora", "Keystone", "Sapphire", "Horizon", "Redwood", "Copper", "Highland", "Lakeshore", "Tidewater", "Brightline", "Ashford", "Westbrook", "Oakridge", "Clearwater", "Stonebridge", "Fairview", "Kestrel"]
_ORG_B = ["Analytics", "Logistics", "Systems", "Partners", "Foods", "Health", "Energy", "Labs", "Consulting", "Dynamics", "Industries", "Solutions", "Software", "Capital", "Freight", "Robotics", "Media", "Supply", "Networks", "Manufacturing", "Pharma", "Materials", "Engineering", "Advisors", "Retail", "Holdings", "Studios", "Technologies", "Services", "Group", "Works"]
_VENDOR_KINDS = {
    "it_services": ("IT Services", ["managed IT services", "network support", "laptop leasing"]),
    "logistics": ("Logistics", ["freight", "warehousing", "courier services"]),
    "office": ("Office Supply", ["office supplies", "printer toner", "furniture"]),
    "consulting": ("Consulting", ["advisory services", "implementation support"]),
    "legal": ("Legal", ["legal services", "contract review"]),
    "facilities": ("Facilities", ["cleaning services", "HVAC maintenance", "security services"]),
    "software": ("Software", ["annual licences", "support subscription"]),
    "staffing": ("Staffing", ["contract staffing", "temporary staff"]),
    "marketing": ("Agency", ["campaign production", "design services", "printing"]),
    "catering": ("Catering", ["catering", "event services"]),
}
_TLDS = ["com"] * 10 + ["net", "io", "co", "co.uk", "de", "fr", "es", "ca", "com.au", "nl"]
_TLD_LANG = {"de": "de", "fr": "fr", "es": "es"}
FREEMAIL = ["gmail.com"] * 6 + ["outlook.com"] * 3 + ["yahoo.com"] * 2 + [
    "hotmail.com", "icloud.com", "aol.com", "proton.me", "gmx.de", "web.de", "mail.com",
    "yandex.com", "zoho.com", "orange.fr", "libero.it"]

# Real SaaS senders: (brand, from address, display name, link hosts, kinds of notifications).
SAAS = [
    ("Slack", "feedback@slack.com", "Slack", ["app.slack.com", "{org}.slack.com"]),
    ("Zoom", "no-reply@zoom.us", "Zoom", ["zoom.us", "us02web.zoom.us"]),
    ("DocuSign", "dse_na2@docusign.net", "DocuSign via {person}", ["na2.docusign.net",
                                                                   "www.docusign.net"]),
    ("Atlassian", "jira@{org}.atlassian.net", "{person} (Jira)", ["{org}.atlassian.net"]),
    ("GitHub", "noreply@github.com", "GitHub", ["github.com"]),
    ("Salesforce", "noreply@salesforce.com", "Salesforce", ["login.salesforce.com",
                                                            "{org}.my.salesforce.com"]),
    ("Dropbox", "no-reply@dropbox.com", "Dropbox", ["www.dropbox.com"]),
    ("Box", "noreply@box.com", "Box", ["app.box.com"]),
    ("Microsoft", "account-security-noreply@accountprotection.microsoft.com",
     "Microsoft account team", ["account.microsoft.com", "login.microsoftonline.com"]),
    ("SharePoint", "no-reply@sharepointonline.com", "{person} (via SharePoint)",
     ["{org}.sharepoint.com"]),
    ("Google", "no-reply@accounts.google.com", "Google", ["accounts.google.com",
                                                          "myaccount.google.com"]),
    ("HubSpot", "noreply@notifications.hubspot.com", "HubSpot", ["app.hubspot.com"]),
    ("Okta", "noreply@okta.com", "Okta", ["{org}.okta.com"]),
    ("Zendesk", "support@{org}.zendesk.com", "{Org} Support", ["{org}.zendesk.com"]),
    ("Asana", "no-reply@asana.com", "Asana", ["app.asana.com"]),
    ("Notion", "notify@mail.notion.so", "Notion", ["www.notion.so"]),
    ("Workday", "{org}@myworkday.com", "Workday", ["wd5.myworkday.com"]),
    ("Expensify", "concierge@expensify.com", "Expensify", ["www.expensify.com"]),
    ("Adobe", "message@adobe.com", "Adobe Acrobat Sign", ["secure.adobesign.com"]),
]
_NEWS_A = ["Daily", "Weekly", "Morning", "Industry", "Supply", "Chain", "Finance", "Tech", "Cloud", "Retail", "Security", "Leadership", "Market", "Data", "Logistics", "Energy", "Health"]
_NEWS_B = ["Digest", "Brief", "Insider", "Review", "Wire", "Report", "Dispatch", "Letter", "Journal", "Pulse"]
_ESPS = [("sendgrid.net", "o1.ptr{n}.sendgrid.net", "bounces+{n}-{h}@em{k}.{d}"),
         ("mcsv.net", "mail{n}.atl{k}.mcsv.net", "bounce-mc.us{k}_{n}.{h}@mail{k}.mcsv.net"),
         ("mktomail.com", "mail{n}.mktomail.com", "{h}-{n}@mktomail.com"),
         ("amazonses.com", "a{n}-{k}.smtp-out.amazonses.com", "{h}@amazonses.com")]


@dataclass
class Person:
    """A correspondent: an employee or an external contact."""

    name: str
    email: str
    title: str = ""
    department: str = ""
    company: str = ""
    lang: str = "en"
    tz: int = 0  # minutes east of UTC
    is_vip: bool = False
    is_finance: bool = False
    # habits: expected new threads started per working day, and weighted contacts
    rate: float = 1.0
    phone: str = ""

    @property
    def first(self) -> str:
        return self.name.split(" ")[0]

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


@dataclass
class External:
    """An outside organisation with people who write to the tenant."""

    kind: str  # vendor, customer, partner
    company: str
    domain: str
    system: str  # mail system profile name: m365, google, hosted
    contacts: list[Person]
    lang: str = "en"
    service: str = ""  # what a vendor sells
    invoice_prefix: str = ""
    bank: dict = field(default_factory=dict)
    phone: str = ""
    ip: str = ""


@dataclass
class Sender:
    """A bulk sender: newsletter, SaaS notification source or mailing list."""

    kind: str  # newsletter, saas, list, graymail
    brand: str
    address: str
    display: str
    link_hosts: list[str]
    esp: tuple[str, str, str] | None = None
    list_id: str = ""


@dataclass
class Org:
    tenant: str
    name: str
    domain: str
    extra_domains: list[str]
    tz: int
    lang: str
    system: str
    mx: str
    employees: list[Person]
    vendors: list[External]
    customers: list[External]
    partners: list[External]
    newsletters: list[Sender]
    saas: list[Sender]
    lists: list[Sender]
    slug: str = ""
    ip_prefix: str = ""
    dmarc_policy: str = "quarantine"
    contacts: dict[str, list[tuple[Person, float]]] = field(default_factory=dict)

    @property
    def vips(self) -> list[Person]:
        return [p for p in self.employees if p.is_vip]

    @property
    def finance(self) -> list[Person]:
        return [p for p in self.employees if p.is_finance]

    def to_json(self) -> dict:
        """The per-tenant context that signals read as configuration."""
        def ppl(ps: list[Person]) -> list[dict]:
            return [{"name": p.name, "email": p.email, "title": p.title} for p in ps]
        return {
            "tenant": self.tenant,
            "name": self.name,
            "domains": [self.domain, *self.extra_domains],
            "vips": ppl(self.vips),
            "finance": ppl(self.finance),
            "employees": len(self.employees),
            "vendor_domains": [v.domain for v in self.vendors],
            "vendors": [{"company": v.company, "domain": v.domain} for v in self.vendors],
            "customer_domains": [c.domain for c in self.customers],
            "partner_domains": [p.domain for p in self.partners],
            "dmarc_policy": self.dmarc_policy,
            "utc_offset_minutes": self.tz,
        }


def ascii_fold(text: str) -> str:
    """Letters an address can carry: accents dropped, a few letters spelled out."""
    text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L").replace("ø", "o")
    text = text.replace("Ø", "O").replace("æ", "ae").replace("'", "")
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum() or c in " -"))


def local_part(name: str, style: str, rng: random.Random) -> str:
    parts = ascii_fold(name).lower().replace("-", " ").split()
    first, last = parts[0], "".join(parts[1:]) or parts[0]
    forms = {"first.last": f"{first}.{last}", "flast": f"{first[0]}{last}",
             "firstl": f"{first}{last[0]}", "first": first, "first_last": f"{first}_{last}"}
    return forms[style]


def phone_number(rng: random.Random, lang: str = "en") -> str:
    if lang == "de":
        return f"+49 {rng.randint(30, 89)} {rng.randint(1000000, 9999999)}"
    if lang == "fr":
        return f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
    if lang == "es":
        return f"+34 91 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
    return f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"


def random_ip(rng: random.Random, prefix: str = "") -> str:
    if prefix:
        return f"{prefix}.{rng.randint(2, 250)}"
    first = rng.choice([23, 34, 40, 45, 52, 64, 66, 74, 85, 91, 104, 138, 146, 157, 185, 192,
                        198, 203, 209, 212])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"


def _company(rng: random.Random, used: set[str], suffix: str = "") -> tuple[str, str, str]:
    while True:
        a = rng.choice(_ORG_A)
        b = suffix or rng.choice(_ORG_B)
        tld = rng.choice(_TLDS)
        form = rng.random()
        if form < 0.45:
            host = f"{a}{b}".lower()
        elif form < 0.7:
            host = f"{a}-{b}".lower()
        elif form < 0.85:
            host = a.lower() + b.lower()[:3]
        else:
            host = f"{a}{b[0]}".lower() if len(a) > 5 else f"{a}{b}".lower()
        domain = f"{host}.{tld}"
        if domain not in used:
            used.add(domain)
            lang = _TLD_LANG.get(tld, "en")
            return f"{a} {b}", domain, lang


def _person(rng: random.Random, domain: str, style: str, used: set[str], **kw) -> Person:
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"{local_part(name, style, rng)}@{domain}"
        if email not in used:
            used.add(email)
            return Person(name=name, email=email, **kw)


def tz_for(lang: str, rng: random.Random) -> int:
    """A UTC offset (minutes) for a correspondent writing in ``lang``."""
    if lang in ("de", "fr", "es"):
        return 60
    return rng.choice([-300, -300, -360, -420, -480, 0, 60, -240])


def _external(rng: random.Random, kind: str, used_domains: set[str], used_mail: set[str],
              org_lang: str) -> External:
    if kind == "vendor":
        vkind = rng.choice(list(_VENDOR_KINDS))
        label, services = _VENDOR_KINDS[vkind]
        company, domain, lang = _company(rng, used_domains)
        if rng.random() < 0.4:
            company = f"{company.split()[0]} {label}"
        service = rng.choice(services)
    else:
        company, domain, lang = _company(rng, used_domains)
        service = ""
    system = rng.choices(["m365", "google", "hosted"], [0.5, 0.3, 0.2])[0]
    style = rng.choice(["first.last", "first.last", "flast", "firstl", "first"])
    tz = tz_for(lang, rng)
    contacts = []
    for _ in range(rng.randint(1, 3)):
        p = _person(rng, domain, style, used_mail, company=company, lang=lang, tz=tz)
        p.title = rng.choice(["Accounts Receivable", "Account Manager", "Billing", "Owner",
                              "Sales", "Project Lead", "Director", "Operations"])
        p.phone = phone_number(rng, lang)
        contacts.append(p)
    if kind == "customer" and rng.random() < 0.25:
        # small customers write from free mail: a safe sender with a free-mail address
        free = rng.choice(FREEMAIL)
        c = contacts[0]
        c.email = f"{local_part(c.name, rng.choice(['first.last', 'flast', 'first_last']), rng)}{rng.randint(1, 99) if rng.random() < 0.5 else ''}@{free}"
        used_mail.add(c.email)
    ext = External(kind=kind, company=company, domain=domain, system=system, contacts=contacts,
                   lang=lang, service=service, phone=phone_number(rng, lang),
                   ip=random_ip(rng))
    if kind == "vendor":
        prefix = rng.choice(["INV", "IN", "RE", "FAC", "BILL", ""])
        ext.invoice_prefix = prefix + (rng.choice(["-", "", "/"]) if prefix and rng.random() < 0.7 else "")
        ext.bank = _bank(rng, lang)
    return ext


def _bank(rng: random.Random, lang: str) -> dict:
    banks = {"en": ["Chase", "Bank of America", "Wells Fargo", "Citibank", "PNC Bank", "US Bank"],
             "de": ["Deutsche Bank", "Commerzbank", "Sparkasse KölnBonn"],
             "fr": ["BNP Paribas", "Société Générale", "Crédit Agricole"],
             "es": ["Banco Santander", "BBVA", "CaixaBank"]}
    bank = rng.choice(banks.get(lang, banks["en"]))
    if lang == "en":
        return {"bank": bank, "routing": f"{rng.randint(10**8, 10**9 - 1)}",
                "account": f"{rng.randint(10**9, 10**11)}"}
    cc = {"de": "DE", "fr": "FR", "es": "ES"}[lang]
    digits = "".join(str(rng.randint(0, 9)) for _ in range(18))
    return {"bank": bank, "iban": f"{cc}{rng.randint(10, 99)} " + " ".join(
        digits[i:i + 4] for i in range(0, 18, 4))}


def make_org(rng: random.Random, index: int, used_domains: set[str]) -> Org:
    """One organisation with its people and outside world."""
    used_mail: set[str] = set()
    name, domain, _ = _company(rng, used_domains)
    lang = "en"
    tz = rng.choice([-300, -360, -480, 0, 60])
    style = rng.choice(["first.last", "first.last", "flast", "firstl"])
    slug = domain.split(".")[0].replace("-", "")
    size = rng.randint(45, 110)
    employees: list[Person] = []
    for title in DEPARTMENTS["Executive"][: rng.randint(4, 6)]:
        p = _person(rng, domain, style, used_mail, title=title, department="Executive",
                    company=name, tz=tz, is_vip=True, rate=rng.uniform(0.8, 2.0))
        p.is_finance = title == "Chief Financial Officer"
        employees.append(p)
    depts = list(DEPT_WEIGHTS)
    weights = [DEPT_WEIGHTS[d] for d in depts]
    while len(employees) < size:
        dept = rng.choices(depts, weights)[0]
        title = rng.choice(DEPARTMENTS[dept])
        p = _person(rng, domain, style, used_mail, title=title, department=dept, company=name,
                    tz=tz, rate=rng.lognormvariate(0.0, 0.55))
        p.is_finance = dept == "Finance" and title != "Financial Analyst"
        employees.append(p)
    if not any(p.is_finance and not p.is_vip for p in employees):
        employees[-1].department, employees[-1].title = "Finance", "Accounts Payable Specialist"
        employees[-1].is_finance = True
    for p in employees:
        p.phone = phone_number(rng)
    extra = [f"{slug}.{rng.choice(['net', 'io', 'co'])}"] if rng.random() < 0.5 else []
    org = Org(
        tenant=f"t{index:02d}-{slug}", name=name, domain=domain, extra_domains=extra, tz=tz,
        lang=lang, system=rng.choice(["m365", "m365", "google"]),
        mx=f"mx{rng.randint(1, 2)}.{domain}", employees=employees,
        vendors=[_external(rng, "vendor", used_domains, used_mail, lang)
                 for _ in range(rng.randint(14, 24))],
        customers=[_external(rng, "customer", used_domains, used_mail, lang)
                   for _ in range(rng.randint(18, 34))],
        partners=[_external(rng, "partner", used_domains, used_mail, lang)
                  for _ in range(rng.randint(4, 9))],
        newsletters=_newsletters(rng, used_domains, rng.randint(8, 14)),
        saas=_saas(rng, slug, name),
        lists=_lists(rng, used_domains),
        slug=slug, ip_prefix=f"{rng.choice([40, 52, 104, 198, 203])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
        dmarc_policy=rng.choice(["reject", "quarantine", "none"]),
    )
    org.contacts = _habits(rng, org)
    return org


def _newsletters(rng: random.Random, used: set[str], n: int) -> list[Sender]:
    out = []
    for _ in range(n):
        brand = f"{rng.choice(_NEWS_A)} {rng.choice(_NEWS_B)}"
        _, domain, _ = _company(rng, used, suffix=rng.choice(["Media", "News", "Insights",
                                                                "Publishing", "Daily"]))
        local = rng.choice(["newsletter", "news", "editors", "hello", "digest", "updates"])
        out.append(Sender(kind="newsletter", brand=brand, address=f"{local}@{domain}",
                          display=brand, link_hosts=[f"www.{domain}", f"click.{domain}",
                                                     f"email.{domain}"],
                          esp=rng.choice(_ESPS)))
    return out


def make_graymail_senders(rng: random.Random, used: set[str], n: int) -> list[Sender]:
    """Marketing senders nobody subscribed to: authenticated bulk mail, labeled graymail."""
    out = []
    for _ in range(n):
        company, domain, _ = _company(rng, used)
        local = rng.choice(["marketing", "offers", "events", "team", "info", "hello", "promo"])
        out.append(Sender(kind="graymail", brand=company, address=f"{local}@{domain}",
                          display=rng.choice([company, f"The {company} Team",
                                              f"{rng.choice(FIRST_NAMES)} at {company}"]),
                          link_hosts=[f"www.{domain}", f"go.{domain}", f"info.{domain}"],
                          esp=rng.choice(_ESPS)))
    return out


def _saas(rng: random.Random, slug: str, org_name: str) -> list[Sender]:
    chosen = rng.sample(SAAS, rng.randint(9, 14))
    out = []
    for brand, addr, display, hosts in chosen:
        out.append(Sender(kind="saas", brand=brand, address=addr.format(org=slug),
                          display=display.replace("{Org}", org_name.split()[0]),
                          link_hosts=[h.format(org=slug) for h in hosts]))
    return out


def _lists(rng: random.Random, used: set[str]) -> list[Sender]:
    out = []
    for topic in rng.sample(["devops", "finance-ops", "procurement", "security", "logistics",
                             "hr-network", "data-eng", "sales-leaders"], rng.randint(2, 4)):
        _, domain, _ = _company(rng, used, suffix=rng.choice(["Association", "Forum",
                                                              "Network", "Society"]))
        lst = f"{topic}@lists.{domain}"
        out.append(Sender(kind="list", brand=topic, address=lst, display=topic,
                          link_hosts=[f"lists.{domain}", f"www.{domain}"],
                          list_id=f"{topic}.lists.{domain}"))
    return out


def _habits(rng: random.Random, org: Org) -> dict[str, list[tuple[Person, float]]]:
    """Who writes to whom: same department and executives mostly, a few others."""
    by_dept: dict[str, list[Person]] = {}
    for p in org.employees:
        by_dept.setdefault(p.department, []).append(p)
    out = {}
    for p in org.employees:
        peers = [q for q in by_dept[p.department] if q is not p]
        others = [q for q in org.employees if q.department != p.department]
        picks = rng.sample(peers, min(len(peers), rng.randint(3, 8)))
        picks += rng.sample(others, min(len(others), rng.randint(2, 6)))
        if p.department == "Finance" or p.is_finance:
            picks += [q for q in org.vips if q not in picks and q is not p][:2]
        weights = [rng.paretovariate(1.3) for _ in picks]
        out[p.email] = list(zip(picks, weights, strict=True))
    return out


def make_world(seed: int, orgs: int) -> list[Org]:
    rng = random.Random(f"world:{seed}")
    used: set[str] = set()
    return [make_org(rng, i, used) for i in range(orgs)]
