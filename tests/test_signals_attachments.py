"""Attachment signals on hand-written attachments: categories, disguises, archives."""

from _signals_helpers import one

from pyscore.message import Attachment, Message


def att(name: str, ext: str, file_type: str = "", size: int = 1000, **kw) -> Attachment:
    return Attachment(file_name=name, file_extension=ext, file_type=file_type, size=size, **kw)


def of(*attachments) -> dict[str, float]:
    return one(Message(attachments=tuple(attachments)))


def test_categories_by_extension_and_type():
    s = of(att("a.pdf", "pdf", "pdf", 50_000), att("b.docx", "docx", "zip"), att("c.docm", "docm", "zip"),
           att("d.ISO", "iso"), att("e.lnk", "lnk"), att("f.one", "one"), att("g.ics", "ics"), att("h.svg", "svg"),
           att("i.html", "html", "html"), att("j.vbs", "vbs"), att("k.png", "png", "png"))
    assert s["attachment_count"] == 11
    for cat, n in (("pdf", 1), ("office", 1), ("macro_office", 1), ("disk_image", 1), ("lnk", 1), ("onenote", 1),
                   ("ics", 1), ("svg", 1), ("html", 1), ("script", 1), ("image", 1), ("archive", 0)):
        assert s[f"attach_{cat}_count"] == n, cat
    assert s["attach_type_mismatch_count"] == 0  # a .docx is a zip
    assert s["attach_risky_count"] == 7  # docm iso lnk one svg html vbs


def test_disguised_executables():
    s = of(att("invoice.pdf", "pdf", "exe"), att("scan.pdf      .exe", "exe", "pe"), att("report.doc.js", "js"),
           att("archive.tar.gz", "gz", "gzip"), att("\u202egpj.scr", "scr"))
    assert s["attach_type_mismatch_count"] == 1
    assert s["attach_executable_count"] == 3  # the fake pdf, the .exe and the .scr
    assert s["attach_pdf_count"] == 1
    assert s["attach_double_extension_count"] == 2  # pdf+exe, doc+js; tar.gz is one category
    assert s["attach_name_bidi_count"] == 1


def test_archives_and_encryption():
    s = of(att("a.zip", "zip", "zip", encrypted=True, archive_members=("x/run.js", "b.txt", "c.LNK")),
           att("b.pdf", "pdf", "pdf", encrypted=True))
    assert s["attach_encrypted_count"] == 2
    assert s["attach_encrypted_archive_count"] == 1
    assert s["attach_archive_member_count"] == 3
    assert s["attach_archive_risky_member_count"] == 2


def test_tiny_pdf_size_and_missing_extension():
    s = of(att("a.pdf", "pdf", "pdf", 3_000), att("b.pdf", "pdf", "pdf", 300_000), att("noext", "", "", 1024))
    assert s["attach_tiny_pdf_count"] == 1
    assert s["attach_total_size_kb"] == (3_000 + 300_000 + 1024) / 1024
    assert s["attach_no_extension_count"] == 1


def test_no_attachments():
    s = of()
    assert s["attachment_count"] == 0 and s["attach_total_size_kb"] == 0
