"""This module contains file-type detection from magic bytes and archive inspection.

``detect`` names a payload's real type whatever its declared content type or
file name says. ``inspect`` lists the member names of zip (read from the
central directory by a small reader of our own, so that a hostile archive
cannot make it allocate per entry or inflate without bound), tar and gzip,
lists ISO 9660 images (directories to the depth limit), descends into
archives inside archives to a depth limit, and reports
password protection of zip, rar, 7z, PDF and encrypted Office files.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
import zlib
from dataclasses import dataclass, field

# (offset, prefix, type). Checked in order; the first match wins.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF", "pdf"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"PK\x07\x08", "zip"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"MSCF", "cab"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (0, b"MZ", "exe"),
    (0, b"\x7fELF", "elf"),
    (0, b"\xca\xfe\xba\xbe", "macho"),
    (0, b"\xcf\xfa\xed\xfe", "macho"),
    (0, b"\xce\xfa\xed\xfe", "macho"),
    (0, b"L\x00\x00\x00\x01\x14\x02\x00", "lnk"),
    (0, b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3", "onenote"),
    (0, b"ITSF", "chm"),
    (0, b"{\\rtf", "rtf"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"\x00\x00\x01\x00", "ico"),
    (0, b"OggS", "ogg"),
    (0, b"ID3", "mp3"),
    (0, b"fLaC", "flac"),
    (0, b"conectix", "vhd"),
    (0, b"KDMV", "vmdk"),
    (0, b"-----BEGIN PGP", "pgp"),
    (0, b"BEGIN:VCALENDAR", "ics"),
    (0, b"BEGIN:VCARD", "vcf"),
    (4, b"ftyp", "mp4"),
    (257, b"ustar", "tar"),
    (0x8001, b"CD001", "iso"),
    (0x8801, b"CD001", "iso"),
    (0x9001, b"CD001", "iso"),
)
_RIFF = {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}
_OOXML = ((b"word/", "docx"), (b"xl/", "xlsx"), (b"ppt/", "pptx"))
_OLE_STREAMS = (
    ("EncryptedPackage".encode("utf-16-le"), "ole"),
    ("WordDocument".encode("utf-16-le"), "doc"),
    ("Workbook".encode("utf-16-le"), "xls"),
    ("PowerPoint Document".encode("utf-16-le"), "ppt"),
    ("__substg1.0_".encode("utf-16-le"), "msg"),
)
_HTML_START = re.compile(rb"^(?:<!doctype\s+html|<html|<head|<body|<meta|<script|<div|<table|<title|<p\b|<a\s|<form|<iframe|<!--)", re.I)
_XML_SVG = re.compile(rb"<svg\b", re.I)
_EML_START = re.compile(
    rb"^(?:received|return-path|from|to|subject|date|message-id|mime-version|delivered-to|x-[a-z0-9-]+)[ \t]*:", re.I
)
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\x1b"


def detect(data: bytes) -> str:
    """The type of ``data`` from its first bytes: pdf, zip, docx, exe, html, txt ... or unknown."""
    if not data:
        return ""
    for offset, prefix, name in _MAGIC:
        if data.startswith(prefix, offset):
            return _refine(data, name)
    if data.startswith(b"RIFF") and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data.startswith(b"BM") and len(data) > 14 and data[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    return _detect_text(data[:2048])


def _refine(data: bytes, name: str) -> str:
    if name == "zip":
        head = data[:8192]
        if b"[Content_Types].xml" in head:
            for marker, kind in _OOXML:
                if marker in head:
                    return kind
            return "ooxml"
        if b"META-INF/MANIFEST.MF" in head:
            return "jar"
        if b"mimetypeapplication/vnd.oasis.opendocument" in head:
            return "odf"
    if name == "ole":
        for marker, kind in _OLE_STREAMS:
            if data.find(marker, 0, 4 << 20) >= 0:
                return kind
    return name


def _detect_text(head: bytes) -> str:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            return "txt" if bom != b"\xef\xbb\xbf" else _detect_text(head[3:]) or "txt"
    stripped = head.lstrip()
    if _HTML_START.match(stripped):
        return "html"
    if stripped[:5].lower() == b"<?xml":
        return "svg" if _XML_SVG.search(stripped) else "xml"
    if stripped[:4].lower() == b"<svg":
        return "svg"
    if _EML_START.match(head):
        return "eml"
    if b"\x00" not in head and len(head.translate(None, _TEXT_BYTES)) * 10 <= len(head):
        return "txt"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            # a multi-byte character cut at the end of the sample is still text
            try:
                head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return "unknown"
        return "txt"
    return "unknown"


# ---------------------------------------------------------------- archives

ARCHIVE_TYPES = frozenset({"zip", "jar", "tar", "gzip", "rar", "7z", "iso"})


@dataclass
class ArchiveInfo:
    members: list[str] = field(default_factory=list)
    encrypted: bool = False
    defects: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail)


def inspect(data: bytes, file_type: str, *, max_members: int = 1000, max_depth: int = 2,
            max_member_bytes: int = 8 << 20) -> ArchiveInfo:
    """Member names (nested ones as ``outer/inner``) and the encrypted flag of an archive or document."""
    info = ArchiveInfo()
    _inspect(data, file_type, "", 1, info, max_members, max_depth, max_member_bytes)
    return info


def _inspect(data, file_type, prefix, depth, info, max_members, max_depth, max_member_bytes) -> None:
    try:
        if file_type in ("zip", "jar"):
            _inspect_zip(data, prefix, depth, info, max_members, max_depth, max_member_bytes)
        elif file_type in ("docx", "xlsx", "pptx", "ooxml", "odf"):
            info.encrypted = info.encrypted or _zip_encrypted(data)
        elif file_type == "tar":
            _inspect_tar(data, prefix, info, max_members)
        elif file_type == "gzip":
            name = _gzip_name(data)
            if name:
                _add_member(info, prefix + name, max_members)
        elif file_type == "rar":
            _inspect_rar(data, prefix, info, max_members)
        elif file_type == "7z":
            info.encrypted = info.encrypted or _sevenzip_encrypted(data)
        elif file_type == "iso":
            _inspect_iso(data, prefix, info, max_members, max_depth)
        elif file_type == "pdf":
            info.encrypted = info.encrypted or data.find(b"/Encrypt", 0, 64 << 20) >= 0
        elif file_type == "ole":  # an OLE file holding EncryptedPackage: a protected OOXML
            info.encrypted = True
    except Exception as exc:  # noqa: BLE001 -- a hostile archive must never stop the parse
        info.defects.append(("bad_archive", f"{file_type}: {type(exc).__name__}: {exc}"[:200]))


def _add_member(info: ArchiveInfo, name: str, max_members: int) -> bool:
    if len(info.members) >= max_members:
        if not any(kind == "too_many_archive_members" for kind, _ in info.defects):
            info.defects.append(("too_many_archive_members", f"listed the first {max_members}"))
        return False
    info.members.append(name)
    return True


_EOCD = b"PK\x05\x06"
_CDIR = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


def _zip_entries(data: bytes):
    """(name, flags, method, compressed size, local header offset) from the central directory.

    Falls back to scanning local headers when the central directory is
    missing (a truncated attachment).
    """
    eocd = data.rfind(_EOCD, max(0, len(data) - 65557))
    if eocd >= 0 and len(data) >= eocd + 22:
        count, cd_size, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
        pos = cd_offset
        for _ in range(count):
            if not data.startswith(_CDIR, pos) or pos + 46 > len(data):
                break
            flags, method = struct.unpack_from("<HH", data, pos + 8)
            csize, _usize, nlen, elen, clen = struct.unpack_from("<IIHHH", data, pos + 20)
            (local,) = struct.unpack_from("<I", data, pos + 42)
            raw = data[pos + 46 : pos + 46 + nlen]
            yield _zip_name(raw, flags), flags, method, csize, local
            pos += 46 + nlen + elen + clen
        return
    pos = data.find(_LOCAL)
    while pos >= 0 and pos + 30 <= len(data):
        flags, method = struct.unpack_from("<HH", data, pos + 6)
        (csize,) = struct.unpack_from("<I", data, pos + 18)
        nlen, elen = struct.unpack_from("<HH", data, pos + 26)
        yield _zip_name(data[pos + 30 : pos + 30 + nlen], flags), flags, method, csize, pos
        pos = data.find(_LOCAL, pos + 30 + nlen)


def _zip_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _zip_encrypted(data: bytes) -> bool:
    return any(flags & 1 for _, flags, _, _, _ in _zip_entries(data))


def _inspect_zip(data, prefix, depth, info, max_members, max_depth, max_member_bytes) -> None:
    for name, flags, method, csize, local in _zip_entries(data):
        if flags & 1:
            info.encrypted = True
        if not _add_member(info, prefix + name, max_members):
            return
        if depth >= max_depth or flags & 1 or name.endswith("/"):
            continue
        inner = _zip_member(data, method, csize, local, max_member_bytes)
        if inner:
            kind = detect(inner)
            if kind in ARCHIVE_TYPES:
                _inspect(inner, kind, prefix + name + "/", depth + 1, info, max_members, max_depth, max_member_bytes)


def _zip_member(data: bytes, method: int, csize: int, local: int, limit: int) -> bytes:
    """The first ``limit`` bytes of a stored or deflated member (inflation is bounded)."""
    if not data.startswith(_LOCAL, local) or local + 30 > len(data):
        return b""
    nlen, elen = struct.unpack_from("<HH", data, local + 26)
    start = local + 30 + nlen + elen
    body = data[start : start + min(csize, limit * 4) if csize else start + limit * 4]
    if method == 0:
        return body[:limit]
    if method == 8:
        try:
            return zlib.decompressobj(-15).decompress(body, limit)
        except zlib.error:
            return b""
    return b""


def _inspect_tar(data, prefix, info, max_members) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        while True:
            member = tf.next()
            if member is None or not _add_member(info, prefix + member.name, max_members):
                return


def _gzip_name(data: bytes) -> str:
    flags = data[3] if len(data) > 3 else 0
    if not flags & 0x08:
        return ""
    pos = 10
    if flags & 0x04:
        (xlen,) = struct.unpack_from("<H", data, pos)
        pos += 2 + xlen
    end = data.find(b"\x00", pos, pos + 1024)
    return data[pos:end].decode("latin-1") if end > pos else ""


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("bad rar5 variable-length integer")


def _inspect_rar(data, prefix, info, max_members) -> None:
    if data.startswith(b"Rar!\x1a\x07\x01\x00"):
        _inspect_rar5(data, prefix, info, max_members)
    else:
        _inspect_rar4(data, prefix, info, max_members)


def _inspect_rar4(data, prefix, info, max_members) -> None:
    pos = 7
    while pos + 7 <= len(data):
        _crc, kind, flags, size = struct.unpack_from("<HBHH", data, pos)
        if size < 7:
            raise ValueError("rar4 header size below 7")
        add = struct.unpack_from("<I", data, pos + 7)[0] if flags & 0x8000 and kind != 0x74 else 0
        if kind == 0x73 and flags & 0x0080:  # archive header: block headers encrypted
            info.encrypted = True
            return
        if kind == 0x74:  # file header
            pack_size = struct.unpack_from("<I", data, pos + 7)[0]
            nlen = struct.unpack_from("<H", data, pos + 26)[0]
            name_at = pos + 32 + (8 if flags & 0x100 else 0)
            raw = data[name_at : name_at + nlen].split(b"\x00", 1)[0]
            if flags & 0x04:
                info.encrypted = True
            if not _add_member(info, prefix + raw.decode("utf-8", "replace"), max_members):
                return
            add = pack_size
        elif kind == 0x7B:  # end of archive
            return
        pos += size + add


def _inspect_rar5(data, prefix, info, max_members) -> None:
    pos = 8
    while pos + 6 <= len(data):
        size, body = _vint(data, pos + 4)
        end = body + size
        kind, p = _vint(data, body)
        flags, p = _vint(data, p)
        extra_size = data_size = 0
        if flags & 1:
            extra_size, p = _vint(data, p)
        if flags & 2:
            data_size, p = _vint(data, p)
        if kind == 4:  # archive encryption header: names are encrypted
            info.encrypted = True
            return
        if kind == 2:  # file header
            file_flags, p = _vint(data, p)
            _unpacked, p = _vint(data, p)
            _attrs, p = _vint(data, p)
            p += (4 if file_flags & 2 else 0) + (4 if file_flags & 4 else 0)
            _comp, p = _vint(data, p)
            _host, p = _vint(data, p)
            nlen, p = _vint(data, p)
            name = data[p : p + nlen].decode("utf-8", "replace")
            # an extra record of type 1 is file encryption
            extra = data[end - extra_size : end] if extra_size else b""
            if extra:
                _rsize, q = _vint(extra, 0)
                rtype, _ = _vint(extra, q)
                if rtype == 1:
                    info.encrypted = True
            if not _add_member(info, prefix + name, max_members):
                return
        elif kind == 5:  # end of archive
            return
        pos = end + data_size


_SECTOR = 2048


def _inspect_iso(data, prefix, info, max_members, max_depth) -> None:
    """File names of an ISO 9660 image, from the primary volume descriptor's directory tree."""
    pvd = 16 * _SECTOR
    if data[pvd : pvd + 6] != b"\x01CD001":
        raise ValueError("no primary volume descriptor at sector 16")
    root = pvd + 156
    lba, size = struct.unpack_from("<I", data, root + 2)[0], struct.unpack_from("<I", data, root + 10)[0]
    pending = [(lba, size, prefix, 1)]
    seen = set()
    while pending:
        lba, size, path, depth = pending.pop(0)
        if lba in seen:
            continue  # a directory that points back at an ancestor
        seen.add(lba)
        pos, end = lba * _SECTOR, min(lba * _SECTOR + size, len(data))
        if pos >= len(data):
            raise ValueError(f"directory at sector {lba} is past the end of the image")
        while pos < end:
            length = data[pos]
            if length == 0:  # records do not cross sectors: skip to the next one
                pos = (pos // _SECTOR + 1) * _SECTOR
                continue
            nlen = data[pos + 32]
            name = data[pos + 33 : pos + 33 + nlen]
            if name not in (b"\x00", b"\x01"):
                text = name.decode("latin-1").split(";", 1)[0]
                is_dir = bool(data[pos + 25] & 0x02)
                if not _add_member(info, path + text + ("/" if is_dir else ""), max_members):
                    return
                if is_dir and depth < max_depth:
                    child = struct.unpack_from("<I", data, pos + 2)[0], struct.unpack_from("<I", data, pos + 10)[0]
                    pending.append((*child, path + text + "/", depth + 1))
            pos += length


def _sevenzip_encrypted(data: bytes) -> bool:
    if len(data) < 32:
        return False
    offset, size = struct.unpack_from("<QQ", data, 12)
    header = data[32 + offset : 32 + offset + min(size, 1 << 20)]
    return b"\x06\xf1\x07\x01" in header  # the AES-256 coder id
