"""This module contains the one-call path of the signals: every group of this package in a
single kernel call over a PackedBatch.

A Numba call costs about 0.1 us per array argument (type check and unboxing), and
the five group kernels take ~230 arrays between them, so for one message the calls
cost more than the work. Here the batch goes as its PackedBatch (one text buffer,
flat offsets) and the tables as one blob per dtype (``KernelTables``), built once per
table set; ``_kernels.signals_kernel`` cuts them back into the arrays each group
kernel reads. The groups' own ``compute`` functions use this path too, with the
other groups switched off, so there is a single compiled kernel.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pyscore.batch import Layout, MessageBatch
from pyscore.signals import lists
from pyscore.signals.orgtables import OrgTables, org_tables
from pyscore.signals.registry import ScoringContext
from pyscore.signals.tables import Automaton


def _blob(parts: Sequence[np.ndarray], dtype) -> tuple[np.ndarray, np.ndarray]:
    """(one array holding the parts end to end, int64 directory: part k is blob[d[k]:d[k + 1]])."""
    arrays = [np.ascontiguousarray(p, dtype=dtype).reshape(-1) for p in parts]
    directory = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([a.shape[0] for a in arrays], out=directory[1:])
    blob = np.concatenate(arrays) if arrays else np.zeros(0, dtype)
    return np.ascontiguousarray(blob, dtype=dtype), directory


def _words(words: Sequence[bytes | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a word list, packed."""
    raw = [bytes(w) for w in words]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in raw], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(raw), dtype=np.uint8).copy()


def _vectors(a: Automaton) -> list[np.ndarray]:
    return [a.out_pat, a.dict_link, a.next_out, a.pat_len, a.pat_label]


@dataclass(frozen=True)
class KernelTables:
    """Every table the kernels read, as ``signals_kernel`` takes them."""

    arrays: tuple[np.ndarray, ...]  # u8, u8_dir, i32, i32_dir, i64, i64_dir, u64, u64_dir, fold, 5 tables, enabled


def build_kernel_tables(tables: OrgTables) -> KernelTables:
    from pyscore.signals import _kernels as k
    from pyscore.signals import attachments, content, headers, identity, links
    from pyscore.signals.textnorm import HTML_CAP, TEXT_CAP

    fold, flags = lists.char_tables()
    phrase, html, mailer = content.phrase_automaton(), content.html_automaton(), headers.mailer_automaton()
    url_words, brand = links.url_word_automaton(), tables.brand_automaton
    automata = {"p": phrase, "h": html, "m": mailer, "w": url_words, "b": brand}
    link_ext_keys, link_ext_values, link_risky = links.extension_map()
    att_ext_keys, att_ext_values, att_type_keys, att_type_values, att_compat, att_risky = \
        attachments.attachment_tables()
    name_keys, name_codes = headers.header_name_map()
    link_words_off, link_words = _words(links._WORDS)
    header_words_off, header_words = _words(headers._WORDS)
    reply_off, reply = _words(headers._REPLY)
    forward_off, forward = _words(headers._FORWARD)
    cats = lists.ATTACHMENT_CATEGORIES
    params = {"text_cap": TEXT_CAP, "html_cap": HTML_CAP, "n_families": len(lists.FAMILIES),
              "n_html": len(lists.HTML_FAMILIES), "callback": lists.FAMILIES.index("callback"),
              "n_mailer": len(lists.MAILER_FAMILIES), "n_categories": len(cats), "pdf_category": cats.index("pdf"),
              "archive_category": cats.index("archive"), "tiny_pdf": attachments.TINY_PDF_BYTES,
              "distance_cap": identity.DISTANCE_CAP, "phrase_max_len": max([1, *phrase.pat_len.tolist()]),
              "html_max_len": max([1, *html.pat_len.tolist()])}
    classes = {a: automata[a].byte_class for a in k.AUTOMATA}
    if int(html.byte_class.max()) >= k.HTML_SKIP:
        raise ValueError("html_tricks.txt: too many distinct bytes for the HTML automaton")
    classes["h"] = k.html_byte_class(html.byte_class)  # ac_scan_html reads the derived classes
    ascii_class, ascii_out = k.ascii_tables(fold, flags)
    u8 = {"flags": flags, **{f"{a}_class": classes[a] for a in k.AUTOMATA}, "ascii_class": ascii_class,
          "ascii_out": ascii_out,
          "link_risky": link_risky, "att_risky": att_risky, "has_own": tables.has_own, "has_vips": tables.has_vips,
          "has_finance": tables.has_finance, "brand_key_data": tables.brand_key_data,
          "own_label_data": tables.own_label_data, "vip_key_data": tables.vip_key_data,
          "brand_skel_data": tables.brand_skel_data, "own_skel_data": tables.own_skel_data,
          "link_words": link_words, "header_words": header_words, "reply": reply, "forward": forward}
    i32 = {**{f"{a}_{v}": arr for a in k.AUTOMATA
              for v, arr in zip(("out", "link", "next", "len", "label"), _vectors(automata[a]), strict=True)},
           "link_ext_values": link_ext_values, "att_ext_values": att_ext_values, "att_type_values": att_type_values,
           "header_name_codes": name_codes}
    i64 = {"params": np.array([params[p] for p in k.PARAMS], dtype=np.int64),
           "own_tenant_off": tables.own_tenant_off, "own_label_off": tables.own_label_off,
           "brand_key_off": tables.brand_key_off, "vip_tenant_off": tables.vip_tenant_off,
           "vip_key_off": tables.vip_key_off, "brand_skel_off": tables.brand_skel_off,
           "own_skel_off": tables.own_skel_off, "link_words_off": link_words_off,
           "header_words_off": header_words_off, "reply_off": reply_off, "forward_off": forward_off}
    lk, ek = tables.list_keys, tables.extra_keys
    u64 = {"tld": tables.tld_keys, **{n: lk[n] for n in (*lists.DOMAIN_LISTS, "suspicious_tlds")},
           **{f"{n}_x": ek[n] for n in (*lists.DOMAIN_LISTS, "suspicious_tlds")}, "legit": tables.legit_keys,
           "own": tables.own_keys, "vip_address": tables.vip_address_keys, "finance": tables.finance_keys,
           "link_ext_keys": link_ext_keys, "att_ext_keys": att_ext_keys, "att_type_keys": att_type_keys,
           "att_compat": att_compat, "header_name_keys": name_keys}
    blobs = []
    for names, parts, dtype in ((k.U8_PARTS, u8, np.uint8), (k.I32_PARTS, i32, np.int32),
                                (k.I64_PARTS, i64, np.int64), (k.U64_PARTS, u64, np.uint64)):
        blobs += _blob([parts[n] for n in names], dtype)  # KeyError here: a part named in _kernels is missing
    tables_2d = [np.ascontiguousarray(automata[a].table) for a in k.AUTOMATA]
    for a in ("p", "h", "m"):  # the tables of ac_scan(2) and ac_scan_html(2): premultiplied
        tables_2d[k.AUTOMATA.index(a)] = k.premultiplied(automata[a].table)
    enabled = np.ascontiguousarray(tables.brand_enabled, dtype=np.uint8)
    return KernelTables((*blobs, np.ascontiguousarray(fold), *tables_2d, enabled))


_KERNEL_TABLES: dict[int, tuple[OrgTables, KernelTables]] = {}


def kernel_tables(tables: OrgTables) -> KernelTables:
    """KernelTables of an OrgTables, built once per table set (OrgTables are cached, so
    their identity names a table set)."""
    hit = _KERNEL_TABLES.get(id(tables))
    if hit is None or hit[0] is not tables:
        if len(_KERNEL_TABLES) >= 64:
            _KERNEL_TABLES.clear()
        hit = _KERNEL_TABLES[id(tables)] = (tables, build_kernel_tables(tables))
    return hit[1]


_COLUMN_MAPS: dict[int, tuple[Layout, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}


def _index(names: Sequence[str], where: dict[str, int], what: str) -> np.ndarray:
    missing = [n for n in names if n not in where]
    if missing:
        raise KeyError(f"the batch has no {what} {missing[0]!r} (signals need {len(missing)} more)")
    return np.array([where[n] for n in names], dtype=np.int64)


def column_maps(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(string, number, group) indexes in the layout of the columns the kernels read."""
    hit = _COLUMN_MAPS.get(id(layout))
    if hit is None or hit[0] is not layout:
        from pyscore.signals import _kernels as k

        if len(_COLUMN_MAPS) >= 64:
            _COLUMN_MAPS.clear()
        maps = (_index(k.STR_COLS, layout.strings, "string column"),
                _index(k.NUM_COLS, layout.numbers, "number column"),
                _index(k.GROUPS, layout.groups, "list group"))
        hit = _COLUMN_MAPS[id(layout)] = (layout, maps)
    return hit[1]


_scratch = threading.local()


def _buffer() -> np.ndarray:
    """A per-thread scratch buffer for the normalised texts, allocated once."""
    buf = getattr(_scratch, "buf", None)
    if buf is None:
        from pyscore.signals.textnorm import HTML_CAP, TEXT_CAP

        buf = _scratch.buf = np.empty(2 * max(TEXT_CAP, HTML_CAP) + 16, dtype=np.uint8)
    return buf


_BLOCKS: dict[tuple, tuple[np.ndarray, int]] = {}


def _blocks(starts: dict[str, int]) -> tuple[np.ndarray, int]:
    """(signals_kernel's blocks argument for these group starts, columns they need);
    cached: the registry asks for the same starts every call."""
    key = tuple(starts.items())
    hit = _BLOCKS.get(key)
    if hit is None:
        from pyscore.signals import _kernels

        unknown = sorted(set(starts) - set(_kernels.GROUP_ORDER))
        if unknown:
            raise ValueError(f"signals: no kernel fills the group(s) {unknown}")
        blocks = np.full(2 * len(_kernels.GROUP_ORDER), -1, dtype=np.int64)
        for g, name in enumerate(_kernels.GROUP_ORDER):
            if name in starts:
                if starts[name] < 0:
                    raise ValueError(f"signals: group {name} starts at column {starts[name]}")
                blocks[2 * g : 2 * g + 2] = starts[name], _widths()[name]
        blocks.setflags(write=False)
        if len(_BLOCKS) >= 64:
            _BLOCKS.clear()
        hit = _BLOCKS[key] = (blocks, max([0, *(int(blocks[i] + blocks[i + 1]) for i in range(0, len(blocks), 2))]))
    return hit


_F32 = np.dtype(np.float32)
_LAST: tuple = (None, None, None)  # (starts dict, a copy of it, _blocks of it): the registry asks the same every call


def compute_blocks(batch: MessageBatch, context: ScoringContext, out: np.ndarray, starts: dict[str, int]) -> None:
    """Fill the blocks of the groups named in ``starts`` (group -> first column in out;
    each block is as wide as the group's signals) with one kernel call."""
    # The one-message path: every lookup here is cached, since for one message the
    # Python around the kernel costs as much as the kernel's own work.
    global _LAST
    last = _LAST  # one tuple, replaced whole: threads never see half an update
    if starts is last[0] and starts == last[1]:
        blocks, width = last[2]
    else:
        blocks, width = _blocks(starts)
        _LAST = (starts, dict(starts), (blocks, width))
    n = len(batch)
    if out.dtype != _F32 or out.ndim != 2 or not out.flags.c_contiguous or out.shape[0] != n:
        raise ValueError(f"signals: out must be a C-contiguous float32 matrix with {n} rows")
    if out.shape[1] < width:
        raise ValueError(f"signals: out has {out.shape[1]} columns, too few for the blocks {starts}")
    packed = batch.packed
    tables, tenant_of = org_tables(context)
    s_idx, n_idx, g_idx, fixed = _call_args(packed.layout, tables, blocks)
    _kernel()(packed.text, packed.offsets, packed.string_start, s_idx, packed.numbers, packed.number_start, n_idx,
              packed.group_offsets, g_idx, tenant_of, *fixed, out)


def _call_args(layout: Layout, tables: OrgTables, blocks: np.ndarray) -> tuple:
    """(s_idx, n_idx, g_idx, the kernel's arguments after tenant_of but out) for this layout,
    table set and blocks: the same from call to call, so kept per thread (with the thread's buffer)."""
    last = getattr(_scratch, "args", None)
    if last is not None and last[0] is layout and last[1] is tables and last[2] is blocks:
        return last[3]
    args = (*column_maps(layout), (*kernel_tables(tables).arrays, blocks, _buffer()))
    _scratch.args = (layout, tables, blocks, args)
    return args


@functools.cache
def _kernel():
    """_kernels.signals_kernel, imported on first use (importing numba takes a while)."""
    from pyscore.signals import _kernels

    return _kernels.signals_kernel


def group_compute(name: str):
    """The compute function of one group: its block alone, through the same kernel."""
    def compute(batch: MessageBatch, context: ScoringContext, out: np.ndarray) -> None:
        if out.flags.c_contiguous and out.dtype == np.float32:
            compute_blocks(batch, context, out, {name: 0})
        else:
            block = np.full(out.shape, np.nan, dtype=np.float32)
            compute_blocks(batch, context, block, {name: 0})
            out[...] = block

    compute.__name__ = f"compute_{name}"
    return compute


@functools.cache
def _widths() -> dict[str, int]:
    from pyscore.signals import attachments, content, headers, identity, links

    return {"content": len(content.SIGNALS), "links": len(links.SIGNALS), "attachments": len(attachments.SIGNALS),
            "headers": len(headers.SIGNALS), "identity": len(identity.SIGNALS)}
