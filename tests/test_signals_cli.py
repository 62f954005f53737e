"""`pyscore signals` and `pyscore signals rank` on a few hand-written .eml files."""

import json

import pyarrow.parquet as pq
import pytest

from pyscore.cli import main
from pyscore.signals import REGISTRY

SAFE = b"""From: Ann Lee <ann@example.org>
To: bob@example.org
Subject: Re: minutes
Message-ID: <1@example.org>
Date: Mon, 1 Jun 2020 10:00:00 +0000

See you at the meeting.
"""

BAD = b"""From: PayPal Service <service@paypa1.com>
To: victim@example.org
Subject: URGENT: verify your account
Message-ID: <x@mailer.evil.tk>
Date: Mon, 1 Jun 2020 10:00:00 +0000
Content-Type: text/html

<p>Dear customer, verify your account <a href="http://bit.ly/x">https://www.paypal.com</a></p>
"""


def _write(folder, name, payloads):
    folder.mkdir()
    for i, data in enumerate(payloads):
        (folder / f"{name}{i}.eml").write_bytes(data)
    return folder


def test_matrix_coverage_and_parquet(tmp_path, capsys):
    src = _write(tmp_path / "mail", "m", [SAFE, BAD])
    out = tmp_path / "f.parquet"
    assert main(["signals", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "non-zero" in printed and "link_shortener_count" in printed
    table = pq.read_table(out)
    assert table.num_rows == 2
    assert table.column_names == ["id", *REGISTRY.names]
    meta = table.schema.metadata
    assert meta[b"pyscore.signals.schema_hash"].decode() == REGISTRY.schema_hash()
    assert json.loads(meta[b"pyscore.signals.names"]) == REGISTRY.names
    assert not list(tmp_path.glob(".f.parquet.*"))  # no temporary file left behind


def test_rank_prints_the_separating_signals(tmp_path, capsys):
    a = _write(tmp_path / "a", "a", [SAFE, SAFE.replace(b"minutes", b"agenda")])
    b = _write(tmp_path / "b", "b", [BAD, BAD.replace(b"URGENT", b"Final notice")])
    assert main(["signals", "rank", "--a", str(a), "--b", str(b), "--top", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "AUC" in lines[2] or "AUC" in "".join(lines[:4])
    assert len([line for line in lines if line[:3].strip().isdigit()]) == 5


@pytest.mark.parametrize("argv", [["signals"], ["signals", "rank", "--a", "x"], ["signals", "rank", "p", "--a", "x", "--b", "y"]])
def test_bad_usage_is_a_clear_error(argv, capsys):
    assert main(argv) == 2
    assert "pyscore signals: error:" in capsys.readouterr().err


def test_missing_path(tmp_path, capsys):
    assert main(["signals", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
