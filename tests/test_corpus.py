"""Tests for pyscore.corpus on tiny hand-written files, folders, mboxes and archives."""

from __future__ import annotations

import io
import mailbox
import tarfile
from pathlib import Path

import pytest

from pyscore.corpus import (
    CorpusError,
    CorpusProblem,
    CorpusReader,
    RawMessage,
    iter_entries,
    iter_raw_messages,
    read_source,
    split_source_id,
)


def _msg(n: int, body: str = "hello") -> bytes:
    return (
        f"From: a{n}@example.org\nTo: b@example.net\nSubject: note {n}\n"
        f"Message-ID: <m{n}@example.org>\n\n{body} {n}\n"
    ).encode()


def _mbox(*bodies: bytes) -> bytes:
    out = []
    for i, raw in enumerate(bodies):
        out.append(f"From a{i}@example.org  Sat Nov 27 15:33:27 2004\n".encode())
        lines = [
            (b">" + ln if ln.startswith(b"From ") or ln.startswith(b">From ") else ln)
            for ln in raw.splitlines(keepends=True)
        ]
        out.append(b"".join(lines) + b"\n")
    return b"".join(out)


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:xz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_single_eml(tmp_path):
    path = tmp_path / "one.eml"
    path.write_bytes(_msg(1))
    assert list(CorpusReader(path)) == [(str(path), _msg(1))]


def test_folder_walk_sorted_and_hidden_files_ignored(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2").write_bytes(_msg(2))
    (tmp_path / "a1").write_bytes(_msg(1))
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    got = list(CorpusReader(tmp_path))
    assert [raw for _, raw in got] == [_msg(1), _msg(2)]
    assert got[1][0] == str(tmp_path / "b" / "2")


def test_maildir_cur_new_and_tmp_reported(tmp_path):
    box = mailbox.Maildir(tmp_path / "md", create=True)
    box.add(_msg(1))
    key = box.add(_msg(2))
    msg = box.get_message(key)
    msg.set_subdir("cur")
    box[key] = msg
    (tmp_path / "md" / "tmp" / "123.partial").write_bytes(_msg(3))
    reader = CorpusReader(tmp_path / "md")
    raws = sorted(raw for _, raw in reader)
    assert raws == sorted([_msg(1), _msg(2)])
    assert [p.kind for p in reader.problems] == ["maildir_tmp"]
    assert reader.problems[0].source_id.endswith("123.partial")


def test_enron_style_plain_numbered_files(tmp_path):
    inbox = tmp_path / "maildir" / "doe-j" / "inbox"
    inbox.mkdir(parents=True)
    for n in (1, 2, 10):
        (inbox / str(n)).write_bytes(_msg(n))
    ids = [sid for sid, _ in CorpusReader(tmp_path / "maildir")]
    assert [Path(i).name for i in ids] == ["1", "10", "2"]  # sorted by name, deterministic


def test_mbox_split_unescape_and_oracle(tmp_path):
    bodies = [_msg(1), _msg(2, "From the desk of the chair\n>From here"), _msg(3)]
    path = tmp_path / "box.mbox"
    path.write_bytes(_mbox(*bodies))
    got = list(CorpusReader(path))
    assert [sid for sid, _ in got] == [f"{path}::#1", f"{path}::#2", f"{path}::#3"]
    assert [raw for _, raw in got] == bodies
    # Oracle: the standard library's mbox reader finds the same messages.
    oracle = [m.as_bytes().split(b"\n\n", 1)[1] for m in mailbox.mbox(path)]
    assert [raw.split(b"\n\n", 1)[1] for _, raw in got] == [
        o.replace(b">From", b"From") for o in oracle
    ]


def test_unescaped_from_in_body_is_text(tmp_path):
    raw = _mbox(_msg(1)).replace(b"hello 1\n", b"hello 1\n\nFrom what I heard it works\n")
    path = tmp_path / "x.mbox"
    path.write_bytes(raw + _mbox(_msg(2)))
    reader = CorpusReader(path)
    got = list(reader)
    assert len(got) == 2 and b"From what I heard" in got[0][1]
    assert reader.problems == []


def test_broken_mbox_separator_reported(tmp_path):
    path = tmp_path / "bad.mbox"
    # Second postmark has no date; third has no blank line before it.
    path.write_bytes(
        b"From a@x Sat Nov 27 15:33:27 2004\n"
        + _msg(1)
        + b"\n"
        + b"From nobody\n"
        + _msg(2)
        + b"From b@x Sat Nov 27 15:33:27 2004\n"
        + _msg(3)
    )
    reader = CorpusReader(path)
    got = list(reader)
    assert [raw for _, raw in got] == [_msg(1), _msg(2), _msg(3)]
    assert [(p.kind, p.source_id) for p in reader.problems] == [
        ("broken_mbox_separator", f"{path}::#2"),
        ("broken_mbox_separator", f"{path}::#3"),
    ]


def test_single_message_with_postmark_is_the_file(tmp_path):
    path = tmp_path / "00001.abc"
    path.write_bytes(b"From a@x  Thu Aug 22 13:17:22 2002\n" + _msg(1))
    assert list(CorpusReader(path)) == [(str(path), _msg(1))]
    assert read_source(str(path)) == _msg(1)


def test_folder_data_pseudo_message_reported(tmp_path):
    pseudo = (
        b"Date: 15 Nov 2005 11:01:01 -0500\nFrom: Mail System Internal Data <MAILER-DAEMON@x>\n"
        b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1 2\n\ninternal\n"
    )
    path = tmp_path / "p.mbox"
    path.write_bytes(_mbox(pseudo, _msg(1), _msg(2)))
    reader = CorpusReader(path)
    assert [sid for sid, _ in reader] == [f"{path}::#2", f"{path}::#3"]
    assert [p.kind for p in reader.problems] == ["mbox_folder_data"]


@pytest.mark.parametrize("mode,suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:xz", ".tar.xz")])
def test_tar_archives_with_files_mbox_and_problems(tmp_path, mode, suffix):
    members = {
        "c/1": _msg(1),
        "c/box.mbox": _mbox(_msg(2), _msg(3)),
        "c/empty": b"",
        "c/LICENSE": b"Permission is granted to copy\n",
        "c/cur/4:2,S": _msg(4),
    }
    path = _tar(tmp_path / f"a{suffix}", members, mode)
    entries = list(iter_entries(path))
    msgs = [e for e in entries if isinstance(e, RawMessage)]
    problems = {e.source_id: e.kind for e in entries if isinstance(e, CorpusProblem)}
    assert [m.data for m in msgs] == [_msg(1), _msg(2), _msg(3), _msg(4)]
    assert problems == {f"{path}::c/empty": "empty", f"{path}::c/LICENSE": "not_a_message"}
    for m in msgs:  # every id reads back the same bytes
        assert read_source(m.source_id) == m.data


def test_nested_archive(tmp_path):
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        info = tarfile.TarInfo("in/1.eml")
        info.size = len(_msg(1))
        tar.addfile(info, io.BytesIO(_msg(1)))
    path = _tar(tmp_path / "outer.tar", {"x/inner.tar.gz": inner.getvalue()}, "w")
    got = list(CorpusReader(path))
    assert got == [(f"{path}::x/inner.tar.gz::in/1.eml", _msg(1))]


def test_truncated_archive_reported(tmp_path):
    path = _tar(tmp_path / "t.tar.gz", {f"m/{i}": _msg(i) * 50 for i in range(20)}, "w:gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    reader = CorpusReader(path)
    got = list(reader)
    assert 0 < len(got) < 20
    assert reader.problems and reader.problems[-1].kind == "unreadable"


def test_too_large_reported(tmp_path):
    path = tmp_path / "big.eml"
    path.write_bytes(_msg(1) + b"x" * 5000)
    reader = CorpusReader(path, max_bytes=1000)
    assert list(reader) == []
    assert reader.problems[0].kind == "too_large"


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(CorpusReader(tmp_path / "nope"))


def test_strict_iterator_raises_corpus_error(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(CorpusError, match="empty"):
        list(iter_raw_messages(tmp_path))


def test_split_source_id():
    assert split_source_id("a.tar.xz::d/b.mbox::#12") == ("a.tar.xz", ["d/b.mbox"], 12)
    assert split_source_id("/x/y.eml") == ("/x/y.eml", [], None)


def test_read_source_missing_member(tmp_path):
    path = _tar(tmp_path / "a.tar", {"1": _msg(1)}, "w")
    with pytest.raises(FileNotFoundError, match="no message"):
        read_source(f"{path}::2")


def test_streaming_is_lazy(tmp_path):
    # A generator: the first message arrives before later (broken) ones are touched.
    path = _tar(tmp_path / "a.tar", {"1": _msg(1), "2": _msg(2)}, "w")
    it = iter(CorpusReader(path))
    assert next(it)[1] == _msg(1)
