"""Tests for `pyscore parse`: JSON output, the summary, --limit and bad input."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from pyscore.cli import main
from pyscore.message import Message


def _msg(n: int) -> bytes:
    return (
        f"From: Ann <ann{n}@example.org>\nTo: bob@example.net\nSubject: hello {n}\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <m{n}@example.org>\n\nbody {n}\n"
    ).encode()


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "a.tar.gz"
    members = {f"d/{i}.eml": _msg(i) for i in range(3)}
    members["d/empty"] = b""
    members["d/box.mbox"] = (
        b"From x  Sat Jan  1 10:00:00 2005\n" + _msg(9) + b"\nFrom nobody\n" + _msg(10)
    )
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_json_lines_round_trip(archive, capsys):
    assert main(["parse", str(archive), "--json"]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["source_id"] for r in records] == [
        f"{archive}::d/0.eml",
        f"{archive}::d/1.eml",
        f"{archive}::d/2.eml",
        f"{archive}::d/box.mbox::#1",
        f"{archive}::d/box.mbox::#2",
    ]
    first = dict(records[0])
    first.pop("source_id")
    msg = Message.from_dict(first)
    assert msg.sender.email.email == "ann0@example.org"
    assert msg.sender.display_name == "Ann"
    assert msg.subject.subject == "hello 0"
    assert "messages:" in err  # the summary goes to stderr with --json


def test_summary(archive, capsys):
    assert main(["parse", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "messages:              5" in out
    assert "failures:              0" in out
    assert "empty" in out and "broken_mbox_separator" in out
    assert "messages per second" in out


def test_limit(archive, capsys):
    assert main(["parse", str(archive), "--json", "--limit", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_failures_counted(archive, capsys, monkeypatch):
    import pyscore.mime

    def boom(raw, **kw):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(pyscore.mime, "parse", boom)
    assert main(["parse", str(archive)]) == 1
    out = capsys.readouterr().out
    assert "failures:              5" in out and "parser bug" in out


def test_bad_input(tmp_path, capsys):
    assert main(["parse", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["parse", str(tmp_path), "--limit", "0"])
