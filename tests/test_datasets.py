"""Tests for pyscore.datasets: catalogue, de-duplication, campaigns, time splits, Enron injection."""

from __future__ import annotations

import io
import itertools
import math
import random
import re
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pyscore.datasets import build_dataset, dedup, injection, iter_raw, load_index, load_manifest
from pyscore.datasets.catalogue import BY_ARCHIVE, CATEGORIES, LABELS
from pyscore.datasets.enron_graph import build_graph, looks_like_person
from pyscore.datasets.splits import split_by_time

DAY = 86400

# --- a tiny hand-written corpora folder -----------------------------------------------------

OWNERS = {
    "doe-j": ("john.doe@enron.com", "Doe, John"),
    "roe-m": ("mary.roe@enron.com", "Roe, Mary"),
    "poe-k": ("kim.poe@enron.com", "Poe, Kim"),
}
VIP = ("kenneth.lay@enron.com", "Lay, Kenneth")
PARTNER = ("vmartinez@winstead.com", "Martinez, Vidal")
VENDOR = ("sara.quinn@pipeco.com", "Quinn, Sara")
TOPICS = [
    "pipeline capacity for the west desk",
    "the quarterly budget review",
    "gas storage contracts",
    "the Houston office move",
    "trading limits for December",
    "the legal review of the swap",
    "power prices in California",
    "our meeting with the lenders",
]


def _date(ts: float) -> str:
    import email.utils

    return email.utils.formatdate(ts, localtime=False)


def _enron(n: int, ts: float, sender, owner: str, subject: str, body: str) -> bytes:
    to, to_name = OWNERS[owner]
    return (
        f"Message-ID: <{1000000 + n}.1075840000{n:03d}.JavaMail.evans@thyme>\n"
        f"Date: {_date(ts)}\nFrom: {sender[0]}\nTo: {to}\nSubject: {subject}\n"
        "Mime-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
        f"X-From: {sender[1]} <{sender[0]}>\nX-To: {to_name}\nX-cc: \nX-bcc: \n"
        f"X-Folder: \\{owner}\\Inbox\nX-Origin: {owner.upper()}\nX-FileName: {owner}.pst\n\n{body}\n"
    ).encode()


def _plain(
    n: int, ts: float, sender: str, subject: str, body: str, mid: str | None = None
) -> bytes:
    mid = mid or f"<p{n}@{sender.split('@')[1]}>"
    return (
        f"From: {sender}\nTo: user@example.org\nSubject: {subject}\nDate: {_date(ts)}\n"
        f"Message-ID: {mid}\n\n{body}\n"
    ).encode()


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _enron_members() -> dict[str, bytes]:
    rng = random.Random(7)
    base = 978307200.0  # 2001-01-01
    members, n = {}, 0
    for owner in OWNERS:
        for k in range(12):
            n += 1
            sender, topic = rng.choice([VIP, PARTNER, VENDOR]), rng.choice(TOPICS)
            if owner != "doe-j" and sender != VIP:
                sender = VIP
            body = (
                f"Hi, following up on {topic}. Item {n} needs an answer by {rng.choice(['Monday', 'Friday'])}."
                f" {' '.join(rng.sample(TOPICS, 3))} and more detail number {n * 7}."
            )
            ts = base + (k * 25 + rng.random()) * DAY
            members[f"enron/maildir/{owner}/inbox/{k + 1}"] = _enron(
                n, ts, sender, owner, f"About {topic}", body
            )
    # The same memo copied into two inboxes: different Message-IDs, same body.
    memo = "All employees: the parking garage closes on Friday for repairs to the entrance ramp and lights."
    members["enron/maildir/doe-j/inbox/99"] = _enron(
        900, base + 200 * DAY, VIP, "doe-j", "Garage", memo
    )
    members["enron/maildir/roe-m/inbox/99"] = _enron(
        901, base + 200 * DAY, VIP, "roe-m", "Garage", memo
    )
    return members


def _phish_members() -> dict[str, bytes]:
    base = 1577836800.0  # 2020
    members = {}
    for i in range(30):
        campaign = i % 3
        body = [
            f"Dear customer, your account {i * 13} was locked. Verify at http://x{i}.example/login now or lose access forever today.",
            f"Your parcel {i * 7} could not be delivered. Pay the customs fee of {i} dollars at http://p{i}.example to release it.",
            f"We noticed a sign in from a new device on account {i}. If it was not you, reset your password at http://r{i}.example immediately.",
        ][campaign]
        ts = base + (i * 30 + campaign) * DAY
        members[f"phishing_pot/sample-{i}.eml"] = _plain(
            i, ts, f"alert{i}@bad{i}.example", f"Notice {campaign}", body
        )
    return members


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpora")
    _tar(root / "enron.tar.xz", _enron_members())
    _tar(root / "phishing_pot.tar.xz", _phish_members())
    ham_base, spam_base = 1009843200.0, 1012521600.0
    sa = {
        f"spamassassin/easy-ham-1/{i:05d}": _plain(
            i,
            ham_base + i * 5 * DAY,
            f"dev{i}@list{i % 4}.org",
            f"Build {i} status",
            f"The nightly build {i} of module {i % 5} finished with {i % 3} warnings in the parser tests and the docs.",
        )
        for i in range(20)
    }
    sa.update(
        {
            f"spamassassin/spam-1/{i:05d}": _plain(
                100 + i,
                spam_base + i * 4 * DAY,
                f"deals{i}@cheap{i}.biz",
                f"Offer {i}",
                f"Buy cheap watches and pills number {i} today, best prices, click now and save big on every order.",
            )
            for i in range(15)
        }
    )
    sa["spamassassin/LICENSE"] = b"This corpus is licensed as follows.\n"
    _tar(root / "spamassassin.tar.xz", sa)
    # Two mbox files sharing Message-IDs, as Nazario's do.
    shared = [
        _plain(
            i,
            1104537600.0 + i * 9 * DAY,
            "service@bank.example",
            "Verify",
            f"Confirm your online banking details for account {i} at http://b{i}.example/verify within 24 hours please.",
            mid=f"<shared{i}@bank.example>",
        )
        for i in range(10)
    ]

    def mbox(msgs):
        return b"".join(b"From someone  Sat Jan  1 10:00:00 2005\n" + m + b"\n" for m in msgs)

    _tar(
        root / "nazario.tar.xz",
        {"nazario/a.mbox": mbox(shared[:7]), "nazario/b.mbox": mbox(shared[3:])},
    )
    return root


@pytest.fixture(scope="module")
def dataset(corpora, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "dataset"
    build_dataset(corpora, out, seed=3, attacks=40)
    return out


@pytest.fixture(scope="module")
def index(dataset):
    return load_index(dataset).to_pandas()


# --- the built dataset ----------------------------------------------------------------------


def test_index_contract(index):
    for col in (
        "message_id",
        "source",
        "ref",
        "label",
        "category",
        "technique",
        "tenant",
        "timestamp",
        "split",
        "campaign",
    ):
        assert col in index.columns
    assert index.message_id.is_unique
    assert set(index.label) <= set(LABELS)
    assert set(index.category) <= set(CATEGORIES)
    assert set(index.split) == {"train", "test"}
    assert index.timestamp.dtype == np.float64


def test_labels_by_source_and_folder(index):
    sa = index[index.source == "spamassassin"]
    assert set(sa[sa.ref.str.contains("/spam-1/")].label) == {"spam"}
    assert set(sa[sa.ref.str.contains("/easy-ham-1/")].label) == {"safe"}
    assert set(index[index.source == "enron"].label) == {"safe"}
    assert set(index[index.source == "enron"].tenant) == {"enron"}
    assert set(index[index.source == "phishing_pot"].label) == {"malicious"}


def test_corpus_problems_recorded(dataset, index):
    problems = load_manifest(dataset)["problems"]
    assert {
        "ref": "spamassassin.tar.xz::spamassassin/LICENSE",
        "kind": "not_a_message",
        "detail": problems[0]["detail"],
    } in problems
    assert not index.ref.str.endswith("LICENSE").any()


def test_duplicates_flagged(index):
    naz = index[index.source == "nazario"]
    assert naz.dup_message_id.sum() == 4  # messages 3..6 appear in both mbox files
    memo = index[index.subject == "Garage"]
    assert memo.dup_body.tolist() == [False, True] or memo.dup_body.tolist() == [True, False]


def test_no_copy_on_both_sides(index):
    for key in ("header_message_id", "body_hash", "campaign"):
        sides = index[index[key] != ""].groupby(key).split.nunique()
        assert (sides == 1).all(), f"{key} on both sides: {list(sides[sides > 1].index)[:3]}"


def test_time_split_respects_time(dataset, index):
    cutoffs = load_manifest(dataset)["split"]["cutoffs"]
    for source, rows in index.groupby(index.source.replace({"enron_injected": "enron"})):
        test = rows[rows.split == "test"].timestamp.dropna()
        assert (test >= cutoffs[source]).all()
        # A train message after the cutoff belongs to a campaign that began before it.
        late = rows[(rows.split == "train") & (rows.timestamp >= cutoffs[source])]
        for campaign in late.campaign:
            start = index[index.campaign == campaign].timestamp.min()
            assert start < cutoffs[source]


def test_phishing_campaigns_grouped(index):
    pp = index[index.source == "phishing_pot"]
    # Three templates with changing numbers and links: three campaigns, each on one side.
    assert pp.campaign.nunique() == 3


def test_injected_attacks_follow_history(index):
    inj = index[index.source == "enron_injected"]
    assert len(inj) == 40
    assert set(inj.label) == {"malicious"} and set(inj.tenant) == {"enron"}
    assert set(inj.technique) == set(injection.TECHNIQUES)
    assert (inj.timestamp > inj.exploits_timestamp).all()
    real = index.set_index("message_id")
    for _, row in inj.iterrows():
        assert real.loc[row.exploits, "source"] == "enron"
        assert real.loc[row.exploits, "timestamp"] == row.exploits_timestamp


def test_injected_messages_use_real_people(dataset, index):
    from pyscore.mime import parse

    owners = {addr for addr, _ in OWNERS.values()}
    inj = {
        r["message_id"]: (r, raw) for r, raw in iter_raw(dataset) if r["source"] == "enron_injected"
    }
    for row, raw in inj.values():
        msg = parse(raw)
        assert [m.email.email for m in msg.recipients.to] == [
            a for a in owners if a in raw.decode()
        ][:1]
        name = msg.sender.display_name
        t = row["technique"]
        if t in ("vip_freemail", "gift_card"):
            assert name == "Lay, Kenneth"
            assert msg.sender.email.domain.domain in injection.FREE_MAIL
        if t.startswith("vendor_lookalike_"):
            fake = msg.sender.email.domain.domain
            assert fake not in ("winstead.com", "pipeco.com")
            real = {"winstead", "pipeco"}
            label, suffix = fake.split(".", 1)
            if t == "vendor_lookalike_other_tld":
                assert label in real and suffix != "com"
            elif t == "vendor_lookalike_dropped_letter":
                assert suffix == "com" and len(label) in (7, 5)  # winstead, pipeco less one letter
            else:
                assert suffix == "com" and label not in real
            assert name in ("Martinez, Vidal", "Quinn, Sara")
        if t == "vendor_compromised":
            assert msg.sender.email.email in (PARTNER[0], VENDOR[0])
        if t == "reply_to_swap":
            assert (
                msg.headers.reply_to
                and msg.headers.reply_to[0].email.email != msg.sender.email.email
            )
        if t == "thread_hijack":
            original = index.set_index("message_id").loc[row["exploits"]]
            assert msg.headers.in_reply_to == original.header_message_id
            assert msg.subject.subject.lower().startswith("re:")
            assert original.subject in msg.subject.subject


def test_iter_raw_streams_every_row(dataset, index):
    from pyscore.mime import parse

    got = {}
    for row, raw in iter_raw(dataset, split="test"):
        got[row["message_id"]] = raw
        if row["header_message_id"]:
            assert parse(raw).headers.message_id == row["header_message_id"]
    assert set(got) == set(index[index.split == "test"].message_id)


def test_build_is_deterministic(corpora, index, tmp_path):
    again = tmp_path / "again"
    build_dataset(corpora, again, seed=3, attacks=40)
    assert load_index(again).to_pandas().equals(index)
    other = tmp_path / "other"
    build_dataset(corpora, other, seed=4, attacks=40)
    assert not load_index(other).to_pandas().equals(index)


def test_rebuild_replaces_and_refuses_foreign_dir(corpora, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a pyscore dataset"):
        build_dataset(corpora, out, attacks=0)
    assert (out / "precious.txt").exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_missing_corpora(tmp_path):
    with pytest.raises(FileNotFoundError, match="no catalogued archive"):
        build_dataset(tmp_path, tmp_path / "x")


# --- pieces ---------------------------------------------------------------------------------


def test_catalogue_classify():
    sa = BY_ARCHIVE["spamassassin.tar.xz"]
    assert sa.classify("spamassassin/hard-ham-1/0001") == ("safe", "graymail", "hard-ham-1")
    assert sa.classify("spamassassin/spam-2/0001")[0] == "spam"
    assert BY_ARCHIVE["enron.tar.xz"].classify("enron/maildir/lay-k/inbox/1") == (
        "safe",
        "safe",
        "maildir/lay-k/inbox",
    )


def test_normalised_body_hash_ignores_numbers_links_addresses():
    a = dedup.normalise_text(
        "Pay invoice 1234 at http://a.example/x now, mail bob@a.example. Thanks for your business today."
    )
    b = dedup.normalise_text(
        "PAY invoice 98 at https://b.example/y now; mail eve@b.example! Thanks for your business today"
    )
    assert a == b
    assert dedup.body_hash(a) == dedup.body_hash(b)
    # Short bodies only match with the same subject.
    assert dedup.body_hash("see link", subject="Invoice") != dedup.body_hash(
        "see link", subject="Lunch"
    )
    assert dedup.body_hash("", ()) == ""


def _jaccard(x: str, y: str) -> float:
    def sh(t):
        w = t.split()
        return {" ".join(w[i : i + dedup.SHINGLE]) for i in range(len(w) - dedup.SHINGLE + 1)}

    a, b = sh(x), sh(y)
    return len(a & b) / len(a | b)


def test_minhash_estimates_jaccard():
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(300)]
    base = [rng.choice(vocab) for _ in range(200)]
    for keep in (1.0, 0.9, 0.6, 0.2, 0.0):
        other = [w if rng.random() < keep else rng.choice(vocab) for w in base]
        x, y = " ".join(base), " ".join(other)
        est = float(np.mean(dedup.minhash(x) == dedup.minhash(y)))
        assert abs(est - _jaccard(x, y)) < 0.2


def test_group_campaigns_matches_brute_force():
    rng = random.Random(2)
    templates = [
        [rng.choice("abcdefghijklmnop") + str(rng.randrange(50)) for _ in range(60)]
        for _ in range(4)
    ]
    docs = []
    for i in range(24):
        words = list(templates[i % 4])
        words[rng.randrange(60)] = f"x{rng.randrange(10**6)}"
        docs.append(" ".join(words))
    sigs = [dedup.minhash(d) for d in docs]
    roots = dedup.group_campaigns([""] * 24, [""] * 24, sigs, [""] * 24)
    # Oracle: connected components of exact Jaccard >= 0.5.
    uf = dedup.UnionFind(24)
    for i, j in itertools.combinations(range(24), 2):
        if _jaccard(docs[i], docs[j]) >= 0.5:
            uf.union(i, j)
    assert roots == uf.roots()
    assert len(set(roots)) == 4


def test_split_by_time_invariants():
    sources = ["a"] * 10 + ["b"] * 10
    ts = np.array([float(i) for i in range(10)] + [1000.0 + i for i in range(10)])
    campaigns = list(range(20))
    campaigns[6] = 2  # message 6 joins a campaign that began at t=2: it trains
    side, plan = split_by_time(sources, ts, campaigns, test_fraction=0.3)
    assert plan.cutoffs["a"] == pytest.approx(6.3)
    assert side[:10] == ["train"] * 7 + ["test"] * 3
    assert side[10:] == ["train"] * 7 + ["test"] * 3
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_time(sources, ts, campaigns, test_fraction=1.5)


def test_split_undated_campaigns_by_seeded_hash():
    ts = np.full(200, math.nan)
    side, _ = split_by_time(["a"] * 200, ts, list(range(200)), test_fraction=0.3, seed=5)
    again, _ = split_by_time(["a"] * 200, ts, list(range(200)), test_fraction=0.3, seed=5)
    assert side == again
    assert 30 < side.count("test") < 90


@pytest.mark.parametrize(
    "domain", ["winstead.com", "pipeco.com", "enron.com", "offer.omahasteaks.com", "x.co.uk"]
)
@pytest.mark.parametrize("kind", injection.LOOKALIKE_KINDS)
def test_lookalike_domains_are_close_but_different(domain, kind):
    from pyscore.domains import make_domain

    rng = random.Random(0)
    root = make_domain(domain).root_domain
    real_label, real_suffix = root.split(".", 1)
    seen = set()
    for _ in range(30):
        fake, got = injection.lookalike_domain(domain, rng, {root}, kind=kind)
        assert fake != root and fake.isascii()
        # A one-letter label has no homoglyph or letter to drop: the lookalike adds one instead.
        assert got == (kind if len(real_label) > 4 else got)
        kind_seen = got
        label, suffix = fake.split(".", 1)
        if kind_seen == "other_tld":
            assert label == real_label and suffix != real_suffix
        else:
            assert suffix == real_suffix and label != real_label
            assert abs(len(label) - len(real_label)) <= (9 if kind_seen == "added_letter" else 1)
        seen.add(fake)
    assert len(seen) >= 3


def test_looks_like_person():
    assert looks_like_person("Martinez, Vidal", "vmartinez@winstead.com")
    assert not looks_like_person("Omaha Steaks", "great_deals@offer.example")
    assert not looks_like_person("The New York Times Direct", "nytdirect@nytimes.com")
    assert not looks_like_person("", "jdoe@x.com")


def _graph_records(n_owners=12, n_people=30):
    rng = random.Random(4)
    recs, i = [], 0
    for o in range(n_owners):
        owner_addr = f"owner{o}.smith@enron.com"
        for p in range(n_people):
            internal = p % 2 == 0
            last = "".join(
                ["Bar", "Kel", "Mon", "Tas", "Vir", "Lo", "Dun", "Eps"][(p * 7 + j) % 8]
                for j in range(1 + p % 3)
            ) + chr(97 + p % 26)
            addr = f"{last.lower()}@{'enron.com' if internal else f'vendor{p}.com'}"
            for k in range(2):
                recs.append(
                    {
                        "index": i,
                        "member": f"enron/maildir/owner-{o}/inbox/{i}",
                        "sender": addr,
                        "sender_name": f"{last}, Alex",
                        "recipients": (owner_addr,),
                        "message_id": f"<{i}@x>",
                        "timestamp": 978307200.0 + rng.random() * 300 * DAY,
                        "subject": f"Topic {p} {k}",
                        "excerpt": f"Notes about topic {p}.",
                        "date_raw": "Mon, 1 Jan 2001 10:00:00 -0800",
                        "folder_headers": (("X-Origin", f"OWNER-{o}"),),
                        "bulk": False,
                    }
                )
                i += 1
    return recs


def test_wording_varies_widely():
    graph = build_graph(_graph_records())
    attacks = injection.inject(graph, 400, seed=9)
    assert len(attacks) == 400
    bodies = [a.raw.split(b"\n\n", 1)[1].decode() for a in attacks]
    assert len(set(bodies)) == len(bodies)
    lines = Counter(line for b in bodies for line in set(b.splitlines()) if len(line) > 40)
    most = lines.most_common(1)[0][1]
    assert most < 0.05 * len(bodies), lines.most_common(3)
    subjects = Counter(
        re.sub(r"\d+", "0", a.raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].decode())
        for a in attacks
    )
    assert len(subjects) > 60


def test_injection_deterministic_and_after_history():
    graph = build_graph(_graph_records())
    a = injection.inject(graph, 50, seed=1)
    b = injection.inject(graph, 50, seed=1)
    assert [x.raw for x in a] == [x.raw for x in b]
    assert [x.raw for x in a] != [x.raw for x in injection.inject(graph, 50, seed=2)]
    assert all(x.timestamp > x.exploits.timestamp for x in a)


def test_refine_category_reads_content_only():
    from pyscore.datasets.catalogue import refine_category
    from pyscore.message import Attachment, Body, Link, Message

    exe = Message(
        attachments=(Attachment(file_name="a.exe", file_extension="exe", file_type="exe"),)
    )
    zipped = Message(attachments=(Attachment(file_type="zip", archive_members=("x/setup.scr",)),))
    docs = Message(attachments=(Attachment(file_type="zip", archive_members=("report.pdf",)),))
    callback = Message(
        body=Body(
            text="Your subscription renewal of $399 was charged. To cancel, call our support "
            "team at (855) 555-0199 within 24 hours."
        )
    )
    callback_links = Message(body=callback.body, links=(Link(), Link(), Link()))
    extortion = Message(body=Body(text="I recorded you. Send 0.1 BTC to my bitcoin wallet."))
    assert refine_category("credential_phishing", exe) == ("malware", "content")
    assert refine_category("credential_phishing", zipped) == ("malware", "content")
    assert refine_category("credential_phishing", docs) == ("credential_phishing", "source")
    assert refine_category("credential_phishing", callback) == ("callback_scam", "content")
    assert refine_category("credential_phishing", callback_links) == (
        "credential_phishing",
        "source",
    )
    assert refine_category("credential_phishing", extortion) == ("callback_scam", "content")


@pytest.mark.corpora
def test_real_corpora_subset_builds(corpora_dir, tmp_path):
    out = tmp_path / "real"
    result = build_dataset(corpora_dir, out, seed=0, attacks=70, limit_per_source=300)
    index = load_index(out).to_pandas()
    assert result.rows == len(index) and index.message_id.is_unique
    assert set(index.source) == {
        "enron",
        "enron_injected",
        "linux_mips",
        "spamassassin",
        "phishing_pot",
        "nazario",
    }
    for key in ("header_message_id", "body_hash", "campaign"):
        assert (index[index[key] != ""].groupby(key).split.nunique() == 1).all()
    inj = index[index.source == "enron_injected"]
    # The first 300 Enron files are one or two inboxes: techniques without history there are skipped.
    assert 0 < len(inj) <= 70 and (inj.timestamp > inj.exploits_timestamp).all()
    assert set(inj.technique) <= set(injection.TECHNIQUES)
    cutoffs = load_manifest(out)["split"]["cutoffs"]
    for source, rows in index.groupby(index.source.replace({"enron_injected": "enron"})):
        assert (rows[rows.split == "test"].timestamp.dropna() >= cutoffs[source]).all()


def test_parse_failure_is_reported_not_dropped_silently(corpora, tmp_path, monkeypatch):
    import pyscore.mime

    real = pyscore.mime.parse

    def flaky(raw, **kw):
        if b"Subject: Offer 3\n" in raw:
            raise RuntimeError("parser bug")
        return real(raw, **kw)

    monkeypatch.setattr(pyscore.mime, "parse", flaky)
    out = tmp_path / "ds"
    build_dataset(corpora, out, attacks=0)
    problems = [p for p in load_manifest(out)["problems"] if p["kind"] == "parse_failure"]
    assert [p["ref"] for p in problems] == ["spamassassin.tar.xz::spamassassin/spam-1/00003"]
    assert "parser bug" in problems[0]["detail"]
    assert not (load_index(out).to_pandas().ref == problems[0]["ref"]).any()


def test_split_campaign_across_sources_respects_each_cutoff():
    # Campaign 0 starts late in source a (test there) but early in source b: it must train.
    sources = ["a"] * 10 + ["b"] * 10
    ts = np.array([float(i) for i in range(10)] + [100.0 + i for i in range(10)])
    campaigns = list(range(20))
    campaigns[9] = campaigns[10] = 9  # a's last message and b's first message
    side, plan = split_by_time(sources, ts, campaigns, test_fraction=0.3)
    assert side[9] == side[10] == "train"
    for i in range(20):
        if side[i] == "test":
            assert ts[i] >= plan.cutoffs[sources[i]]
