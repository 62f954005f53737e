"""This module contains small but real attachment files: PDF, DOCX/XLSX, macro-enabled
Office files, ISO 9660 images, ZIP archives (plain and ZipCrypto password-protected)
and HTML pages.

Every builder is deterministic (fixed timestamps, bytes drawn from the caller's rng).
Executables inside lures are inert stubs: an MZ header and padding, never code.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


# --- PDF -----------------------------------------------------------------------------------
def _pdf_escape(text: str) -> str:
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(lines: list[str], *, title: str = "", producer: str = "") -> bytes:
    """A one-page PDF with the given text lines (Helvetica), xref offsets exact."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
    for i, line in enumerate(lines[:50]):
        ops.append(f"({_pdf_escape(line)}) Tj" if i == 0 else f"T* ({_pdf_escape(line)}) Tj")
    ops.append("ET")
    stream = zlib.compress("\n".join(ops).encode("latin-1"), 6)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({_pdf_escape(title)}) /Producer ({_pdf_escape(producer)}) >>".encode("latin-1"),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    return out.getvalue()


# --- ZIP containers ---------------------------------------------------------------------------
def zip_bytes(members: list[tuple[str, bytes]], *, compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            zf.writestr(info, data)
    return buf.getvalue()


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


def _zipcrypto(data: bytes, password: bytes, crc: int, rng: random.Random) -> bytes:
    """Traditional PKWARE encryption (what zip -e writes): 12-byte header, then the data."""
    k = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        k[0] = _CRC[(k[0] ^ byte) & 0xFF] ^ (k[0] >> 8)
        k[1] = ((k[1] + (k[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k[2] = _CRC[(k[2] ^ (k[1] >> 24)) & 0xFF] ^ (k[2] >> 8)

    for b in password:
        update(b)
    plain = rng.randbytes(11) + bytes([crc >> 24]) + data
    out = bytearray(len(plain))
    for i, p in enumerate(plain):
        t = (k[2] | 2) & 0xFFFF
        out[i] = p ^ (((t * (t ^ 1)) >> 8) & 0xFF)
        update(p)
    return bytes(out)


def encrypted_zip(members: list[tuple[str, bytes]], password: str, rng: random.Random) -> bytes:
    """A password-protected ZIP (stored, ZipCrypto) that ``zipfile`` opens with the password."""
    out = io.BytesIO()
    central = []
    dos_time, dos_date = 0, (2020 - 1980) << 9 | 1 << 5 | 1
    for name, data in members:
        crc = zlib.crc32(data)
        enc = _zipcrypto(data, password.encode(), crc, rng)
        fname = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 1, 0, dos_time, dos_date, crc,
                              len(enc), len(data), len(fname), 0) + fname + enc)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 1, 0, dos_time,
                                   dos_date, crc, len(enc), len(data), len(fname), 0, 0, 0, 0,
                                   0x20, offset) + fname)
    start = out.tell()
    for c in central:
        out.write(c)
    size = out.tell() - start
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def exe_stub(rng: random.Random, size: int = 1536) -> bytes:
    """An inert PE-looking stub: DOS header magic, the usual DOS message, zero padding."""
    head = bytearray(size)
    head[0:2] = b"MZ"
    head[0x3C:0x40] = struct.pack("<I", 0x80)
    msg = b"This program cannot be run in DOS mode.\r\r\n$"
    head[0x4E:0x4E + len(msg)] = msg
    head[0x80:0x84] = b"PE\x00\x00"
    head[0x100:0x100 + 32] = rng.randbytes(32)
    return bytes(head)


# --- Office ----------------------------------------------------------------------------------
_CT_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
_RELS = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{target}"/></Relationships>'


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vba_project(rng: random.Random, host: str = "") -> bytes:
    """An inert OLE2 blob shaped like vbaProject.bin (or, with ``host`` "WordDocument" or
    "Workbook", a legacy .doc/.xls with macros): the magic, UTF-16 directory entry names and
    an auto-run macro's source text, which is what scanners look for."""
    names = ["Root Entry", *([host, "Macros"] if host else []), "VBA", "dir", "_VBA_PROJECT",
             "PROJECT", "ThisDocument"]
    directory = b"".join(n.encode("utf-16-le").ljust(64, b"\x00") + bytes(64) for n in names)
    body = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
            + bytes(478) + directory
            + b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\n  Document_Open\r\nEnd Sub\r\n"
            + b"Sub Document_Open()\r\n  Dim s As String\r\n  s = Environ(\"TEMP\")\r\n  "
            + b"Shell \"cmd /c echo \" & s, vbHide\r\nEnd Sub\r\n" + rng.randbytes(64))
    return body + bytes(-len(body) % 512)


def docx(paragraphs: list[str], rng: random.Random, *, macro: bool = False) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{_xml_escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
           '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           f"{body}</w:body></w:document>")
    main = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macro else
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    ct = _CT_HEAD + f'<Override PartName="/word/document.xml" ContentType="{main}"/>'
    members = [("word/document.xml", doc.encode())]
    if macro:
        ct += '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        members.append(("word/vbaProject.bin", vba_project(rng)))
        members.append(("word/_rels/document.xml.rels", (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')))
    ct += "</Types>"
    return zip_bytes([("[Content_Types].xml", ct.encode()),
                      ("_rels/.rels", _RELS.format(target="word/document.xml").encode()),
                      *members])


def xlsx(rows: list[list[str]], rng: random.Random, *, macro: bool = False) -> bytes:
    cells = "".join(
        f'<row r="{i + 1}">' + "".join(f'<c t="inlineStr"><is><t>{_xml_escape(str(v))}</t></is></c>' for v in row) + "</row>"
        for i, row in enumerate(rows))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
             f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>')
    book = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    book_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                 + ('<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>' if macro else "")
                 + "</Relationships>")
    main = ("application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macro else
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
    ct = (_CT_HEAD + f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          + ('<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if macro else "")
          + "</Types>")
    members = [("[Content_Types].xml", ct.encode()),
               ("_rels/.rels", _RELS.format(target="xl/workbook.xml").encode()),
               ("xl/workbook.xml", book.encode()), ("xl/_rels/workbook.xml.rels", book_rels.encode()),
               ("xl/worksheets/sheet1.xml", sheet.encode())]
    if macro:
        members.append(("xl/vbaProject.bin", vba_project(rng)))
    return zip_bytes(members)


# --- ISO 9660 --------------------------------------------------------------------------------
def _both32(v: int) -> bytes:
    return struct.pack("<I", v) + struct.pack(">I", v)


def _both16(v: int) -> bytes:
    return struct.pack("<H", v) + struct.pack(">H", v)


def _dirrec(name: bytes, extent: int, size: int, is_dir: bool) -> bytes:
    n = len(name)
    rec = (bytes([33 + n + (1 - n % 2), 0]) + _both32(extent) + _both32(size)
           + bytes([120, 1, 1, 0, 0, 0, 0]) + bytes([2 if is_dir else 0, 0, 0]) + _both16(1)
           + bytes([n]) + name)
    return rec + (b"\x00" if n % 2 == 0 else b"")


def iso9660(files: list[tuple[str, bytes]], volume: str = "CDROM") -> bytes:
    """A minimal ISO 9660 image (one root directory) holding the given files."""
    sec = 2048
    root_lba, data_lba = 20, 21
    entries, lba = [], data_lba
    for name, data in files:
        entries.append((name.upper().encode() + b";1", lba, data))
        lba += max(1, -(-len(data) // sec))
    root = _dirrec(b"\x00", root_lba, sec, True) + _dirrec(b"\x01", root_lba, sec, True)
    for name, at, data in entries:
        root += _dirrec(name, at, len(data), False)
    total = lba
    pvd = bytearray(sec)
    pvd[0:8] = b"\x01CD001\x01\x00"
    pvd[8:40] = b"LINUX".ljust(32)
    pvd[40:72] = volume.upper().encode()[:32].ljust(32)
    pvd[80:88] = _both32(total)
    pvd[120:124] = _both16(1)
    pvd[124:128] = _both16(1)
    pvd[128:132] = _both16(sec)
    pvd[132:140] = _both32(10)
    pvd[140:144] = struct.pack("<I", 18)
    pvd[148:152] = struct.pack(">I", 19)
    pvd[156:190] = _dirrec(b"\x00", root_lba, sec, True)
    for off in (813, 830, 847, 864):
        pvd[off:off + 17] = b"0" * 16 + b"\x00"
    pvd[881] = 1
    term = bytearray(sec)
    term[0:7] = b"\xffCD001\x01"
    lpath = (bytes([1, 0]) + struct.pack("<I", root_lba) + struct.pack("<H", 1) + b"\x00\x00").ljust(sec, b"\x00")
    mpath = (bytes([1, 0]) + struct.pack(">I", root_lba) + struct.pack(">H", 1) + b"\x00\x00").ljust(sec, b"\x00")
    out = bytearray(sec * 16) + pvd + term + lpath + mpath + root.ljust(sec, b"\x00")
    for _, _, data in entries:
        out += data + bytes(-len(data) % sec if data else sec)
    return bytes(out)


def lnk_stub(target: str) -> bytes:
    """An inert Windows shortcut header (the 0x4C magic and the shell-link CLSID) naming a target."""
    clsid = bytes.fromhex("0114020000000000c000000000000046")
    return struct.pack("<I", 0x4C) + clsid + bytes(56) + target.encode("utf-16-le")


# --- HTML pages ------------------------------------------------------------------------------
def html_login_page(brand: str, action_url: str, email: str, rng: random.Random) -> bytes:
    """A credential-harvesting page as attached to HTML-attachment phishing."""
    field_user = rng.choice(["email", "login", "username", "user"])
    field_pass = rng.choice(["password", "pass", "pwd", "passwd"])
    style = rng.choice(["font-family:Segoe UI,Arial", "font-family:Helvetica,Arial", "font-family:Arial"])
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{brand}</title></head>'
            f'<body style="{style};background:#f3f2f1"><div style="width:360px;margin:80px auto;background:#fff;padding:32px">'
            f'<h2>{brand}</h2><p>Sign in to view the document</p>'
            f'<form method="POST" action="{action_url}">'
            f'<input type="email" name="{field_user}" value="{email}"><br>'
            f'<input type="password" name="{field_pass}" placeholder="Password"><br>'
            f'<button type="submit">Sign in</button></form></div></body></html>').encode()


def html_redirect_page(url: str, rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return f'<html><head><meta http-equiv="refresh" content="0; url={url}"></head><body>Loading...</body></html>'.encode()
    enc = "".join(f"%{b:02x}" for b in url.encode())
    return f'<html><body><script>window.location.href=decodeURIComponent("{enc}");</script></body></html>'.encode()
