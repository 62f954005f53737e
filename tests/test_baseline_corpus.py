"""On a slice of the real Enron graph: build, then a hand-made impersonation of a frequent sender."""

from __future__ import annotations

import collections
import email.utils
import io

import pytest

from pyscore.cli.baseline import mail_events

N_MESSAGES = 3000


@pytest.mark.corpora
def test_enron_slice_builds_and_reveals_an_impersonation(corpora_dir, tmp_path, capsys):
    import pyarrow.parquet as pq

    from pyscore.baseline.build import build_store
    from pyscore.baseline.events import normalize_name
    from pyscore.baseline.store import BaselineStore
    from pyscore.cli import main

    configs = {"enron": {"own_domains": ["enron.com"]}}
    events, _, _ = mail_events([str(corpora_dir / "enron.tar.xz")], "enron", configs, limit=N_MESSAGES,
                               log=io.StringIO())
    assert events.num_rows > N_MESSAGES * 0.9
    pq.write_table(events, tmp_path / "events.parquet")
    build_store([tmp_path / "events.parquet"], tmp_path / "store")
    store = BaselineStore.open(tmp_path / "store", read_only=True)
    assert store.stats()["tables"]["pairs"]["size"] > 1000

    # the most frequent named sender and the colleague it wrote to most
    rows = [r for r in events.to_pylist() if r["name_key"] and r["sender"].endswith("@enron.com") and r["recipients"]]
    sender, _ = collections.Counter(r["sender"] for r in rows).most_common(1)[0]
    mine = [r for r in rows if r["sender"] == sender]
    name = collections.Counter(r["display_name"] for r in mine).most_common(1)[0][0]
    target, _ = collections.Counter(a["address"] for r in mine for a in r["recipients"]).most_common(1)[0]
    last = max(r["time"] for r in events.to_pylist())
    date = email.utils.formatdate(last + 86400, usegmt=True)
    local = normalize_name(name).replace(" ", ".")
    bec = (f'From: "{name}" <{local}.office@gmail.com>\nTo: {target}\nReply-To: wire.desk@payments-fast.test\n'
           f"Subject: urgent and confidential\nDate: {date}\nMessage-ID: <bec@gmail.com>\n\n"
           "Please wire the attached amount today and keep this between us.\n")
    (tmp_path / "bec.eml").write_text(bec)

    capsys.readouterr()
    assert main(["baseline", "show", str(tmp_path / "store"), "--tenant", "enron", "--sender", sender]) == 0
    shown = capsys.readouterr().out
    sent = sum(1 for s in events["sender"].to_pylist() if s == sender)
    assert f"messages sent      {sent}\n" in shown
    assert main(["baseline", "lookup", str(tmp_path / "store"), str(tmp_path / "bec.eml"), "--tenant", "enron",
                 "--own-domain", "enron.com", "--vip", f"{name}={sender}"]) == 0
    values = {k: float(v) for k, v in (line.split() for line in capsys.readouterr().out.splitlines()
                                       if line.startswith("  baseline_"))}
    assert values["baseline_sender_prevalence"] == 0
    assert values["baseline_name_other_address"] == 1
    assert values["baseline_vip_name_unknown_address"] == 1
    assert values["baseline_reply_to_never_seen"] == 1
    assert values["baseline_pair_count_max"] == 0
    assert values["baseline_recipient_received_min"] > 0
