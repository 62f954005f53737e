"""Tests for pyscore.synth: determinism, parseable output, every technique, labels that
match content, valid thread structure, and the attack API used on other graphs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import random
import re
import struct
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pyscore.datasets import index_schema
from pyscore.synth import (
    TECHNIQUES,
    AttackContext,
    External,
    Person,
    ThreadRef,
    build_attack,
    documents,
    generate,
    lookalike,
    render,
    render_attack,
)
from pyscore.synth.attacks import address_domain, split_domain
from pyscore.synth.generate import split_cutoff

try:  # the project's parser, once it exists; the stdlib otherwise
    from pyscore.mime import parse as _project_parse
except ImportError:  # pragma: no cover - depends on the order features land
    _project_parse = None

SMALL = {"orgs": 1, "weeks": 2, "attack_rate": 0.1, "seed": 3, "messages": 350}
FREEMAIL_DOMAINS = {"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "aol.com",
                    "proton.me", "gmx.de", "web.de", "mail.com", "yandex.com", "zoho.com", "orange.fr",
                    "libero.it"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "a"
    generate(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def labels(dataset):
    return pq.read_table(dataset / "labels.parquet").to_pylist()


@pytest.fixture(scope="module")
def parsed(dataset, labels):
    return {r["message_id"]: email.message_from_bytes((dataset / r["path"]).read_bytes(),
                                                      policy=email.policy.default) for r in labels}


@pytest.fixture(scope="module")
def orgs(dataset):
    return json.loads((dataset / "orgs.json").read_text())["tenants"]


def _addr(msg, header: str) -> str:
    value = msg[header]
    return value.addresses[0].addr_spec.lower() if value is not None and value.addresses else ""


def _name(msg, header: str) -> str:
    value = msg[header]
    return value.addresses[0].display_name if value is not None and value.addresses else ""


def _domain(addr: str) -> str:
    dom = addr.rsplit("@", 1)[-1]
    return dom.encode("ascii").decode("idna") if "xn--" in dom else dom


def _text(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def _attachments(msg) -> list[tuple[str, bytes]]:
    return [(p.get_filename() or "", p.get_content()) for p in msg.iter_attachments()]


# --- determinism and output contract ---------------------------------------------------------
def test_same_seed_gives_same_bytes(dataset, tmp_path):
    again = tmp_path / "b"
    generate(again, **SMALL)
    files_a = sorted(p.relative_to(dataset) for p in dataset.rglob("*.eml"))
    files_b = sorted(p.relative_to(again) for p in again.rglob("*.eml"))
    assert files_a == files_b
    for rel in files_a:
        assert (dataset / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert pq.read_table(dataset / "labels.parquet").equals(pq.read_table(again / "labels.parquet"))
    assert (dataset / "orgs.json").read_text() == (again / "orgs.json").read_text()


def test_other_seed_differs(dataset, tmp_path):
    other = tmp_path / "c"
    generate(other, **{**SMALL, "seed": 4, "messages": 60})
    a = {r["message_id"] for r in pq.read_table(dataset / "labels.parquet").to_pylist()}
    b = {r["message_id"] for r in pq.read_table(other / "labels.parquet").to_pylist()}
    assert not a & b


def test_tables_and_counts(dataset, labels):
    assert len(labels) == SMALL["messages"]
    assert len({r["message_id"] for r in labels}) == len(labels)
    assert {r["label"] for r in labels} <= {"safe", "spam", "malicious"}
    assert {r["category"] for r in labels} <= {"safe", "spam", "graymail", "credential_phishing", "bec",
                                               "malware", "callback_scam"}
    assert {r["direction"] for r in labels} == {"inbound", "outbound", "internal"}
    attacks = [r for r in labels if r["label"] != "safe"]
    assert len(attacks) == round(SMALL["messages"] * SMALL["attack_rate"])
    for r in labels:
        assert (dataset / r["path"]).is_file()
        assert (r["technique"] == "") == (r["label"] == "safe")
        if r["technique"]:
            assert TECHNIQUES[r["technique"]][:2] == (r["category"], r["label"])
    index = pq.read_table(dataset / "index.parquet")
    assert index.schema.equals(index_schema())
    assert set(index.column("source").to_pylist()) == {"synth"}
    assert index.column("message_id").to_pylist() == [r["message_id"] for r in labels]
    assert index.column("ref").to_pylist() == [r["path"] for r in labels]


def test_dataset_contract_reads_back(dataset, labels):
    """pyscore.datasets reads synth output like a corpus dataset: same index, same bytes."""
    from pyscore.datasets import iter_raw, load_index, load_manifest

    assert load_manifest(dataset)["counts"]["label"]["safe"] == sum(r["label"] == "safe" for r in labels)
    assert load_index(dataset, "test").num_rows == sum(r["split"] == "test" for r in labels)
    by_id = {r["message_id"]: r for r in labels}
    n = 0
    for row, raw in iter_raw(dataset):
        assert raw == (dataset / by_id[row["message_id"]]["path"]).read_bytes()
        assert row["header_message_id"] == f"<{row['message_id']}>"
        if row["technique"] == "thread_hijack":
            parent = by_id[row["exploits"]]
            assert parent["timestamp"] == row["exploits_timestamp"] < row["timestamp"]
        else:
            assert row["exploits"] == ""
        n += 1
    assert n == len(labels)


def test_split_is_by_time(labels):
    cutoff = split_cutoff(dt.date(2025, 3, 3), SMALL["weeks"])
    for r in labels:
        assert r["split"] == ("test" if r["timestamp"] >= cutoff else "train")
    splits = {r["split"] for r in labels}
    assert splits == {"train", "test"}
    assert {r["split"] for r in labels if r["label"] != "safe"} == {"train", "test"}


def test_orgs_json(orgs, labels):
    (org,) = orgs
    assert org["tenant"] == labels[0]["tenant"]
    assert org["vips"] and org["finance"] and org["vendor_domains"]
    assert all(v["email"].endswith("@" + org["domains"][0]) for v in org["vips"])


# --- parsing ---------------------------------------------------------------------------------------
def test_output_parses_without_defects(dataset, labels, parsed):
    for r in labels:
        raw = (dataset / r["path"]).read_bytes()
        assert b"\n" not in raw.replace(b"\r\n", b""), r["path"]  # CRLF only
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998, r["path"]
        msg = parsed[r["message_id"]]
        for part in msg.walk():
            assert not part.defects, (r["path"], part.defects)
        for header in ("From", "To", "Subject", "Date", "Message-ID"):
            assert msg[header] is not None, (r["path"], header)
        assert msg["Message-ID"].strip("<>") == r["message_id"]
        assert abs(msg["Date"].datetime.timestamp() - r["timestamp"]) < 1
        body = msg.get_body(preferencelist=("plain", "html"))
        assert body is not None and body.get_content().strip(), r["path"]
        if _project_parse is not None:
            parsed_msg = _project_parse(raw)
            assert parsed_msg.headers.message_id.strip("<>") == r["message_id"]


# --- techniques and labels match content -------------------------------------------------------
def test_every_technique_appears(labels):
    assert {r["technique"] for r in labels if r["technique"]} == set(TECHNIQUES)


def _skeleton(domain: str) -> str:
    s = domain.lower()
    for a, b in (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("3", "e"), ("4", "a"),
                 ("5", "s"), ("\u0430", "a"), ("\u0435", "e"), ("\u043e", "o"), ("\u0441", "c"),
                 ("\u0440", "p"), ("\u0445", "x"), ("\u0456", "i"), ("q", "g")):
        s = s.replace(a, b)
    return s.replace("i", "l").replace("m", "n")


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


def test_vendor_lookalikes_are_not_the_vendor(labels, parsed, orgs):
    known = set(orgs[0]["vendor_domains"]) | set(orgs[0]["domains"])
    seen = 0
    for r in labels:
        if not r["technique"].startswith("vendor_lookalike_"):
            continue
        seen += 1
        meta = json.loads(r["meta"])
        sender = _addr(parsed[r["message_id"]], "From")
        dom, vendor = _domain(sender), meta["vendor_domain"]
        assert dom == meta["lookalike_domain"] and dom != vendor and dom not in known
        assert vendor in known
        kind = r["technique"].removeprefix("vendor_lookalike_")
        label, suffix = split_domain(dom)
        v_label, v_suffix = split_domain(vendor)
        if kind == "other_tld":
            assert label == v_label and suffix != v_suffix
        elif kind == "dropped_letter":
            assert suffix == v_suffix and len(label) == len(v_label) - 1 and _is_subsequence(label, v_label)
        elif kind == "added_letter":
            assert suffix == v_suffix and len(label) > len(v_label) and _is_subsequence(v_label, label)
        else:
            assert suffix == v_suffix and _skeleton(label) == _skeleton(v_label)
        # the display name is a real contact of the vendor
        assert meta["impersonated"].endswith("@" + vendor)
    assert seen


def test_vip_impersonation_uses_vip_name_on_free_mail(labels, parsed, orgs):
    vips = {v["name"]: v["email"] for v in orgs[0]["vips"]}
    for r in labels:
        if r["technique"] not in ("vip_freemail", "gift_card"):
            continue
        msg = parsed[r["message_id"]]
        sender = _addr(msg, "From")
        assert _name(msg, "From") in vips
        assert _domain(sender) in FREEMAIL_DOMAINS
        assert sender != vips[_name(msg, "From")]


def test_reply_to_swap_differs_from_sender(labels, parsed, orgs):
    vips = {v["name"] for v in orgs[0]["vips"]}
    for r in labels:
        if r["technique"] != "reply_to_swap":
            continue
        msg = parsed[r["message_id"]]
        assert _name(msg, "From") in vips
        assert _addr(msg, "Reply-To") and _addr(msg, "Reply-To") != _addr(msg, "From")
        assert _domain(_addr(msg, "Reply-To")) in FREEMAIL_DOMAINS


def test_compromised_vendor_passes_authentication(labels, parsed, orgs):
    vendors = set(orgs[0]["vendor_domains"])
    for r in labels:
        if r["technique"] != "vendor_compromised":
            continue
        msg = parsed[r["message_id"]]
        assert _domain(_addr(msg, "From")) in vendors
        auth = str(msg["Authentication-Results"])
        assert "spf=pass" in auth and "dkim=pass" in auth and "dmarc=pass" in auth


def test_hijack_continues_a_real_earlier_thread(labels, parsed):
    by_id = {r["message_id"]: r for r in labels}
    seen = 0
    for r in labels:
        if r["technique"] != "thread_hijack":
            continue
        seen += 1
        msg = parsed[r["message_id"]]
        parent_id = msg["In-Reply-To"].strip("<>")
        parent = by_id[parent_id]
        assert parent["label"] == "safe" and parent["timestamp"] < r["timestamp"]
        refs = str(msg["References"]).split()
        assert refs and all(ref.strip("<>") in by_id for ref in refs)
        meta = json.loads(r["meta"])
        assert meta["hijacked"] == parent_id
        # the attacker poses as the outside party of that thread, by name
        thread_people = {_name(parsed[parent_id], "From"), *[a.display_name for a in parsed[parent_id]["To"].addresses]}
        assert _name(msg, "From") in thread_people
        if meta["lookalike_domain"]:
            assert _domain(_addr(msg, "From")) != meta["impersonated"].rsplit("@", 1)[1]
        assert re.search(r"(wrote:|Sent:|schrieb|a écrit|escribió)", _text(msg))  # quotes the real message
    assert seen


def test_attachment_and_link_techniques(labels, parsed):
    shorteners = ("bit.ly", "tinyurl.com", "t.ly", "rb.gy", "is.gd", "cutt.ly", "ow.ly", "shorturl.at", "tiny.cc")
    for r in labels:
        t, msg = r["technique"], parsed[r["message_id"]]
        atts = _attachments(msg)
        text = _text(msg)
        if t == "html_attachment":
            assert any(n.lower().endswith((".html", ".htm", ".shtml")) for n, _ in atts)
        elif t == "macro_document":
            ((name, data),) = atts
            assert name.rsplit(".", 1)[1] in ("docm", "xlsm", "doc", "xls")
            if name.endswith(("docm", "xlsm")):
                assert any(n.endswith("vbaProject.bin") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
            else:
                assert data.startswith(b"\xd0\xcf\x11\xe0")
        elif t == "iso_image":
            ((name, data),) = atts
            assert name.endswith((".iso", ".img")) and data[0x8001:0x8006] == b"CD001"
        elif t == "archive_executable":
            ((name, data),) = atts
            members = zipfile.ZipFile(io.BytesIO(data)).namelist()
            assert any(m.endswith((".exe", ".scr", ".js", ".bat", ".vbs", ".com")) for m in members)
        elif t == "encrypted_archive":
            ((name, data),) = atts
            zf = zipfile.ZipFile(io.BytesIO(data))
            assert all(i.flag_bits & 1 for i in zf.infolist())
            password = json.loads(r["meta"])["password"]
            assert password in text
            assert zf.read(zf.namelist()[0], pwd=password.encode())[:2] == b"MZ"
        elif t == "cred_url_shortener":
            assert any(f"https://{s}/" in text for s in shorteners)
        elif t == "cred_open_redirect":
            assert re.search(r"(url\?q=|redirect\?|l\.php\?u=|adurl=|/ck/a\?|redirect_uri=|&url=)", text)
        elif t == "callback_invoice":
            assert json.loads(r["meta"])["phone"] in text


def test_attacks_arrive_mostly_in_working_hours():
    """Timed to the victim's working day (whatever clock the attacker's Date shows), on workdays."""
    from pyscore.synth.generate import _context
    from pyscore.synth.people import make_world

    org = make_world(0, 1)[0]
    office = dt.timezone(dt.timedelta(minutes=org.tz))
    days = [dt.date(2025, 3, 3) + dt.timedelta(days=i) for i in range(28)]
    workdays = [d for d in days if d.weekday() < 5]
    end = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
    rng = random.Random(0)
    dates = [_context(org, t, rng, days, workdays, [], end).time
             for t in ("vip_freemail", "gift_card", "reply_to_swap") * 100]
    assert len({d.utcoffset() for d in dates}) > 1  # attackers' clocks differ
    times = [d.astimezone(office) for d in dates]
    assert sum(7 <= t.hour < 19 for t in times) >= 0.8 * len(times)
    assert sum(t.weekday() < 5 for t in times) >= 0.85 * len(times)


def test_no_header_only_attacks_carry(labels, parsed):
    safe, bad = set(), set()
    for r in labels:
        names = {k.lower() for k in parsed[r["message_id"]]}
        (safe if r["label"] == "safe" else bad).update(names)
    assert bad <= safe, bad - safe


# --- threads ---------------------------------------------------------------------------------------
def test_thread_structure(labels, parsed):
    by_id = {r["message_id"]: r for r in labels}
    replies = 0
    for r in labels:
        msg = parsed[r["message_id"]]
        irt = msg["In-Reply-To"]
        if irt is None:
            continue
        replies += 1
        parent = by_id[str(irt).strip("<>")]
        assert parent["timestamp"] < r["timestamp"]
        refs = [x.strip("<>") for x in str(msg["References"] or "").split()]
        assert refs[-1] == parent["message_id"]
        assert all(x in by_id and by_id[x]["timestamp"] < r["timestamp"] for x in refs)
        subject = str(msg["Subject"])
        assert subject.lower().startswith(("re:", "aw:")), subject
    assert replies > 50


# --- the attack API on a foreign graph --------------------------------------------------------------
def _ctx(**kw) -> AttackContext:
    victim = Person(name="Dana Whitfield", email="dana.whitfield@example-energy.com", title="Controller")
    boss = Person(name="Kenneth Lay", email="kenneth.lay@example-energy.com", title="Chairman")
    vendor = External(kind="vendor", company="Gulf Pipe Supply", domain="gulfpipesupply.com", system="hosted",
                      contacts=[Person(name="Ray Ortiz", email="ray.ortiz@gulfpipesupply.com")],
                      invoice_prefix="GP-", bank={"bank": "Chase", "routing": "111000614", "account": "123456789"})
    when = dt.datetime(2001, 5, 14, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    thread = ThreadRef(subject="Pipe order 4411", message_ids=["111.JavaMail.evans@thyme", "222.JavaMail.evans@thyme"],
                       partner=vendor.contacts[0], last_from=victim, last_to=[vendor.contacts[0]],
                       last_text="Ray,\n\nPlease confirm delivery for Friday.\n\nDana", last_date=when - dt.timedelta(days=1),
                       partner_company=vendor.company)
    base = dict(victim=victim, org_domain="example-energy.com", org_name="Example Energy", time=when,
                impersonated=boss, vendor=vendor, thread=thread)
    base.update(kw)
    return AttackContext(**base)


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_render_attack_on_any_graph(technique):
    raw = render_attack(technique, _ctx(), random.Random(11))
    again = render_attack(technique, _ctx(), random.Random(11))
    assert raw == again
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg.defects
    assert _addr(msg, "To") == "dana.whitfield@example-energy.com"
    assert "Received" in msg and "Authentication-Results" in msg
    bare = email.message_from_bytes(render_attack(technique, _ctx(style="bare"), random.Random(11)),
                                    policy=email.policy.default)
    assert "Received" not in bare and "Authentication-Results" not in bare and "DKIM-Signature" not in bare
    assert not any(p.get_content_type() == "text/html" and not p.get_filename() for p in bare.walk())


def test_hijack_on_foreign_thread_and_message_id_override():
    ctx = _ctx(style="bare", message_id=lambda rng: f"{rng.randint(1, 10**7)}.JavaMail.evans@thyme")
    res = build_attack("thread_hijack", ctx, random.Random(5))
    msg = email.message_from_bytes(render(res.mail), policy=email.policy.default)
    assert str(msg["In-Reply-To"]) == "<222.JavaMail.evans@thyme>"
    assert str(msg["References"]).split() == ["<111.JavaMail.evans@thyme>", "<222.JavaMail.evans@thyme>"]
    assert msg["Message-ID"].endswith(".JavaMail.evans@thyme>")
    assert _name(msg, "From") == "Ray Ortiz"
    assert "Please confirm delivery for Friday." in _text(msg)


def test_attack_context_errors():
    with pytest.raises(ValueError, match="unknown attack technique"):
        build_attack("nope", _ctx(), random.Random(0))
    with pytest.raises(ValueError, match="needs ctx.vendor"):
        build_attack("vendor_compromised", _ctx(vendor=None), random.Random(0))
    with pytest.raises(ValueError, match="needs ctx.thread"):
        build_attack("thread_hijack", _ctx(thread=None), random.Random(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_attack("spam", _ctx(time=dt.datetime(2001, 5, 14, 10)), random.Random(0))


# --- lookalikes and documents ------------------------------------------------------------------------
@pytest.mark.parametrize("domain", ["acme.com", "northwind-logistics.co.uk", "globex.de", "ibm.com", "mail.example.org"])
@pytest.mark.parametrize("kind", ["homoglyph", "added_letter", "dropped_letter", "other_tld"])
def test_lookalike_never_equals_original(domain, kind):
    rng = random.Random(0)
    for _ in range(30):
        out = lookalike(domain, kind, rng)
        assert out != domain
        assert address_domain(out).isascii()
        assert address_domain(out).encode("ascii").decode("idna") == out


def test_lookalike_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown lookalike kind"):
        lookalike("acme.com", "swap", random.Random(0))


def test_pdf_xref_offsets_are_exact():
    data = documents.pdf(["Invoice 42", "Total (USD) 10.00"], title="t", producer="p")
    xref_at = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data[xref_at:xref_at + 4] == b"xref"
    entries = data[xref_at:].split(b"\n")[3:9]
    for n, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj" % n)


def test_iso_image_lists_its_files():
    rng = random.Random(1)
    img = documents.iso9660([("INVOICE.EXE", documents.exe_stub(rng)), ("README.TXT", b"hi")])
    assert img[0x8001:0x8006] == b"CD001"
    root = img[0x8000 + 156: 0x8000 + 190]
    extent = struct.unpack("<I", root[2:6])[0]
    names, pos = [], extent * 2048
    while img[pos]:
        length, name_len = img[pos], img[pos + 32]
        names.append(img[pos + 33: pos + 33 + name_len])
        pos += length
    assert names[2:] == [b"INVOICE.EXE;1", b"README.TXT;1"]


def test_encrypted_zip_roundtrip():
    data = documents.encrypted_zip([("a.txt", b"payload")], "s3cret", random.Random(2))
    zf = zipfile.ZipFile(io.BytesIO(data))
    with pytest.raises(RuntimeError, match="password required"):
        zf.read("a.txt")
    assert zf.read("a.txt", pwd=b"s3cret") == b"payload"


# --- bad input ------------------------------------------------------------------------------------
def test_generate_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="attack_rate"):
        generate(tmp_path / "x", attack_rate=1.5)
    with pytest.raises(ValueError, match="weeks"):
        generate(tmp_path / "x", weeks=0)
    with pytest.raises(ValueError, match="orgs"):
        generate(tmp_path / "x", orgs=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        generate(tmp_path / "full", weeks=1, messages=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]  # no partial output left


def test_cli_synth(tmp_path, capsys):
    from pyscore.cli import main

    out = tmp_path / "cli"
    assert main(["synth", "--out", str(out), "--weeks", "1", "--messages", "120", "--orgs", "2",
                 "--start", "2024-01-08", "--seed", "9"]) == 0
    assert "wrote 120 messages for 2 tenant(s)" in capsys.readouterr().out
    table = pq.read_table(out / "index.parquet").to_pylist()
    assert len(table) == 120 and len({r["tenant"] for r in table}) == 2
    assert min(r["timestamp"] for r in table) >= dt.datetime(2024, 1, 7, tzinfo=dt.UTC).timestamp()
    assert main(["synth", "--out", str(out), "--weeks", "1"]) == 2  # not empty: clear error
    assert "not empty" in capsys.readouterr().err
