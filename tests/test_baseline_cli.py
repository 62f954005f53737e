"""`pyscore baseline build / show / stats / lookup` on hand-made events and messages."""

from __future__ import annotations

import pyarrow.parquet as pq
from baseline_fixtures import DAY, event, table

from pyscore.cli import main

ROWS = [event("acme", 1_600_000_000 + i * DAY, "boss@acme.com", ["ann@acme.com"], name="Bob Boss") for i in range(6)]
ROWS += [event("acme", 1_600_000_000 + 3 * DAY + 60, "ann@acme.com", ["boss@acme.com", "vendor@supply.test"])]

BEC = b"""From: "Boss, Bob" <bob.boss@freemail.test>
To: ann@acme.com
Reply-To: pay@drop.test
Subject: wire today
Date: Mon, 21 Sep 2020 10:00:00 +0000
Message-ID: <x1@freemail.test>

Ann, please send the wire now.
"""


def build(tmp_path):
    events = tmp_path / "events.parquet"
    pq.write_table(table(ROWS), events)
    store = tmp_path / "store"
    assert main(["baseline", "build", "--messages", str(events), "--out", str(store)]) == 0
    return store


def test_build_then_show_prints_the_sender_history(tmp_path, capsys):
    store = build(tmp_path)
    capsys.readouterr()
    assert main(["baseline", "show", str(store), "--tenant", "acme", "--sender", "Boss@acme.com",
                 "--recipient", "ann@acme.com", "--name", "Bob Boss"]) == 0
    out = capsys.readouterr().out
    assert "messages sent      6" in out
    assert "active days        6" in out
    assert "pair boss@acme.com -> ann@acme.com: 6 messages" in out
    assert "pair ann@acme.com -> boss@acme.com: 1 messages" in out
    assert "6 messages from 1 address(es); this sender among them: yes" in out


def test_show_of_an_unknown_sender_and_stats(tmp_path, capsys):
    store = build(tmp_path)
    capsys.readouterr()
    assert main(["baseline", "show", str(store), "--tenant", "acme", "--sender", "nobody@x.test"]) == 0
    assert "sender: never seen" in capsys.readouterr().out
    assert main(["baseline", "stats", str(store)]) == 0
    assert "B per pair" in capsys.readouterr().out


def test_lookup_of_an_impersonating_message(tmp_path, capsys):
    store = build(tmp_path)
    (tmp_path / "bec.eml").write_bytes(BEC)
    capsys.readouterr()
    assert main(["baseline", "lookup", str(store), str(tmp_path / "bec.eml"), "--tenant", "acme",
                 "--own-domain", "acme.com", "--vip", "Bob Boss=boss@acme.com"]) == 0
    out = capsys.readouterr().out
    values = dict(line.split() for line in out.splitlines() if line.startswith("  baseline_"))
    assert values["baseline_sender_prevalence"] == "0"
    assert values["baseline_name_other_address"] == "1"
    assert values["baseline_vip_name_unknown_address"] == "1"
    assert values["baseline_reply_to_never_seen"] == "1"
    assert values["baseline_recipient_received_min"] == "6"


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["baseline", "show", str(tmp_path / "none"), "--tenant", "a", "--sender", "x@y.z"]) == 2
    assert "no baseline store" in capsys.readouterr().err
    assert main(["baseline", "build", "--messages", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "s")]) == 2
