"""Tests of pyscore.domains (Domain and Url builders), pyscore.charsets and pyscore.filetypes."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile

import pytest

from pyscore import charsets, filetypes
from pyscore.domains import domain_of_address, make_domain, make_url
from pyscore.message import Domain

# ---------------------------------------------------------------- domains


@pytest.mark.parametrize(("host", "domain", "root", "tld", "puny", "valid"), [
    ("WWW.Example.CO.UK", "www.example.co.uk", "example.co.uk", "co.uk", "", True),
    ("a.b.example.com.br.", "a.b.example.com.br", "example.com.br", "com.br", "", True),
    ("xn--80ak6aa92e.com", "аррӏе.com", "аррӏе.com", "com", "xn--80ak6aa92e.com", True),
    ("пример.рф", "пример.рф", "пример.рф", "рф", "xn--e1afmkfd.xn--p1ai", True),
    ("192.0.2.1", "192.0.2.1", "192.0.2.1", "", "", False),
    ("[2001:db8::1]", "[2001:db8::1]", "[2001:db8::1]", "", "", False),
    ("localhost", "localhost", "", "", "", False),
    ("bad_host!.com", "bad_host!.com", "bad_host!.com", "com", "", False),
    ("", "", "", "", "", False),
    ("xn--broken-punycode-.com", "xn--broken-punycode-.com", "xn--broken-punycode-.com", "com", "", False),
    ("xn--zz!.com", "xn--zz!.com", "xn--zz!.com", "com", "", False),
])
def test_make_domain(host, domain, root, tld, puny, valid):
    d = make_domain(host)
    assert (d.domain, d.root_domain, d.tld, d.punycode, d.valid) == (domain, root, tld, puny, valid)


def test_domain_of_address():
    assert domain_of_address("a@Mail.Example.org").root_domain == "example.org"
    assert domain_of_address("no-at-sign") == Domain()


def test_long_labels_are_not_decoded():
    host = "xn--" + "a" * 5000 + ".com"
    assert make_domain(host).domain == host[: 253 * 4] or make_domain(host).valid is False


@pytest.mark.parametrize(("original", "url", "scheme", "host", "path", "query"), [
    ("https://Login.Example.com/a/b?x=1#f", "https://Login.Example.com/a/b?x=1#f", "https", "login.example.com", "/a/b", "x=1"),
    ("www.example.org/x", "http://www.example.org/x", "http", "www.example.org", "/x", ""),
    ("http://xn--80ak6aa92e.com/p", "http://аррӏе.com/p", "http", "аррӏе.com", "/p", ""),
    ("mailto:Boss@Corp.example?subject=hi", "mailto:Boss@Corp.example?subject=hi", "mailto", "corp.example",
     "Boss@Corp.example?subject=hi", ""),
    ("javascript:alert(1)", "javascript:alert(1)", "javascript", "", "alert(1)", ""),
    ("http://[::1", "http://[::1", "http", "", "", ""),  # bad IPv6 brackets
    ("//cdn.example.net/x.js", "//cdn.example.net/x.js", "", "cdn.example.net", "/x.js", ""),
    ("http://user:pw@host.example.com:8080/", "http://user:pw@host.example.com:8080/", "http", "host.example.com", "/", ""),
])
def test_make_url(original, url, scheme, host, path, query):
    u = make_url(original)
    assert (u.url, u.original, u.scheme, u.domain.domain, u.path, u.query) == (url, original, scheme, host, path, query)


# ---------------------------------------------------------------- charsets


@pytest.mark.parametrize(("label", "codec"), [
    ("UTF-8", "utf-8"), ("iso-8859-1", "cp1252"), ("us-ascii", "ascii"), ("gb2312", "gb18030"),
    ('"windows-1251"', "cp1251"), ("utf-8*en", "utf-8"), ("x-nonsense", None), ("rot13", None),
    ("base64", None), ("punycode", None), ("", None), ("a" * 100, None),
])
def test_codec_for(label, codec):
    assert charsets.codec_for(label) == codec


def test_decode_fallbacks():
    defects = []
    assert charsets.decode("é".encode(), "us-ascii", defects, "t") == "é"
    assert charsets.decode(b"\xe9\x81", "utf-8", defects, "t") == "é\ufffd" or defects
    assert charsets.decode(b"caf\xe9", "", [], "t") == "café"  # undeclared: UTF-8, else cp1252
    assert [d.kind for d in defects] == ["charset_mismatch", "charset_mismatch"]


# ---------------------------------------------------------------- file types


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(("data", "kind"), [
    (b"%PDF-1.4 ...", "pdf"), (b"MZ\x90\x00", "exe"), (b"\x7fELF\x02", "elf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100 + "WordDocument".encode("utf-16-le"), "doc"),
    (b"\x89PNG\r\n\x1a\n....", "png"), (b"\xff\xd8\xff\xe0", "jpeg"), (b"GIF89a", "gif"),
    (b"Rar!\x1a\x07\x01\x00", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"\x1f\x8b\x08", "gzip"),
    (b"{\\rtf1\\ansi", "rtf"), (b"L\x00\x00\x00\x01\x14\x02\x00\x00", "lnk"),
    (b"  <!DOCTYPE html><html>", "html"), (b"\xef\xbb\xbf<html>", "html"), (b"<?xml version='1.0'?><svg>", "svg"),
    (b"<?xml version='1.0'?><root/>", "xml"), (b"Received: from x\nFrom: a@b\n", "eml"),
    (b"Plain text, nothing special.\n", "txt"), ("Привет, мир".encode(), "txt"),
    (b"\x00\x01\x02\x03binary", "unknown"), (b"", ""), (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
    (b"\0" * 257 + b"ustar\x0000", "tar"), (b"\0" * 0x8001 + b"CD001", "iso"),
])
def test_detect(data, kind):
    assert filetypes.detect(data) == kind


def test_detect_ooxml_and_jar():
    assert filetypes.detect(_zip({"[Content_Types].xml": b"x", "word/document.xml": b"x"})) == "docx"
    assert filetypes.detect(_zip({"[Content_Types].xml": b"x", "xl/workbook.xml": b"x"})) == "xlsx"
    assert filetypes.detect(_zip({"META-INF/MANIFEST.MF": b"x"})) == "jar"
    assert filetypes.detect(_zip({"a.txt": b"x"})) == "zip"


def test_zip_members_and_bounded_inflation():
    inner = _zip({"evil.exe": b"MZ" + b"\0" * 1000})
    outer = _zip({"dir/": b"", "inner.zip": inner, "big.bin": b"\0" * 100_000})
    info = filetypes.inspect(outer, "zip")
    assert info.members == ["dir/", "inner.zip", "inner.zip/evil.exe", "big.bin"]
    assert info.encrypted is False and info.defects == []
    # past the byte limit the nested archive is not inflated far enough to read
    small = filetypes.inspect(outer, "zip", max_member_bytes=10)
    assert "inner.zip/evil.exe" not in small.members


def test_truncated_zip_lists_local_headers():
    data = _zip({"a.txt": b"hello", "b.js": b"x"})
    cut = data[: data.find(b"PK\x01\x02")]  # no central directory
    assert filetypes.inspect(cut, "zip").members == ["a.txt", "b.js"]


def test_garbage_archives_record_a_defect():
    info = filetypes.inspect(b"Rar!\x1a\x07\x00" + b"\xff" * 3, "rar")
    assert info.members == []
    info = filetypes.inspect(b"\x1f\x8b\x08\x0c" + b"\0" * 6, "gzip")  # FEXTRA cut off
    assert info.defects and info.defects[0][0] == "bad_archive"


def test_tar_and_gzip_names():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name in ("x.exe", "y.txt"):
            ti = tarfile.TarInfo(name)
            ti.size = 1
            tf.addfile(ti, io.BytesIO(b"z"))
    assert filetypes.inspect(buf.getvalue(), "tar").members == ["x.exe", "y.txt"]
    gz = io.BytesIO()
    with gzip.GzipFile(filename="invoice.js", mode="wb", fileobj=gz) as g:
        g.write(b"x")
    assert filetypes.inspect(gz.getvalue(), "gzip").members == ["invoice.js"]


def test_rar4_names_and_encryption():
    def block(kind: int, flags: int, body: bytes) -> bytes:
        return struct.pack("<HBHH", 0, kind, flags, 7 + len(body)) + body

    def file_header(name: bytes, flags: int) -> bytes:
        body = struct.pack("<IIBIIBBHI", 0, 0, 0, 0, 0, 20, 0x30, len(name), 0) + name
        return block(0x74, flags | 0x8000, body)

    data = b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\0" * 6) + file_header(b"doc.exe", 0x04) + file_header(b"b.txt", 0)
    info = filetypes.inspect(data, "rar")
    assert info.members == ["doc.exe", "b.txt"] and info.encrypted is True
    header_encrypted = b"Rar!\x1a\x07\x00" + block(0x73, 0x0080, b"\0" * 6)
    assert filetypes.inspect(header_encrypted, "rar").encrypted is True


def test_rar5_names():
    def vint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    name = b"payload.scr"
    fields = vint(2) + vint(0) + vint(0) + vint(0) + vint(0) + vint(0) + vint(0) + vint(len(name)) + name
    header = vint(len(fields)) + fields
    data = b"Rar!\x1a\x07\x01\x00" + b"\0\0\0\0" + header
    assert filetypes.inspect(data, "rar").members == ["payload.scr"]


def test_encrypted_documents():
    assert filetypes.inspect(b"%PDF-1.4 trailer << /Encrypt 5 0 R >>", "pdf").encrypted is True
    assert filetypes.inspect(b"%PDF-1.4 plain", "pdf").encrypted is False
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le")
    assert filetypes.detect(ole) == "ole" and filetypes.inspect(ole, "ole").encrypted is True


def _iso(entries: list[tuple[bytes, bool, int]]) -> bytes:
    """A minimal ISO 9660 image: root directory at sector 20 holding ``entries`` (name, is_dir, lba)."""
    def record(name: bytes, lba: int, size: int, is_dir: bool) -> bytes:
        # ext. attr length, LBA (LE, BE), size (LE, BE), date, flags, unit, gap, volume (LE, BE), name length
        body = struct.pack("<BIIII7sBBBHHB", 0, lba, 0, size, 0, b"\0" * 7, 2 if is_dir else 0, 0, 0, 1, 1, len(name))
        rec = body + name
        rec += b"\0" * ((len(rec) + 1) % 2)
        return bytes([len(rec) + 1]) + rec

    image = bytearray(30 * 2048)
    pvd = 16 * 2048
    image[pvd : pvd + 6] = b"\x01CD001"
    image[pvd + 156 : pvd + 156 + 34] = record(b"\x00", 20, 2048, True)[:34]
    root = record(b"\x00", 20, 2048, True) + record(b"\x01", 20, 2048, True)
    for name, is_dir, lba in entries:
        root += record(name, lba, 2048, is_dir)
    image[20 * 2048 : 20 * 2048 + len(root)] = root
    sub = record(b"\x00", 21, 2048, True) + record(b"\x01", 20, 2048, True) + record(b"PAYLOAD.EXE;1", 25, 10, False)
    image[21 * 2048 : 21 * 2048 + len(sub)] = sub
    return bytes(image)


def test_iso_names():
    data = _iso([(b"INVOICE.LNK;1", False, 24), (b"DATA", True, 21), (b"LOOP", True, 20)])
    assert filetypes.detect(data) == "iso"
    info = filetypes.inspect(data, "iso")
    assert info.members == ["INVOICE.LNK", "DATA/", "LOOP/", "DATA/PAYLOAD.EXE"]
    assert filetypes.inspect(data, "iso", max_depth=1).members == ["INVOICE.LNK", "DATA/", "LOOP/"]
    assert filetypes.inspect(data[:20 * 2048], "iso").defects  # cut before the root directory
