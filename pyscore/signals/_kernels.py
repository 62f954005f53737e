# ruff: noqa: SIM110  (explicit loops: Numba compiles them, not all() over generators)
"""This module contains the Numba kernels of the signals (one file, so that the
on-disk cache of every kernel is invalidated together when any of them changes).

Kernels read ``StringColumn`` arrays (``offsets`` int64, ``data`` uint8) and
list-group offsets straight from a ``MessageBatch``, and fill a float32 block
that the caller allocated. They never allocate per message except small
scratch buffers allocated once per call. Their definitions are the ones of
the pure-Python reference in ``pyscore/signals/reference.py``; the tests hold
the two to the same values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NAN = np.float32(np.nan)
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
SALT = np.uint64(0x9E3779B97F4A7C15)

F_ALPHA, F_UPPER, F_ZERO_WIDTH, F_INVISIBLE, F_CONFUSABLE, F_SPACE, F_BIDI = 1, 2, 4, 8, 16, 32, 64


# ---------------------------------------------------------------- primitives


@njit(cache=True, inline="always")
def lower(b):
    return b + 32 if 65 <= b <= 90 else b


@njit(cache=True, inline="always")
def is_alnum(b):
    return (48 <= b <= 57) or (97 <= b <= 122) or (65 <= b <= 90)


@njit(cache=True, inline="always")
def is_digit(b):
    return 48 <= b <= 57


@njit(cache=True)
def fnv(data, a, b):
    """FNV-1a of data[a:b], ASCII letters lower-cased."""
    h = FNV_OFFSET
    for i in range(a, b):
        h = (h ^ np.uint64(lower(data[i]))) * FNV_PRIME
    return h


@njit(cache=True)
def fnv_continue(h, data, a, b):
    for i in range(a, b):
        h = (h ^ np.uint64(lower(data[i]))) * FNV_PRIME
    return h


@njit(cache=True, inline="always")
def salt(h, tenant):
    return h ^ (np.uint64(tenant + 1) * SALT)


@njit(cache=True)
def in_set(h, keys):
    if keys.shape[0] == 0:
        return False
    i = np.searchsorted(keys, h)
    return i < keys.shape[0] and keys[i] == h


@njit(cache=True)
def map_get(h, keys, values, default):
    if keys.shape[0] == 0:
        return default
    i = np.searchsorted(keys, h)
    if i < keys.shape[0] and keys[i] == h:
        return values[i]
    return default


@njit(cache=True)
def domain_in_set(data, a, b, keys, tenant_keys, tenant):
    """True when data[a:b] or one of its dot-suffixes (a parent domain) is in keys,
    or in tenant_keys salted with the tenant."""
    if b <= a:
        return False
    i = a
    while i < b:
        h = fnv(data, i, b)
        if in_set(h, keys) or in_set(salt(h, tenant), tenant_keys):
            return True
        while i < b and data[i] != 46:  # '.'
            i += 1
        i += 1
    return False


@njit(cache=True)
def same_org(data, a, b, rdata, ra, rb):
    """data[a:b] equals the root domain rdata[ra:rb] or is a sub-domain of it (ASCII case-insensitive)."""
    n = b - a
    m = rb - ra
    if m == 0 or n < m:
        return False
    for k in range(m):
        if lower(data[b - m + k]) != lower(rdata[ra + k]):
            return False
    return n == m or data[b - m - 1] == 46


@njit(cache=True)
def bytes_equal(x, xa, xb, y, ya, yb):
    if xb - xa != yb - ya:
        return False
    for k in range(xb - xa):
        if lower(x[xa + k]) != lower(y[ya + k]):
            return False
    return True


@njit(cache=True)
def contains(data, a, b, pat):
    """pat (lower-case bytes) occurs in data[a:b], ASCII case-insensitive."""
    m = pat.shape[0]
    for i in range(a, b - m + 1):
        ok = True
        for k in range(m):
            if lower(data[i + k]) != pat[k]:
                ok = False
                break
        if ok:
            return True
    return False


@njit(cache=True)
def count_byte(data, a, b, c):
    n = 0
    for i in range(a, b):
        if data[i] == c:
            n += 1
    return n


@njit(cache=True)
def decode(data, i, end):
    """(code point, next index) of the UTF-8 character at i; cp -1 when cut by end."""
    b0 = data[i]
    if b0 < 0x80:
        return np.int64(b0), i + 1
    if b0 >= 0xF0:
        k = 3
        cp = np.int64(b0 & 0x07)
    elif b0 >= 0xE0:
        k = 2
        cp = np.int64(b0 & 0x0F)
    elif b0 >= 0xC0:
        k = 1
        cp = np.int64(b0 & 0x1F)
    else:
        return np.int64(0xFFFD), i + 1  # stray continuation byte
    if i + k >= end:
        return np.int64(-1), end
    for j in range(1, k + 1):
        cp = (cp << 6) | np.int64(data[i + j] & 0x3F)
    return cp, i + k + 1


@njit(cache=True)
def emit_utf8(cp, buf, n):
    if cp < 0x80:
        buf[n] = cp
        return n + 1
    if cp < 0x800:
        buf[n] = 0xC0 | (cp >> 6)
        buf[n + 1] = 0x80 | (cp & 0x3F)
        return n + 2
    if cp < 0x10000:
        buf[n] = 0xE0 | (cp >> 12)
        buf[n + 1] = 0x80 | ((cp >> 6) & 0x3F)
        buf[n + 2] = 0x80 | (cp & 0x3F)
        return n + 3
    buf[n] = 0xF0 | (cp >> 18)
    buf[n + 1] = 0x80 | ((cp >> 12) & 0x3F)
    buf[n + 2] = 0x80 | ((cp >> 6) & 0x3F)
    buf[n + 3] = 0x80 | (cp & 0x3F)
    return n + 4


# Indices into the stats array that normalize_into fills.
S_CP, S_ALPHA, S_UPPER, S_NONASCII, S_ZW, S_INVIS, S_BIDI, S_DIGIT, S_EXCL, S_WORDS, S_MIXED = range(11)
N_STATS = 11


# ASCII byte classes of normalize_into's fast path (ascii_tables).
A_SPACE, A_ALPHA, A_UPPER, A_DIGIT, A_EXCL, A_WORD = 1, 2, 4, 8, 16, 32


@njit(cache=True)
def ascii_tables(fold, flags):
    """(class bits A_*, output byte: fold, or a space for whitespace) of the 128 ASCII bytes."""
    cls = np.zeros(128, dtype=np.uint8)
    outb = np.zeros(128, dtype=np.uint8)
    for c in range(128):
        t = 0
        if flags[c] & F_SPACE:
            t = A_SPACE
        elif (65 <= c <= 90) or (97 <= c <= 122):
            t = A_ALPHA | A_WORD
            if c <= 90:
                t |= A_UPPER
        elif 48 <= c <= 57:
            t = A_DIGIT | A_WORD
        elif c == 33:
            t = A_EXCL
        cls[c] = t
        outb[c] = 32 if t & A_SPACE else fold[c]
    return cls, outb


@njit(cache=True)
def _all_ascii(data, a, end):
    acc = np.uint8(0)
    for i in range(a, end):
        acc |= data[i]
    return acc < 0x80


@njit(cache=True)
def _ascii_normalize(data, a, end, acls, aout, buf, stats):
    """normalize_into for an all-ASCII data[a:end]: the statistics in one loop without
    stores (LLVM vectorises it), the normal form in a second one; same results as the
    general loop, which no confusable or invisible character can reach here."""
    n_alpha = n_upper = n_digit = n_excl = n_words = 0
    prev = 0
    for i in range(a, end):
        c = np.int64(data[i])
        up = 1 if 65 <= c <= 90 else 0
        lo = 1 if 97 <= c <= 122 else 0
        dg = 1 if 48 <= c <= 57 else 0
        w = up | lo | dg
        n_alpha += up + lo
        n_upper += up
        n_digit += dg
        n_excl += 1 if c == 33 else 0
        n_words += w & (1 - prev)
        prev = w
    n = 0
    last_space = 1
    for i in range(a, end):
        c = data[i]
        sp = np.int64(acls[c] & A_SPACE)
        buf[n] = aout[c]
        n += 1 - (sp & last_space)
        last_space = sp
    stats[S_CP] += end - a
    stats[S_ALPHA] += n_alpha
    stats[S_UPPER] += n_upper
    stats[S_DIGIT] += n_digit
    stats[S_EXCL] += n_excl
    stats[S_WORDS] += n_words
    return n


@njit(cache=True)
def normalize_into(data, a, b, cap, fold, flags, acls, aout, buf, stats):
    """Write the normal form of data[a:b] (textnorm.normalize_text) into buf, return
    its length; add character and word statistics of the raw text into stats.
    acls, aout: ascii_tables(fold, flags). buf: 2 * cap + 16 bytes (folding may lengthen a
    character; the ASCII loop stores a space before knowing whether it keeps it)."""
    end = min(b, a + cap)
    if _all_ascii(data, a, end):
        return _ascii_normalize(data, a, end, acls, aout, buf, stats)
    n = 0
    # word state as 0/1 integers: the ASCII loop updates it without branches, since
    # branches on letter / space / punctuation mispredict at every word boundary
    last_space = 1
    in_word = 0
    word_ascii = 0
    word_conf = 0
    # local counters: stores to stats inside the loop would alias buf and stay in memory
    n_cp = n_alpha = n_upper = n_nonascii = n_zw = n_invis = n_bidi = n_digit = n_excl = 0
    n_words = n_mixed = 0
    i = a
    while i < end:
        while i < end:  # ASCII run
            b0 = data[i]
            if b0 >= 0x80:
                break
            i += 1
            t = np.int64(acls[b0])
            sp = t & A_SPACE
            w = (t >> 5) & 1
            alpha = (t >> 1) & 1
            n_alpha += alpha
            n_upper += (t >> 2) & 1
            n_digit += (t >> 3) & 1
            n_excl += (t >> 4) & 1
            start = w & (1 - in_word)
            n_words += start
            n_mixed += (1 - w) & in_word & word_ascii & word_conf
            word_ascii = (word_ascii & (1 - start)) | alpha
            word_conf = word_conf & (1 - start)
            in_word = w
            buf[n] = aout[b0]
            n += 1 - (sp & last_space)
            last_space = sp
            n_cp += 1
        if i >= end:
            break
        cp, i = decode(data, i, end)
        if cp < 0:
            break
        fl = np.int64(flags[cp]) if cp < 0x10000 else np.int64(0)
        n_cp += 1
        n_nonascii += 1
        if fl & F_ZERO_WIDTH:
            n_zw += 1
            continue
        if fl & F_INVISIBLE:
            n_invis += 1
            if fl & F_BIDI:
                n_bidi += 1
            continue
        if fl & F_ALPHA:
            n_alpha += 1
            if fl & F_UPPER:
                n_upper += 1
            if not in_word:
                in_word = 1
                word_ascii = 0
                word_conf = 0
                n_words += 1
            if fl & F_CONFUSABLE:
                word_conf = 1
        else:
            n_mixed += in_word & word_ascii & word_conf
            in_word = 0
        if fl & F_SPACE:
            if not last_space:
                buf[n] = 32
                n += 1
                last_space = 1
            continue
        f = np.int64(fold[cp]) if cp < 0x10000 else cp
        n = emit_utf8(f, buf, n)
        last_space = 0
    n_mixed += in_word & word_ascii & word_conf
    stats[S_CP] += n_cp
    stats[S_ALPHA] += n_alpha
    stats[S_UPPER] += n_upper
    stats[S_NONASCII] += n_nonascii
    stats[S_ZW] += n_zw
    stats[S_INVIS] += n_invis
    stats[S_BIDI] += n_bidi
    stats[S_DIGIT] += n_digit
    stats[S_EXCL] += n_excl
    stats[S_WORDS] += n_words
    stats[S_MIXED] += n_mixed
    return n


@njit(cache=True)
def _count_ending(state, i, buf, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts):
    """Count every pattern ending at state after buf[i] (its own, then along dict_link); with
    boundary, only those that begin a word (previous byte not [a-z0-9])."""
    s = state if out_pat[state] >= 0 else dict_link[state]
    while s > 0:
        p = out_pat[s]
        while p >= 0:
            ok = True
            if boundary:
                start = i - pat_len[p] + 1
                if start > 0:
                    prev = buf[start - 1]
                    if (48 <= prev <= 57) or (97 <= prev <= 122):
                        ok = False
            if ok:
                counts[pat_label[p]] += 1
            p = next_out[p]
        s = dict_link[s]


@njit(cache=True)
def ac_scan(buf, n, byte_class, table, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts):
    """Count every occurrence of every pattern in buf[:n] into counts[label]. With
    boundary, a match counts only where it begins a word (previous byte not [a-z0-9]).
    table is premultiplied(automaton table): a negative entry ~t marks a move to the
    state at row offset t where some pattern ends."""
    flat = table.reshape(table.size)
    ncls = table.shape[1]
    off = np.int64(0)
    for i in range(n):
        nxt = np.int64(flat[off + byte_class[buf[i]]])
        if nxt >= 0:
            off = nxt
        else:
            off = ~nxt
            _count_ending(off // ncls, i, buf, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts)


HTML_SKIP = 255  # class of the bytes that normalize_html drops (ASCII whitespace)


def html_byte_class(byte_class):
    """The byte classes of an automaton over normalize_html's form, for ac_scan_html: ASCII
    upper case mapped to the class of its lower case, whitespace to HTML_SKIP."""
    out = byte_class.copy()
    out[65:91] = byte_class[97:123]
    for b in (9, 10, 11, 12, 13, 32):
        out[b] = HTML_SKIP
    return out


def premultiplied(table):
    """The transition table of ac_scan_html: entry t (~t) becomes t * classes (~ of it), the
    offset of row t in the flattened table, so a scan step is one add and one load (no
    multiply on the chain of dependent loads)."""
    t = table.astype(np.int64)
    rows = np.where(t >= 0, t, ~t) * t.shape[1]
    out = np.where(t >= 0, rows, ~rows)
    dtype = np.int16 if rows.max(initial=0) < 32768 else np.int32
    return np.ascontiguousarray(out.astype(dtype))


@njit(cache=True)
def _count_from(state, out_pat, dict_link, next_out, pat_label, counts):
    """Count every pattern ending at state (its own, then along dict_link)."""
    s = state if out_pat[state] >= 0 else dict_link[state]
    while s > 0:
        p = out_pat[s]
        while p >= 0:
            counts[pat_label[p]] += 1
            p = next_out[p]
        s = dict_link[s]


@njit(cache=True)
def ac_scan_html(data, a, b, cap, byte_class, table, out_pat, dict_link, next_out, pat_label, counts):
    """ac_scan without boundaries over html's normal form (textnorm.normalize_html) of
    data[a:b], fused: byte_class is html_byte_class(...) (lower-cases ASCII, marks the
    whitespace to skip), first cap bytes; table is premultiplied(automaton table)."""
    flat = table.reshape(table.size)
    ncls = table.shape[1]
    off = np.int64(0)
    for i in range(a, min(b, a + cap)):
        cl = byte_class[data[i]]
        if cl == HTML_SKIP:
            continue
        nxt = np.int64(flat[off + cl])
        if nxt >= 0:
            off = nxt
            continue
        off = ~nxt
        _count_from(off // ncls, out_pat, dict_link, next_out, pat_label, counts)


# Two-stream scans. An automaton scan is a chain of dependent loads (state -> table ->
# state), so one stream leaves the CPU waiting; the *2 scans run the first and second
# half of a text as two independent chains in one loop. The second stream starts
# longest-pattern - 1 bytes before the middle and counts only matches ending at or
# after it, the first stops at the middle: every match is counted once, as by one scan.
TWO_STREAMS_FROM = 512  # bytes; shorter texts are scanned as one stream


@njit(cache=True)
def ac_scan2(buf, n, byte_class, table, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts,
             max_len):
    """ac_scan(buf, n, ...) in two streams; max_len: the longest pattern. The step is
    written out in each stream (see ac_scan_html2)."""
    if n < TWO_STREAMS_FROM or n < 4 * max_len:
        ac_scan(buf, n, byte_class, table, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts)
        return
    flat = table.reshape(table.size)
    ncls = table.shape[1]
    mid = n // 2
    b0 = max(0, mid - (max_len - 1))
    sa = np.int64(0)
    sb = np.int64(0)
    steps = mid  # stream B is at least as long as stream A
    for k in range(steps):
        i = k
        j = b0 + k
        nxt = np.int64(flat[sa + byte_class[buf[i]]])
        if nxt >= 0:
            sa = nxt
        else:
            sa = ~nxt
            _count_ending(sa // ncls, i, buf, out_pat, dict_link, next_out, pat_len, pat_label, boundary, counts)
        nxt = np.int64(flat[sb + byte_class[buf[j]]])
        if nxt >= 0:
            sb = nxt
        else:
            sb = ~nxt
            if j >= mid:
                _count_ending(sb // ncls, j, buf, out_pat, dict_link, next_out, pat_len, pat_label, boundary,
                              counts)
    for j in range(b0 + steps, n):
        nxt = np.int64(flat[sb + byte_class[buf[j]]])
        if nxt >= 0:
            sb = nxt
        else:
            sb = ~nxt
            if j >= mid:
                _count_ending(sb // ncls, j, buf, out_pat, dict_link, next_out, pat_len, pat_label, boundary,
                              counts)


@njit(cache=True)
def ac_scan_html2(data, a, b, cap, byte_class, table, out_pat, dict_link, next_out, pat_label, counts, max_len):
    """ac_scan_html in two streams; the second starts where max_len - 1 kept (not
    skipped) bytes precede the middle. The step is written out in each stream: as an
    inlined helper taking the arrays, Numba keeps reference counting in the loop."""
    end = min(b, a + cap)
    if end - a < TWO_STREAMS_FROM or end - a < 4 * max_len:
        ac_scan_html(data, a, b, cap, byte_class, table, out_pat, dict_link, next_out, pat_label, counts)
        return
    flat = table.reshape(table.size)
    ncls = table.shape[1]
    mid = a + (end - a) // 2
    b0 = mid
    need = max_len - 1
    while b0 > a and need > 0:
        b0 -= 1
        if byte_class[data[b0]] != HTML_SKIP:
            need -= 1
    sa = np.int64(0)
    sb = np.int64(0)
    steps = mid - a
    for k in range(steps):
        i = a + k
        j = b0 + k
        cl = byte_class[data[i]]
        if cl != HTML_SKIP:
            nxt = np.int64(flat[sa + cl])
            if nxt >= 0:
                sa = nxt
            else:
                sa = ~nxt
                _count_from(sa // ncls, out_pat, dict_link, next_out, pat_label, counts)
        cl = byte_class[data[j]]
        if cl != HTML_SKIP:
            nxt = np.int64(flat[sb + cl])
            if nxt >= 0:
                sb = nxt
            else:
                sb = ~nxt
                if j >= mid:
                    _count_from(sb // ncls, out_pat, dict_link, next_out, pat_label, counts)
    for j in range(b0 + steps, end):
        cl = byte_class[data[j]]
        if cl != HTML_SKIP:
            nxt = np.int64(flat[sb + cl])
            if nxt >= 0:
                sb = nxt
            else:
                sb = ~nxt
                if j >= mid:
                    _count_from(sb // ncls, out_pat, dict_link, next_out, pat_label, counts)


@njit(cache=True)
def ac_step(state, c, byte_class, table, out_pat, dict_link, next_out, pat_label, hits):
    """One byte through the automaton without boundaries; marks hits[label] = 1."""
    nxt = table[state, byte_class[c]]
    if nxt >= 0:
        return np.int64(nxt)
    state = np.int64(~nxt)
    s = state if out_pat[state] >= 0 else dict_link[state]
    while s > 0:
        p = out_pat[s]
        while p >= 0:
            hits[pat_label[p]] = 1
            p = next_out[p]
        s = dict_link[s]
    return state


@njit(cache=True)
def ac_any(data, a, b, byte_class, table, out_pat, dict_link, next_out, pat_label, hits):
    """hits[label] = 1 for each label with a pattern inside data[a:b] (ASCII lower-cased)."""
    state = 0
    for i in range(a, b):
        state = ac_step(state, lower(data[i]), byte_class, table, out_pat, dict_link, next_out, pat_label, hits)
    return state


@njit(cache=True, inline="always")
def _is_phone_sep(c):
    return c == 32 or c == 46 or c == 45 or c == 40 or c == 41  # space . - ( )


@njit(cache=True)
def _money_marker(buf, n, i):
    """Length of a currency marker starting at i (0 when none): $ £ ¥ € ₹, or usd eur gbp
    brl btc as a whole word."""
    c = buf[i]
    if c == 36:  # $
        return 1
    if c == 0xC2:
        return 2 if i + 1 < n and (buf[i + 1] == 0xA3 or buf[i + 1] == 0xA5) else 0  # £ ¥
    if c == 0xE2:
        return 3 if i + 2 < n and buf[i + 1] == 0x82 and (buf[i + 2] == 0xAC or buf[i + 2] == 0xB9) else 0  # € ₹
    if i + 3 > n or (i > 0 and ((48 <= buf[i - 1] <= 57) or (97 <= buf[i - 1] <= 122))):
        return 0
    if i + 3 < n and ((48 <= buf[i + 3] <= 57) or (97 <= buf[i + 3] <= 122)):
        return 0
    a1, a2 = buf[i + 1], buf[i + 2]
    if (c == 117 and a1 == 115 and a2 == 100) or (c == 101 and a1 == 117 and a2 == 114) or \
       (c == 103 and a1 == 98 and a2 == 112) or (c == 98 and a1 == 114 and a2 == 108) or \
       (c == 98 and a1 == 116 and a2 == 99):  # usd eur gbp brl btc
        return 3
    return 0


@njit(cache=True, inline="always")
def _marker_len_by_last(c):
    """Length of the currency marker whose last byte is c (0: none ends so)."""
    if c == 36:  # $
        return 1
    if c == 0xA3 or c == 0xA5:  # £ ¥
        return 2
    if c == 0xAC or c == 0xB9 or c == 100 or c == 114 or c == 112 or c == 108 or c == 99:  # € ₹ usd eur gbp brl btc
        return 3
    return 0


@njit(cache=True)
def count_phones_money(buf, n):
    """(phone numbers, money amounts) in normalised text buf[:n], in one pass over its digit runs.

    Phones: digit([ .-()]{0,2}digit)* holding 10-15 digits. Money: currency markers next
    to a digit, directly or across one space, on either side. Markers never overlap and
    hold no digit or space, so a run of digits has one candidate marker after it (at its
    end, or one space further) and one before it (ending at its start or one space
    earlier; the last byte tells the marker's length); a marker between two runs is
    the candidate of both and counts once."""
    phones = 0
    money = 0
    chain = 0  # digits of the phone candidate in progress (0: none)
    chain_end = -10  # end of its last digit run
    last = -1  # start of the last marker counted
    i = 0
    while True:
        while i < n and not (48 <= buf[i] <= 57):
            i += 1
        if i >= n:
            break
        r0 = i
        while i < n and 48 <= buf[i] <= 57:
            i += 1
        r1 = i
        # phones: the run extends the chain when 1-2 separators part them
        gap = r0 - chain_end
        if chain > 0 and gap <= 2 and _is_phone_sep(buf[chain_end]) and \
                (gap == 1 or _is_phone_sep(buf[chain_end + 1])):
            chain += r1 - r0
        else:
            if 10 <= chain <= 15:
                phones += 1
            chain = r1 - r0
        chain_end = r1
        # money: a marker ending at r0, or at r0 - 1 before a space
        e = r0 - 1 if (r0 >= 1 and buf[r0 - 1] == 32) else r0
        if e >= 1:
            m = _marker_len_by_last(buf[e - 1])
            s = e - m
            if m > 0 and s >= 0 and s != last and _money_marker(buf, n, s) == m:
                money += 1
                last = s
        # money: a marker starting at r1, or at r1 + 1 after a space
        s = r1 + 1 if (r1 < n and buf[r1] == 32) else r1
        if s < n and s != last and _money_marker(buf, n, s) > 0:
            money += 1
            last = s
    if 10 <= chain <= 15:
        phones += 1
    return phones, money


@njit(cache=True)
def find_domain_token(data, a, b, tld_keys):
    """(start, end) of the first domain-looking token in data[a:b], or (-1, -1).

    A token is a maximal run of [A-Za-z0-9.-], trimmed of '.' and '-' at both
    ends, holding a '.', whose last label is 2+ letters and a known TLD."""
    i = a
    while i < b:
        c = data[i]
        if not (is_alnum(c) or c == 46 or c == 45):
            i += 1
            continue
        j = i
        while j < b and (is_alnum(data[j]) or data[j] == 46 or data[j] == 45):
            j += 1
        s = i
        e = j
        while s < e and (data[s] == 46 or data[s] == 45):
            s += 1
        while e > s and (data[e - 1] == 46 or data[e - 1] == 45):
            e -= 1
        dot = -1
        for k in range(e - 1, s - 1, -1):
            if data[k] == 46:
                dot = k
                break
        if dot > s and e - dot - 1 >= 2:
            letters = True
            for k in range(dot + 1, e):
                c2 = data[k]
                if not ((65 <= c2 <= 90) or (97 <= c2 <= 122)):
                    letters = False
                    break
            if letters and in_set(fnv(data, dot + 1, e), tld_keys):
                return s, e
        i = j
    return -1, -1


@njit(cache=True)
def edit_distance(x, xa, xb, y, ya, yb, cap, row):
    """Levenshtein distance of x[xa:xb] and y[ya:yb], at most cap (row: scratch >= len(y) + 1)."""
    n = xb - xa
    m = yb - ya
    if abs(n - m) >= cap:
        return cap
    for j in range(m + 1):
        row[j] = j
    for i in range(1, n + 1):
        prev = row[0]
        row[0] = i
        best = row[0]
        for j in range(1, m + 1):
            cur = row[j]
            cost = 0 if x[xa + i - 1] == y[ya + j - 1] else 1
            v = prev + cost
            if row[j] + 1 < v:
                v = row[j] + 1
            if row[j - 1] + 1 < v:
                v = row[j - 1] + 1
            row[j] = v
            prev = cur
            if v < best:
                best = v
        if best >= cap:
            return cap
    return min(row[m], cap)


@njit(cache=True)
def skeleton_into(data, a, b, fold, buf):
    """The look-alike skeleton of a domain label data[a:b] into buf; returns its length.

    Characters go through the fold table, then left to right: "rn"->m,
    "vv"->w, "cl"->d, 0->o, 1->l, i->l, 3->e, 5->s, '-' and '_' dropped."""
    n0 = 0
    tmp = buf[buf.shape[0] // 2 :]
    b = min(b, a + 600)  # reference.LABEL_CAP: the folded label fits half of buf (4096)
    i = a
    while i < b:
        cp, i = decode(data, i, b)
        if cp < 0:
            break
        f = np.int64(fold[cp]) if cp < 0x10000 else cp
        n0 = emit_utf8(f, tmp, n0)
    n = 0
    k = 0
    while k < n0:
        c = tmp[k]
        if k + 1 < n0:
            d = tmp[k + 1]
            if c == 114 and d == 110:
                buf[n] = 109
                n += 1
                k += 2
                continue
            if c == 118 and d == 118:
                buf[n] = 119
                n += 1
                k += 2
                continue
            if c == 99 and d == 108:
                buf[n] = 100
                n += 1
                k += 2
                continue
        k += 1
        if c == 45 or c == 95:
            continue
        if c == 48:
            c = 111
        elif c == 49 or c == 105:
            c = 108
        elif c == 51:
            c = 101
        elif c == 53:
            c = 115
        buf[n] = c
        n += 1
    return n


# ---------------------------------------------------------------- content


@njit(cache=True)
def _ratio(num, den):
    return NAN if den == 0 else np.float32(num / den)


@njit(cache=True)
def content_kernel(text, subj_off, text_off, htext_off, html_off, fold, flags, acls, aout, text_cap, html_cap,
                   p_class, p_table, p_out, p_link, p_next, p_len, p_label, n_fam, h_class, h_table, h_out, h_link,
                   h_next, h_len, h_label, n_html, callback, p_max, h_max, buf, out):
    """Fills the content block; column order is content.SIGNALS. buf: scratch of
    at least 2 * max(text_cap, html_cap) + 16 bytes; p_max, h_max: the longest phrase
    and HTML pattern; acls, aout: ascii_tables(fold, flags)."""
    # every string column lives in the one text buffer (one argument, not one per column)
    subj_data = text
    text_data = text
    htext_data = text
    html_data = text
    n_msg = subj_off.shape[0] - 1
    stats = np.zeros(N_STATS, dtype=np.int64)
    fam_body = np.zeros(n_fam, dtype=np.int64)
    fam_subj = np.zeros(n_fam, dtype=np.int64)
    html_counts = np.zeros(n_html, dtype=np.int64)
    for m in range(n_msg):
        # subject
        stats[:] = 0
        fam_subj[:] = 0
        n = normalize_into(subj_data, subj_off[m], subj_off[m + 1], text_cap, fold, flags, acls, aout, buf, stats)
        ac_scan(buf, n, p_class, p_table, p_out, p_link, p_next, p_len, p_label, True, fam_subj)
        subj_phones, money = count_phones_money(buf, n)
        out[m, 0] = stats[S_CP]
        out[m, 1] = _ratio(stats[S_UPPER], stats[S_ALPHA])
        out[m, 2] = _ratio(stats[S_NONASCII], stats[S_CP])
        out[m, 3] = stats[S_ZW] + stats[S_INVIS]
        out[m, 4] = stats[S_MIXED]
        out[m, 5] = stats[S_EXCL]
        # body: the text part, or the rendered HTML when there is none
        stats[:] = 0
        fam_body[:] = 0
        if text_off[m + 1] > text_off[m]:
            n = normalize_into(text_data, text_off[m], text_off[m + 1], text_cap, fold, flags, acls, aout, buf,
                               stats)
        else:
            n = normalize_into(htext_data, htext_off[m], htext_off[m + 1], text_cap, fold, flags, acls, aout, buf,
                               stats)
        ac_scan2(buf, n, p_class, p_table, p_out, p_link, p_next, p_len, p_label, True, fam_body, p_max)
        phones, body_money = count_phones_money(buf, n)
        phones += subj_phones
        money += body_money
        out[m, 6] = stats[S_CP]
        out[m, 7] = stats[S_WORDS]
        out[m, 8] = _ratio(stats[S_UPPER], stats[S_ALPHA])
        out[m, 9] = _ratio(stats[S_NONASCII], stats[S_CP])
        out[m, 10] = _ratio(stats[S_DIGIT], stats[S_CP])
        out[m, 11] = stats[S_EXCL]
        out[m, 12] = stats[S_ZW]
        out[m, 13] = stats[S_INVIS]
        out[m, 14] = stats[S_BIDI]
        out[m, 15] = stats[S_MIXED]
        out[m, 16] = _ratio(stats[S_MIXED], stats[S_WORDS])
        out[m, 17] = money
        out[m, 18] = phones
        out[m, 19] = 1.0 if subj_phones > 0 else 0.0
        families = 0
        for f in range(n_fam):
            total = fam_body[f] + fam_subj[f]
            if total > 0:
                families += 1
            out[m, 22 + f] = total
            out[m, 22 + n_fam + f] = 1.0 if fam_subj[f] > 0 else 0.0
        out[m, 20] = families
        out[m, 21] = 1.0 if (fam_body[callback] + fam_subj[callback]) > 0 and phones > 0 else 0.0
        # HTML
        base = 22 + 2 * n_fam
        h_len_raw = html_off[m + 1] - html_off[m]
        html_counts[:] = 0
        if h_len_raw > 0:
            ac_scan_html2(html_data, html_off[m], html_off[m + 1], html_cap, h_class, h_table, h_out, h_link,
                          h_next, h_label, html_counts, h_max)
            out[m, base] = 1.0
            out[m, base + 1] = h_len_raw
            out[m, base + 2] = np.float32((htext_off[m + 1] - htext_off[m]) / h_len_raw)
        else:
            out[m, base] = 0.0
            out[m, base + 1] = 0.0
            out[m, base + 2] = NAN
        for f in range(n_html):
            out[m, base + 3 + f] = html_counts[f]


# ---------------------------------------------------------------- links


@njit(cache=True)
def _scheme_is(data, a, b, word):
    return bytes_equal(data, a, b, word, 0, word.shape[0])


@njit(cache=True)
def _authority(data, a, b):
    """(start, end) of the authority of a URL data[a:b] ("://" to the first / ? #), or (-1, -1)."""
    for i in range(a, b - 2):
        if data[i] == 58 and data[i + 1] == 47 and data[i + 2] == 47:
            s = i + 3
            e = s
            while e < b and data[e] != 47 and data[e] != 63 and data[e] != 35:
                e += 1
            return s, e
    return -1, -1


@njit(cache=True)
def _odd_port(data, s, e):
    """The authority data[s:e] names a port other than 80 and 443."""
    h = s
    for i in range(s, e):
        if data[i] == 64:
            h = i + 1
    if h < e and data[h] == 91:  # [ipv6]
        while h < e and data[h] != 93:
            h += 1
    for i in range(h, e):
        if data[i] == 58:
            n = e - i - 1
            if n == 0:
                return False
            for k in range(i + 1, e):
                if not is_digit(data[k]):
                    return False
            if n == 2 and data[i + 1] == 56 and data[i + 2] == 48:
                return False
            return not (n == 3 and data[i + 1] == 52 and data[i + 2] == 52 and data[i + 3] == 51)
    return False


@njit(cache=True)
def _ip_host(data, a, b):
    if b <= a:
        return False
    if data[a] == 91:
        return True
    dots = 0
    for i in range(a, b):
        c = data[i]
        if c == 58:
            return True
        if c == 46:
            dots += 1
        elif not is_digit(c):
            return False
    return dots == 3


@njit(cache=True)
def _obfuscated_host(data, a, b):
    if b <= a:
        return False
    all_digits = True
    for i in range(a, b):
        c = data[i]
        if c == 37:  # %
            return True
        if not is_digit(c):
            all_digits = False
        if c == 48 and i + 1 < b and lower(data[i + 1]) == 120 and (i == a or data[i - 1] == 46):  # 0x label
            return True
    return all_digits


@njit(cache=True)
def _has_confusable(data, a, b, flags):
    i = a
    while i < b:
        cp, i = decode(data, i, b)
        if cp < 0:
            break
        if cp < 0x10000 and (flags[cp] & F_CONFUSABLE) != 0:
            return True
    return False


@njit(cache=True)
def _last_label(data, a, b):
    for i in range(b - 1, a - 1, -1):
        if data[i] == 46:
            return i + 1
    return a


@njit(cache=True)
def link_kernel(text, link_off, url_off, orig_off, sch_off, dom_off, root_off, puny_off, path_off, query_off,
                disp_off, src_off, sender_off, tenant_of, flags, tld_keys, short_keys, short_extra, host_keys,
                host_extra, share_keys, share_extra, stld_keys, stld_extra, w_class, w_table, w_out, w_link, w_next,
                w_label, b_class, b_table, b_out, b_link, b_next, b_label, brand_enabled, legit_keys, ext_keys,
                ext_values, risky_cat, words, out):
    """Fills the links block; column order is links.SIGNALS."""
    # every string column lives in the one text buffer (one argument, not one per column)
    orig_data = text
    sch_data = text
    dom_data = text
    root_data = text
    path_data = text
    query_data = text
    disp_data = text
    src_data = text
    sender_data = text
    http_w, https_w, data_w, js_w, mailto_w, tel_w, sms_w, callto_w, html_w = words
    n_msg = link_off.shape[0] - 1
    hits = np.zeros(2, dtype=np.uint8)
    bhits = np.zeros(brand_enabled.shape[1], dtype=np.uint8)
    seen_host = np.empty(64, dtype=np.uint64)
    seen_root = np.empty(64, dtype=np.uint64)
    for m in range(n_msg):
        t = tenant_of[m]
        c = np.zeros(30, dtype=np.float64)
        lo = link_off[m]
        hi = link_off[m + 1]
        if hi - lo > seen_host.shape[0]:
            seen_host = np.empty(hi - lo, dtype=np.uint64)
            seen_root = np.empty(hi - lo, dtype=np.uint64)
        n_hosts = 0
        max_len = 0
        max_depth = -1
        max_hyph = -1
        same_sender = 0
        for k in range(lo, hi):
            c[0] += 1
            if _scheme_is(src_data, src_off[k], src_off[k + 1], html_w):
                c[1] += 1
            ua, ub = url_off[k], url_off[k + 1]
            if ub - ua > max_len:
                max_len = ub - ua
            if ub - ua > 200:
                c[14] += 1
            sa, sb = sch_off[k], sch_off[k + 1]
            if _scheme_is(sch_data, sa, sb, data_w):
                c[19] += 1
            elif _scheme_is(sch_data, sa, sb, js_w):
                c[20] += 1
            elif _scheme_is(sch_data, sa, sb, mailto_w):
                c[21] += 1
            elif _scheme_is(sch_data, sa, sb, tel_w) or _scheme_is(sch_data, sa, sb, sms_w) or \
                    _scheme_is(sch_data, sa, sb, callto_w):
                c[22] += 1
            is_http = _scheme_is(sch_data, sa, sb, http_w)
            if is_http:
                c[23] += 1
            if not (is_http or _scheme_is(sch_data, sa, sb, https_w)):
                continue
            da, db = dom_off[k], dom_off[k + 1]
            ra, rb = root_off[k], root_off[k + 1]
            oa, ob = orig_off[k], orig_off[k + 1]
            au_s, au_e = _authority(orig_data, oa, ob)
            if au_s >= 0:
                if count_byte(orig_data, au_s, au_e, 64) > 0:
                    c[18] += 1
                if _odd_port(orig_data, au_s, au_e):
                    c[24] += 1
            if _obfuscated_host(dom_data, da, db) or count_byte(orig_data, oa, ob, 37) >= 10:
                c[16] += 1
            # open redirect and login words over path + "?" + query
            hits[:] = 0
            st = ac_any(path_data, path_off[k], path_off[k + 1], w_class, w_table, w_out, w_link, w_next, w_label, hits)
            st = ac_step(st, 63, w_class, w_table, w_out, w_link, w_next, w_label, hits)
            ac_any_from(st, query_data, query_off[k], query_off[k + 1], w_class, w_table, w_out, w_link, w_next,
                        w_label, hits)
            if hits[0]:
                c[13] += 1
            if hits[1]:
                c[10] += 1
            # download: the path's last segment ends in a risky extension
            pa, pb = path_off[k], path_off[k + 1]
            for i in range(pb - 1, pa - 1, -1):
                ch = path_data[i]
                if ch == 47:
                    break
                if ch == 46:
                    cat = map_get(fnv(path_data, i + 1, pb), ext_keys, ext_values, -1)
                    if cat >= 0 and risky_cat[cat]:
                        c[29] += 1
                    break
            if db <= da:
                continue
            hh = fnv(dom_data, da, db)
            new = True
            for j in range(n_hosts):
                if seen_host[j] == hh:
                    new = False
                    break
            rh = fnv(root_data, ra, rb)
            seen_host[n_hosts] = hh
            seen_root[n_hosts] = rh
            n_hosts += 1
            if new:
                c[2] += 1
            if _ip_host(dom_data, da, db):
                c[4] += 1
            if puny_off[k + 1] > puny_off[k] or contains(dom_data, da, db, XN):
                c[5] += 1
            if _has_confusable(dom_data, da, db, flags):
                c[6] += 1
            if domain_in_set(dom_data, da, db, short_keys, short_extra, t):
                c[7] += 1
            if domain_in_set(dom_data, da, db, host_keys, host_extra, t):
                c[8] += 1
            if domain_in_set(dom_data, da, db, share_keys, share_extra, t):
                c[9] += 1
            la = _last_label(dom_data, da, db)
            lh = fnv(dom_data, la, db)
            if in_set(lh, stld_keys) or in_set(salt(lh, t), stld_extra):
                c[17] += 1
            ta, tb = find_domain_token(disp_data, disp_off[k], disp_off[k + 1], tld_keys)
            if ta >= 0:
                c[12] += 1
                if rb > ra and not same_org(disp_data, ta, tb, root_data, ra, rb):
                    c[11] += 1
            if rb > ra:
                depth = count_byte(dom_data, da, db, 46) - count_byte(root_data, ra, rb, 46)
                if depth > max_depth:
                    max_depth = depth
                if sender_off[m + 1] > sender_off[m] and bytes_equal(
                        root_data, ra, rb, sender_data, sender_off[m], sender_off[m + 1]):
                    same_sender += 1
            hy = count_byte(dom_data, da, db, 45)
            if hy > max_hyph:
                max_hyph = hy
            bhits[:] = 0
            ac_any(dom_data, da, db, b_class, b_table, b_out, b_link, b_next, b_label, bhits)
            for b in range(bhits.shape[0]):
                if bhits[b] and brand_enabled[t, b]:
                    if not in_set(salt(rh, t), legit_keys):
                        c[28] += 1
                    break
        # distinct root domains
        if n_hosts > 0:
            roots = np.sort(seen_root[:n_hosts])
            distinct = 1
            for j in range(1, n_hosts):
                if roots[j] != roots[j - 1]:
                    distinct += 1
            c[3] = distinct
        c[15] = max_len
        for j in range(25):
            out[m, j] = c[j]
        out[m, 25] = NAN if max_depth < 0 else max_depth
        out[m, 26] = NAN if max_hyph < 0 else max_hyph
        if n_hosts == 0 or sender_off[m + 1] == sender_off[m]:
            out[m, 27] = NAN
        else:
            out[m, 27] = same_sender / n_hosts
        out[m, 28] = c[28]
        out[m, 29] = c[29]


XN = np.frombuffer(b"xn--", dtype=np.uint8)


@njit(cache=True)
def ac_any_from(state, data, a, b, byte_class, table, out_pat, dict_link, next_out, pat_label, hits):
    for i in range(a, b):
        state = ac_step(state, lower(data[i]), byte_class, table, out_pat, dict_link, next_out, pat_label, hits)
    return state


# ---------------------------------------------------------------- attachments


@njit(cache=True)
def _has_flag(data, a, b, flags, flag):
    i = a
    while i < b:
        cp, i = decode(data, i, b)
        if cp < 0:
            break
        if cp < 0x10000 and (flags[cp] & flag) != 0:
            return True
    return False


@njit(cache=True)
def _ext_category(data, a, b, ext_keys, ext_values):
    """Category of the extension after the last '.' (after the last '/') of data[a:b]; -1 unknown."""
    for i in range(b - 1, a - 1, -1):
        c = data[i]
        if c == 47 or c == 92:
            return -1
        if c == 46:
            return map_get(fnv(data, i + 1, b), ext_keys, ext_values, -1)
    return -1


@njit(cache=True)
def _double_extension(data, a, b, ext_keys, ext_values, risky):
    """name.doc.exe: a known extension in front of a risky one of another category."""
    while b > a and (data[b - 1] == 32 or data[b - 1] == 9):
        b -= 1
    i1 = -1
    for i in range(b - 1, a - 1, -1):
        if data[i] == 46:
            i1 = i
            break
    if i1 < 0:
        return False
    cat1 = map_get(fnv(data, i1 + 1, b), ext_keys, ext_values, -1)
    if cat1 < 0 or not risky[cat1]:
        return False
    j = i1
    while j > a and (data[j - 1] == 32 or data[j - 1] == 9):
        j -= 1
    for i in range(j - 1, a - 1, -1):
        if data[i] == 46:
            if j - i - 1 < 1 or j - i - 1 > 5:
                return False
            cat0 = map_get(fnv(data, i + 1, j), ext_keys, ext_values, -1)
            return cat0 >= 0 and cat0 != cat1
        if data[i] == 47:
            return False
    return False


@njit(cache=True)
def attachment_kernel(text, att_off, name_off, ext_off, type_off, size, encrypted, member_count, mem_off,
                      mem_val_off, flags, ext_keys, ext_values, type_keys, type_values, compat_keys, risky, n_cat,
                      pdf_cat, archive_cat, tiny_pdf, out):
    """Fills the attachments block; column order is attachments.SIGNALS."""
    # every string column lives in the one text buffer (one argument, not one per column)
    name_data = text
    ext_data = text
    type_data = text
    mem_val_data = text
    n_msg = att_off.shape[0] - 1
    base = 1 + n_cat
    colon = np.uint64(58)
    for m in range(n_msg):
        for j in range(out.shape[1]):
            out[m, j] = 0.0
        total = 0.0
        for k in range(att_off[m], att_off[m + 1]):
            out[m, 0] += 1
            ea, eb = ext_off[k], ext_off[k + 1]
            ta, tb = type_off[k], type_off[k + 1]
            ecat = map_get(fnv(ext_data, ea, eb), ext_keys, ext_values, -1) if eb > ea else -1
            tcat = map_get(fnv(type_data, ta, tb), type_keys, type_values, -1) if tb > ta else -1
            if ecat >= 0 and tcat >= 0 and ecat != tcat:
                h = fnv_continue((fnv(ext_data, ea, eb) ^ colon) * FNV_PRIME, type_data, ta, tb)
                if in_set(h, compat_keys):
                    tcat = -1  # a normal container for this extension (a .docx is a zip)
                else:
                    out[m, base + 1] += 1
            if ecat >= 0:
                out[m, 1 + ecat] += 1
            if tcat >= 0 and tcat != ecat:
                out[m, 1 + tcat] += 1
            if (ecat >= 0 and risky[ecat]) or (tcat >= 0 and risky[tcat]):
                out[m, base] += 1
            na, nb = name_off[k], name_off[k + 1]
            if _double_extension(name_data, na, nb, ext_keys, ext_values, risky):
                out[m, base + 2] += 1
            enc = encrypted[k] == 1.0
            if enc:
                out[m, base + 3] += 1
                if ecat == archive_cat or tcat == archive_cat:
                    out[m, base + 4] += 1
            if member_count[k] == member_count[k]:
                out[m, base + 5] += member_count[k]
            is_pdf = ecat == pdf_cat or tcat == pdf_cat
            if is_pdf and size[k] == size[k] and size[k] < tiny_pdf:
                out[m, base + 7] += 1
            if size[k] == size[k]:
                total += size[k]
            if _has_flag(name_data, na, nb, flags, F_BIDI):
                out[m, base + 9] += 1
            if eb == ea:
                out[m, base + 10] += 1
        for k in range(mem_off[m], mem_off[m + 1]):
            cat = _ext_category(mem_val_data, mem_val_off[k], mem_val_off[k + 1], ext_keys, ext_values)
            if cat >= 0 and risky[cat]:
                out[m, base + 6] += 1
        out[m, base + 8] = total / 1024.0


# ---------------------------------------------------------------- headers


@njit(cache=True)
def _auth(res_off, res_data, pass_col, dom_off, dom_data, sender_off, sender_data, m, fail_w, softfail_w,
          count_softfail, out, col):
    a, b = res_off[m], res_off[m + 1]
    if b <= a:
        out[m, col] = NAN
        out[m, col + 1] = NAN
    else:
        out[m, col] = pass_col[m]
        fail = _scheme_is(res_data, a, b, fail_w) or (count_softfail and _scheme_is(res_data, a, b, softfail_w))
        out[m, col + 1] = 1.0 if fail else 0.0


@njit(cache=True)
def _reply_prefix(data, a, b, w_off, w_data):
    """Index of the word (packed: w_data[w_off[w]:w_off[w + 1]]) that the subject starts
    with, followed by ':' (-1: none)."""
    while a < b and (data[a] == 32 or data[a] == 9):
        a += 1
    for w in range(w_off.shape[0] - 1):
        s = w_off[w]
        n = w_off[w + 1] - s
        if b - a > n and data[a + n] == 58:
            ok = True
            for k in range(n):
                if lower(data[a + k]) != w_data[s + k]:
                    ok = False
                    break
            if ok:
                return w
    return -1


@njit(cache=True)
def _msgid_domain(data, a, b):
    at = -1
    for i in range(a, b):
        if data[i] == 64:
            at = i
    if at < 0:
        return -1, -1
    e = at + 1
    while e < b and data[e] != 62 and data[e] != 32:
        e += 1
    return at + 1, e


@njit(cache=True)
def _has_tz(data, a, b):
    for i in range(a, b - 4):
        if (data[i] == 43 or data[i] == 45) and is_digit(data[i + 1]) and is_digit(data[i + 2]) and \
                is_digit(data[i + 3]) and is_digit(data[i + 4]):
            return True
    return False


@njit(cache=True)
def _starts_with_ci(data, a, b, word):
    while a < b and (data[a] == 32 or data[a] == 9):
        a += 1
    n = word.shape[0]
    if b - a < n:
        return False
    for k in range(n):
        if lower(data[a + k]) != word[k]:
            return False
    return True


@njit(cache=True)
def _reply_to_is_recipient(rt_off, rt_em_off, rt_em_data, to_off, to_em_off, to_em_data, cc_off, cc_em_off,
                           cc_em_data, m):
    """1.0 when a Reply-To address is also a To / Cc address (a list answering to itself), NaN without Reply-To."""
    if rt_off[m + 1] == rt_off[m]:
        return NAN
    for r in range(rt_off[m], rt_off[m + 1]):
        ra, rb = rt_em_off[r], rt_em_off[r + 1]
        if rb <= ra:
            continue
        for k in range(to_off[m], to_off[m + 1]):
            if bytes_equal(to_em_data, to_em_off[k], to_em_off[k + 1], rt_em_data, ra, rb):
                return 1.0
        for k in range(cc_off[m], cc_off[m + 1]):
            if bytes_equal(cc_em_data, cc_em_off[k], cc_em_off[k + 1], rt_em_data, ra, rb):
                return 1.0
    return 0.0


@njit(cache=True)
def header_kernel(text, sender_root_off, sender_email_off, disp_off, spf_off, spf_pass, spf_dom_off, dkim_off,
                  dkim_pass, dkim_dom_off, dmarc_off, dmarc_pass, dmarc_dom_off, rt_off, rt_root_off, rt_em_off,
                  rp_root_off, sh_off, mid_off, date, draw_off, hop_off, hop_time, mailer_off, m_class, m_table,
                  m_out, m_link, m_next, m_len, m_label, n_mailer, lid_off, lunsub_off, lpost_off, prec_off, f_off,
                  fname_off, fval_off, name_keys, name_codes, irt_off, ref_off, subj_off, reply_off, reply_data,
                  fwd_off, fwd_data, to_off, to_em_off, cc_off, cc_em_off, bcc_off, defect_off, tld_keys, words, out):
    """Fills the headers block; column order is headers.SIGNALS."""
    # every string column lives in the one text buffer (one argument, not one per column)
    sender_root_data = text
    sender_email_data = text
    disp_data = text
    spf_data = text
    spf_dom_data = text
    dkim_data = text
    dkim_dom_data = text
    dmarc_data = text
    dmarc_dom_data = text
    rt_root_data = text
    rt_em_data = text
    rp_root_data = text
    sh_data = text
    mid_data = text
    draw_data = text
    mailer_data = text
    prec_data = text
    fname_data = text
    fval_data = text
    subj_data = text
    to_em_data = text
    cc_em_data = text
    fail_w, softfail_w, bulk_w, list_w, junk_w, high_w, urgent_w = words
    n_msg = sender_root_off.shape[0] - 1
    buf = np.empty(4096, dtype=np.uint8)
    fam = np.zeros(n_mailer, dtype=np.int64)
    for m in range(n_msg):
        sra, srb = sender_root_off[m], sender_root_off[m + 1]
        has_root = srb > sra
        _auth(spf_off, spf_data, spf_pass, spf_dom_off, spf_dom_data, sender_root_off, sender_root_data, m,
              fail_w, softfail_w, True, out, 0)
        _auth(dkim_off, dkim_data, dkim_pass, dkim_dom_off, dkim_dom_data, sender_root_off, sender_root_data, m,
              fail_w, softfail_w, False, out, 2)
        _auth(dmarc_off, dmarc_data, dmarc_pass, dmarc_dom_off, dmarc_dom_data, sender_root_off, sender_root_data,
              m, fail_w, softfail_w, False, out, 4)
        a, b = spf_dom_off[m], spf_dom_off[m + 1]
        out[m, 6] = NAN if (b <= a or not has_root) else \
            (1.0 if same_org(spf_dom_data, a, b, sender_root_data, sra, srb) else 0.0)
        a, b = dkim_dom_off[m], dkim_dom_off[m + 1]
        out[m, 7] = NAN if (b <= a or not has_root) else \
            (1.0 if same_org(dkim_dom_data, a, b, sender_root_data, sra, srb) else 0.0)
        # reply-to and return-path
        n_rt = rt_off[m + 1] - rt_off[m]
        out[m, 8] = n_rt
        if n_rt == 0 or not has_root:
            out[m, 9] = NAN
        else:
            mismatch = 0.0
            for k in range(rt_off[m], rt_off[m + 1]):
                if not bytes_equal(rt_root_data, rt_root_off[k], rt_root_off[k + 1], sender_root_data, sra, srb):
                    mismatch = 1.0
            out[m, 9] = mismatch
        a, b = rp_root_off[m], rp_root_off[m + 1]
        out[m, 10] = NAN if (b <= a or not has_root) else \
            (0.0 if bytes_equal(rp_root_data, a, b, sender_root_data, sra, srb) else 1.0)
        a, b = sh_off[m], sh_off[m + 1]
        out[m, 11] = NAN if b <= a else \
            (0.0 if bytes_equal(sh_data, a, b, sender_email_data, sender_email_off[m], sender_email_off[m + 1])
             else 1.0)
        # display name
        da, db = disp_off[m], disp_off[m + 1]
        has_addr = 0.0
        for i in range(da + 1, db - 1):
            if disp_data[i] == 64 and is_alnum(disp_data[i - 1]) and is_alnum(disp_data[i + 1]):
                has_addr = 1.0
                break
        out[m, 12] = has_addr
        ta, tb = find_domain_token(disp_data, da, db, tld_keys)
        out[m, 13] = 1.0 if ta >= 0 else 0.0
        if ta < 0 or not has_root:
            out[m, 14] = NAN
        else:
            out[m, 14] = 0.0 if same_org(disp_data, ta, tb, sender_root_data, sra, srb) else 1.0
        # message-id
        a, b = mid_off[m], mid_off[m + 1]
        out[m, 15] = 1.0 if b <= a else 0.0
        ma, mb = _msgid_domain(mid_data, a, b)
        if ma < 0 or mb <= ma or not has_root:
            out[m, 16] = NAN
        else:
            out[m, 16] = 0.0 if same_org(mid_data, ma, mb, sender_root_data, sra, srb) else 1.0
        # date and hops
        a, b = draw_off[m], draw_off[m + 1]
        out[m, 17] = 1.0 if b <= a else 0.0
        out[m, 18] = 1.0 if (b > a and date[m] != date[m]) else 0.0
        out[m, 19] = 1.0 if (b > a and not _has_tz(draw_data, a, b)) else 0.0
        first = np.nan
        lo_t = np.inf
        hi_t = -np.inf
        n_t = 0
        for k in range(hop_off[m], hop_off[m + 1]):
            tk = hop_time[k]
            if tk == tk:
                if n_t == 0:
                    first = tk
                n_t += 1
                lo_t = min(lo_t, tk)
                hi_t = max(hi_t, tk)
        skew = (first - date[m]) / 3600.0
        out[m, 20] = skew
        out[m, 21] = NAN if skew != skew else (1.0 if skew < -1.0 else 0.0)
        out[m, 22] = hop_off[m + 1] - hop_off[m]
        out[m, 23] = (hi_t - lo_t) / 3600.0 if n_t >= 2 else NAN
        # mailer
        a, b = mailer_off[m], mailer_off[m + 1]
        out[m, 24] = 1.0 if b > a else 0.0
        fam[:] = 0
        n = 0
        for i in range(a, min(b, a + buf.shape[0])):
            buf[n] = lower(mailer_data[i])
            n += 1
        ac_scan(buf, n, m_class, m_table, m_out, m_link, m_next, m_len, m_label, True, fam)
        any_family = False
        for f in range(n_mailer):
            out[m, 25 + f] = 1.0 if fam[f] > 0 else 0.0
            if fam[f] > 0:
                any_family = True
        c = 25 + n_mailer
        out[m, c] = 1.0 if (b > a and not any_family) else 0.0
        # list and bulk
        out[m, c + 1] = 1.0 if lid_off[m + 1] > lid_off[m] else 0.0
        out[m, c + 2] = 1.0 if lunsub_off[m + 1] > lunsub_off[m] else 0.0
        out[m, c + 3] = 1.0 if lpost_off[m + 1] > lpost_off[m] else 0.0
        a, b = prec_off[m], prec_off[m + 1]
        out[m, c + 4] = 1.0 if (_starts_with_ci(prec_data, a, b, bulk_w) or _starts_with_ci(prec_data, a, b, list_w)
                                or _starts_with_ci(prec_data, a, b, junk_w)) else 0.0
        bulk = 0
        high = 0.0
        php = 0.0
        for k in range(f_off[m], f_off[m + 1]):
            code = map_get(fnv(fname_data, fname_off[k], fname_off[k + 1]), name_keys, name_codes, 0)
            if code == 0:
                continue
            va, vb = fval_off[k], fval_off[k + 1]
            if code == 1:
                bulk += 1
            elif code == 2:
                while va < vb and fval_data[va] == 32:
                    va += 1
                if va < vb and (fval_data[va] == 49 or fval_data[va] == 50):
                    high = 1.0
            elif code == 3:
                if _starts_with_ci(fval_data, va, vb, high_w):
                    high = 1.0
            elif code == 4:
                if _starts_with_ci(fval_data, va, vb, urgent_w):
                    high = 1.0
            elif code == 5:
                php = 1.0
        out[m, c + 5] = bulk
        out[m, c + 6] = high
        out[m, c + 7] = php
        # threading
        has_irt = irt_off[m + 1] > irt_off[m]
        n_ref = ref_off[m + 1] - ref_off[m]
        out[m, c + 8] = 1.0 if has_irt else 0.0
        out[m, c + 9] = n_ref
        sa, sb = subj_off[m], subj_off[m + 1]
        is_reply = _reply_prefix(subj_data, sa, sb, reply_off, reply_data) >= 0
        out[m, c + 10] = 1.0 if is_reply else 0.0
        out[m, c + 11] = 1.0 if _reply_prefix(subj_data, sa, sb, fwd_off, fwd_data) >= 0 else 0.0
        out[m, c + 12] = 1.0 if (is_reply and not has_irt and n_ref == 0) else 0.0
        # recipients
        n_to = to_off[m + 1] - to_off[m]
        n_cc = cc_off[m + 1] - cc_off[m]
        out[m, c + 13] = n_to
        out[m, c + 14] = n_cc
        out[m, c + 15] = bcc_off[m + 1] - bcc_off[m]
        out[m, c + 16] = 1.0 if n_to + n_cc == 0 else 0.0
        ea, eb = sender_email_off[m], sender_email_off[m + 1]
        self_sent = 0.0
        if eb > ea:
            for k in range(to_off[m], to_off[m + 1]):
                if bytes_equal(to_em_data, to_em_off[k], to_em_off[k + 1], sender_email_data, ea, eb):
                    self_sent = 1.0
            for k in range(cc_off[m], cc_off[m + 1]):
                if bytes_equal(cc_em_data, cc_em_off[k], cc_em_off[k + 1], sender_email_data, ea, eb):
                    self_sent = 1.0
        out[m, c + 17] = self_sent
        out[m, c + 18] = defect_off[m + 1] - defect_off[m]
        out[m, c + 19] = 1.0 if eb <= ea else 0.0
        out[m, c + 20] = _reply_to_is_recipient(rt_off, rt_em_off, rt_em_data, to_off, to_em_off, to_em_data,
                                                cc_off, cc_em_off, cc_em_data, m)


# ---------------------------------------------------------------- identity


@njit(cache=True)
def _label_end(root_data, ra, rb, tld_data, ta, tb):
    """End of the registrable label inside root data[ra:rb] (before "." + tld)."""
    n = tb - ta
    if n > 0 and rb - ra > n + 1 and root_data[rb - n - 1] == 46:
        ok = True
        for k in range(n):
            if root_data[rb - n + k] != tld_data[ta + k]:
                ok = False
                break
        if ok:
            return rb - n - 1
    for i in range(ra, rb):
        if root_data[i] == 46:
            return i
    return rb


@njit(cache=True)
def name_key_into(data, a, b, fold, flags, buf, spaces):
    """A display name's comparison key (orgtables.name_key) into buf; without spaces when not spaces."""
    n = 0
    pending = False
    i = a
    while i < b and n < buf.shape[0] - 8:
        cp, i = decode(data, i, b)
        if cp < 0:
            break
        f = np.int64(fold[cp]) if cp < 0x10000 else cp
        keep = (f < 128 and is_alnum(f)) or (128 <= f < 0x10000 and (flags[f] & F_ALPHA) != 0)
        if keep:
            if pending and spaces and n > 0:
                buf[n] = 32
                n += 1
            pending = False
            n = emit_utf8(f, buf, n)
        else:
            pending = True
    return n


@njit(cache=True)
def _close(dist, skel_equal, n):
    """Look-alike threshold on skeletons: equal, or 1 edit for 4+ bytes, or 2 edits for 8+."""
    return skel_equal or (dist <= 1 and n >= 4) or (dist <= 2 and n >= 8)


@njit(cache=True)
def identity_kernel(text, dom_off, root_off, tld_off, email_off, local_off, disp_off, rt_off, rt_dom_off,
                    rt_root_off, rp_dom_off, to_off, to_em_off, cc_off, cc_em_off, tenant_of, fold, flags,
                    free_keys, free_extra, stld_keys, stld_extra, has_own, own_keys, own_tenant_off, own_label_off,
                    own_label_data, brand_enabled, brand_key_off, brand_key_data, legit_keys, b_class, b_table,
                    b_out, b_link, b_next, b_label, has_vips, vip_tenant_off, vip_key_off, vip_key_data,
                    vip_address_keys, finance_keys, has_finance, bsk_off, bsk, osk_off, osk, cap, out):
    """Fills the identity block; column order is identity.SIGNALS. bsk/osk: skeletons of
    the brand keys and own labels (skeletons(), computed once per table set)."""
    # every string column lives in the one text buffer (one argument, not one per column)
    dom_data = text
    root_data = text
    tld_data = text
    email_data = text
    local_data = text
    disp_data = text
    rt_dom_data = text
    rt_root_data = text
    rp_dom_data = text
    to_em_data = text
    cc_em_data = text
    n_msg = dom_off.shape[0] - 1
    n_brand = brand_key_off.shape[0] - 1
    skel = np.empty(4096, dtype=np.uint8)
    row = np.empty(4096, dtype=np.int64)
    dkey = np.empty(1024, dtype=np.uint8)
    dflat = np.empty(1024, dtype=np.uint8)
    bhits = np.zeros(max(1, n_brand), dtype=np.uint8)
    present = np.zeros(256, dtype=np.uint8)
    for m in range(n_msg):
        t = tenant_of[m]
        da, db = dom_off[m], dom_off[m + 1]
        ra, rb = root_off[m], root_off[m + 1]
        has_dom = db > da
        has_root = rb > ra
        rh = fnv(root_data, ra, rb)
        # lists and shape of the sender domain
        if has_dom:
            out[m, 0] = 1.0 if domain_in_set(dom_data, da, db, free_keys, free_extra, t) else 0.0
            la = _last_label(dom_data, da, db)
            lh = fnv(dom_data, la, db)
            out[m, 3] = 1.0 if (in_set(lh, stld_keys) or in_set(salt(lh, t), stld_extra)) else 0.0
            idn = contains(dom_data, da, db, XN)
            for i in range(da, db):
                if dom_data[i] >= 0x80:
                    idn = True
            out[m, 4] = 1.0 if idn else 0.0
            out[m, 5] = 1.0 if _has_confusable(dom_data, da, db, flags) else 0.0
            out[m, 6] = count_byte(dom_data, da, db, 45)
            digits = 0
            for i in range(da, db):
                if is_digit(dom_data[i]):
                    digits += 1
            out[m, 7] = digits
            out[m, 8] = db - da
            out[m, 9] = (count_byte(dom_data, da, db, 46) - count_byte(root_data, ra, rb, 46)) if has_root else NAN
        else:
            for j in (0, 3, 4, 5, 6, 7, 8, 9):
                out[m, j] = NAN
        # reply-to / return-path on free mail while the sender is elsewhere
        if rt_off[m + 1] == rt_off[m]:
            out[m, 1] = NAN
        else:
            v = 0.0
            for k in range(rt_off[m], rt_off[m + 1]):
                if domain_in_set(rt_dom_data, rt_dom_off[k], rt_dom_off[k + 1], free_keys, free_extra, t) and \
                        not bytes_equal(rt_root_data, rt_root_off[k], rt_root_off[k + 1], root_data, ra, rb):
                    v = 1.0
            out[m, 1] = v
        a, b = rp_dom_off[m], rp_dom_off[m + 1]
        out[m, 2] = NAN if b <= a else (1.0 if domain_in_set(rp_dom_data, a, b, free_keys, free_extra, t) else 0.0)
        la, lb = local_off[m], local_off[m + 1]
        out[m, 10] = lb - la
        if lb > la:
            digits = 0
            for i in range(la, lb):
                if is_digit(local_data[i]):
                    digits += 1
            out[m, 11] = digits / (lb - la)
        else:
            out[m, 11] = NAN
        out[m, 12] = 1.0 if disp_off[m + 1] == disp_off[m] else 0.0
        # own domains
        lab_end = _label_end(root_data, ra, rb, tld_data, tld_off[m], tld_off[m + 1]) if has_root else ra
        n_skel = skeleton_into(root_data, ra, lab_end, fold, skel) if has_root else 0
        is_own = has_root and in_set(salt(rh, t), own_keys)
        if not has_own[t] or not has_root:
            for j in range(13, 18):
                out[m, j] = NAN
        else:
            out[m, 13] = 1.0 if is_own else 0.0
            if is_own:
                out[m, 14] = NAN
                out[m, 15] = 0.0
                out[m, 16] = 0.0
                out[m, 17] = 0.0
            else:
                best = cap
                look = False
                skel_eq = False
                swap = False
                for o in range(own_tenant_off[t], own_tenant_off[t + 1]):
                    d = edit_distance(skel, 0, n_skel, osk, osk_off[o], osk_off[o + 1], cap, row)
                    best = min(best, d)
                    eq = bytes_equal(skel, 0, n_skel, osk, osk_off[o], osk_off[o + 1])
                    raw_eq = bytes_equal(root_data, ra, lab_end, own_label_data, own_label_off[o], own_label_off[o + 1])
                    if eq and not raw_eq:
                        skel_eq = True
                    if raw_eq:
                        swap = True
                    if _close(d, eq, osk_off[o + 1] - osk_off[o]):
                        look = True
                out[m, 14] = best
                out[m, 15] = 1.0 if look else 0.0
                out[m, 16] = 1.0 if skel_eq else 0.0
                out[m, 17] = 1.0 if swap else 0.0
        # brands
        legit = has_root and in_set(salt(rh, t), legit_keys)
        if not has_root:
            for j in range(18, 24):
                out[m, j] = NAN
        else:
            out[m, 18] = 1.0 if legit else 0.0
            if legit:
                out[m, 19] = NAN
                out[m, 20] = 0.0
                out[m, 21] = 0.0
                out[m, 22] = 0.0
                out[m, 23] = 0.0
            else:
                best = cap
                look = False
                skel_eq = False
                swap = False
                # bytes of the skeleton: a brand holding cap or more bytes that it lacks is at
                # distance cap or more (each needs an edit), so not equal, not close: skipped
                present[:] = 0
                for i in range(n_skel):
                    present[skel[i]] = 1
                for b in range(n_brand):
                    if not brand_enabled[t, b]:
                        continue
                    missing = 0
                    for i in range(bsk_off[b], bsk_off[b + 1]):
                        missing += 1 - present[bsk[i]]
                    if missing >= cap:
                        continue
                    d = edit_distance(skel, 0, n_skel, bsk, bsk_off[b], bsk_off[b + 1], cap, row)
                    best = min(best, d)
                    eq = bytes_equal(skel, 0, n_skel, bsk, bsk_off[b], bsk_off[b + 1])
                    raw_eq = bytes_equal(root_data, ra, lab_end, brand_key_data, brand_key_off[b], brand_key_off[b + 1])
                    if eq and not raw_eq:
                        skel_eq = True
                    if raw_eq:
                        swap = True
                    if _close(d, eq, bsk_off[b + 1] - bsk_off[b]):
                        look = True
                out[m, 19] = best
                out[m, 20] = 1.0 if look else 0.0
                out[m, 21] = 1.0 if skel_eq else 0.0
                out[m, 22] = 1.0 if swap else 0.0
                bhits[:] = 0
                ac_any(dom_data, da, db, b_class, b_table, b_out, b_link, b_next, b_label, bhits)
                inside = False
                for b in range(n_brand):
                    if bhits[b] and brand_enabled[t, b] and not bytes_equal(
                            root_data, ra, lab_end, brand_key_data, brand_key_off[b], brand_key_off[b + 1]):
                        inside = True
                out[m, 23] = 1.0 if inside else 0.0
        # display name: brands and VIPs
        pa, pb = disp_off[m], disp_off[m + 1]
        nk = name_key_into(disp_data, pa, pb, fold, flags, dkey, True)
        named = False
        present[:] = 0  # bytes that begin a word of the key: a brand key can only match at one
        for i in range(nk):
            if i == 0 or dkey[i - 1] == 32:
                present[dkey[i]] = 1
        for b in range(n_brand):
            if not brand_enabled[t, b]:
                continue
            ka, kb = brand_key_off[b], brand_key_off[b + 1]
            kn = kb - ka
            if kn > 0 and not present[brand_key_data[ka]]:
                continue
            for i in range(0, nk - kn + 1):
                if i > 0 and dkey[i - 1] != 32:
                    continue
                e = i + kn
                if e < nk and not (dkey[e] == 32 or is_digit(dkey[e])):
                    continue
                ok = True
                for k in range(kn):
                    if dkey[i + k] != brand_key_data[ka + k]:
                        ok = False
                        break
                if ok:
                    named = True
                    break
            if named:
                break
        out[m, 24] = 1.0 if named else 0.0
        out[m, 25] = 1.0 if (named and not legit) else 0.0
        ea, eb = email_off[m], email_off[m + 1]
        eh = fnv(email_data, ea, eb)
        if not has_vips[t] or nk == 0:
            out[m, 26] = NAN
            out[m, 27] = NAN if not has_vips[t] else 0.0
            out[m, 28] = NAN if not has_vips[t] else 0.0
        else:
            nf = 0
            for i in range(nk):
                if dkey[i] != 32:
                    dflat[nf] = dkey[i]
                    nf += 1
            best = cap
            match = False
            for v in range(vip_tenant_off[t], vip_tenant_off[t + 1]):
                va, vb = vip_key_off[v], vip_key_off[v + 1]
                d = edit_distance(dflat, 0, nf, vip_key_data, va, vb, cap, row)
                best = min(best, d)
                vn = vb - va
                if d == 0 or (d <= 1 and vn >= 6):
                    match = True
                elif vn >= 6:
                    for i in range(0, nf - vn + 1):
                        ok = True
                        for k in range(vn):
                            if dflat[i + k] != vip_key_data[va + k]:
                                ok = False
                                break
                        if ok:
                            match = True
                            break
            out[m, 26] = best
            out[m, 27] = 1.0 if match else 0.0
            external = not in_set(salt(eh, t), vip_address_keys) and not is_own
            out[m, 28] = 1.0 if (match and external) else 0.0
        # recipients who are VIPs or finance staff
        n_vip = 0
        n_fin = 0
        for k in range(to_off[m], to_off[m + 1]):
            h = fnv(to_em_data, to_em_off[k], to_em_off[k + 1])
            if in_set(salt(h, t), vip_address_keys):
                n_vip += 1
            if in_set(salt(h, t), finance_keys):
                n_fin += 1
        for k in range(cc_off[m], cc_off[m + 1]):
            h = fnv(cc_em_data, cc_em_off[k], cc_em_off[k + 1])
            if in_set(salt(h, t), vip_address_keys):
                n_vip += 1
            if in_set(salt(h, t), finance_keys):
                n_fin += 1
        out[m, 29] = n_vip if has_vips[t] else NAN
        out[m, 30] = n_fin if has_finance[t] else NAN
        # own From with a Reply-To elsewhere
        if not has_own[t] or not has_root:
            out[m, 31] = NAN
        else:
            v = 0.0
            if is_own:
                for k in range(rt_off[m], rt_off[m + 1]):
                    h = fnv(rt_root_data, rt_root_off[k], rt_root_off[k + 1])
                    if not in_set(salt(h, t), own_keys):
                        v = 1.0
            out[m, 31] = v


def skeletons(off, data, fold):
    """(offsets, bytes) of the skeletons of packed strings (brand keys, own labels)."""
    n = off.shape[0] - 1
    tmp = np.empty(4096, dtype=np.uint8)
    parts = []
    for k in range(n):
        m = skeleton_into(data, off[k], off[k + 1], fold, tmp)
        parts.append(tmp[:m].tobytes())
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(parts), dtype=np.uint8).copy()


# ---------------------------------------------------------------- one call for every group
#
# signals_kernel fills the blocks of all five groups in one call: a Numba call unboxes
# each array argument (~0.1 us apiece), and the five kernels together take ~230, so the
# batch comes as a PackedBatch (one text buffer, flat offsets) and the tables as a few
# blobs, one per dtype, cut into parts by a directory. The names below fix the order
# of the parts; signals/fused.py builds the blobs and the column maps by these names.

STR_COLS = (
    "subject.subject", "body.text", "body.html.display_text", "body.html.raw",
    "body.links[].href_url.url", "body.links[].href_url.original", "body.links[].href_url.scheme",
    "body.links[].href_url.domain.domain", "body.links[].href_url.domain.root_domain",
    "body.links[].href_url.domain.punycode", "body.links[].href_url.path", "body.links[].href_url.query",
    "body.links[].display_text", "body.links[].source",
    "attachments[].file_name", "attachments[].file_extension", "attachments[].file_type",
    "attachments.archive_members[].value",
    "sender.email.domain.domain", "sender.email.domain.root_domain", "sender.email.domain.tld",
    "sender.email.email", "sender.email.local_part", "sender.display_name",
    "headers.auth_summary.spf.result", "headers.auth_summary.spf.domain",
    "headers.auth_summary.dkim.result", "headers.auth_summary.dkim.domain",
    "headers.auth_summary.dmarc.result", "headers.auth_summary.dmarc.domain",
    "headers.reply_to[].email.domain.domain", "headers.reply_to[].email.domain.root_domain",
    "headers.return_path.domain.domain", "headers.return_path.domain.root_domain", "headers.sender.email.email",
    "headers.message_id", "headers.date_raw", "headers.mailer", "headers.list.id", "headers.list.unsubscribe",
    "headers.list.post", "headers.list.precedence", "headers.fields[].name", "headers.fields[].value",
    "headers.in_reply_to", "recipients.to[].email.email", "recipients.cc[].email.email",
    "headers.reply_to[].email.email",
)
(S_SUBJ, S_TEXT, S_HTEXT, S_HTML,
 S_L_URL, S_L_ORIG, S_L_SCHEME, S_L_DOM, S_L_ROOT, S_L_PUNY, S_L_PATH, S_L_QUERY, S_L_DISP, S_L_SRC,
 S_A_NAME, S_A_EXT, S_A_TYPE, S_A_MEMBER,
 S_DOM, S_ROOT, S_TLD, S_EMAIL, S_LOCAL, S_DISP,
 S_SPF, S_SPF_DOM, S_DKIM, S_DKIM_DOM, S_DMARC, S_DMARC_DOM,
 S_RT_DOM, S_RT_ROOT, S_RP_DOM, S_RP_ROOT, S_SENDER_HDR,
 S_MSGID, S_DATE_RAW, S_MAILER, S_LIST_ID, S_LIST_UNSUB, S_LIST_POST, S_PREC, S_F_NAME, S_F_VALUE,
 S_IRT, S_TO_EMAIL, S_CC_EMAIL, S_RT_EMAIL) = range(len(STR_COLS))

NUM_COLS = (
    "attachments[].size", "attachments[].encrypted", "attachments[].archive_member_count",
    "headers.auth_summary.spf.pass", "headers.auth_summary.dkim.pass", "headers.auth_summary.dmarc.pass",
    "headers.date", "headers.hops[].time",
)
N_A_SIZE, N_A_ENC, N_A_MEMBERS, N_SPF, N_DKIM, N_DMARC, N_DATE, N_HOP_TIME = range(len(NUM_COLS))

GROUPS = ("body.links", "attachments", "attachments.archive_members", "headers.reply_to", "headers.hops",
          "headers.fields", "headers.references", "recipients.to", "recipients.cc", "recipients.bcc", "defects")
G_LINKS, G_ATT, G_MEMBERS, G_RT, G_HOPS, G_FIELDS, G_REFS, G_TO, G_CC, G_BCC, G_DEFECTS = range(len(GROUPS))

U8_PARTS = ("flags", "p_class", "h_class", "m_class", "w_class", "b_class", "link_risky", "att_risky",
            "has_own", "has_vips", "has_finance", "brand_key_data", "own_label_data", "vip_key_data",
            "brand_skel_data", "own_skel_data", "link_words", "header_words", "reply", "forward", "ascii_class",
            "ascii_out")
(U8_FLAGS, U8_P_CLASS, U8_H_CLASS, U8_M_CLASS, U8_W_CLASS, U8_B_CLASS, U8_LINK_RISKY, U8_ATT_RISKY,
 U8_HAS_OWN, U8_HAS_VIPS, U8_HAS_FIN, U8_BRAND_KEY, U8_OWN_LABEL, U8_VIP_KEY, U8_BSK, U8_OSK,
 U8_LINK_WORDS, U8_HDR_WORDS, U8_REPLY, U8_FWD, U8_ASCII_CLASS, U8_ASCII_OUT) = range(len(U8_PARTS))

# Automaton vectors: 5 per automaton (out_pat, dict_link, next_out, pat_len, pat_label).
AUTOMATA = ("p", "h", "m", "w", "b")  # phrases, html, mailers, url words, brands
I32_PARTS = (*(f"{a}_{v}" for a in AUTOMATA for v in ("out", "link", "next", "len", "label")),
             "link_ext_values", "att_ext_values", "att_type_values", "header_name_codes")
I32_P, I32_H, I32_M, I32_W, I32_B = (5 * i for i in range(len(AUTOMATA)))
I32_LINK_EXT, I32_ATT_EXT, I32_ATT_TYPE, I32_HDR_CODES = range(5 * len(AUTOMATA), len(I32_PARTS))

I64_PARTS = ("params", "own_tenant_off", "own_label_off", "brand_key_off", "vip_tenant_off", "vip_key_off",
             "brand_skel_off", "own_skel_off", "link_words_off", "header_words_off", "reply_off", "forward_off")
(I64_PARAMS, I64_OWN_TENANT, I64_OWN_LABEL, I64_BRAND_KEY, I64_VIP_TENANT, I64_VIP_KEY, I64_BSK, I64_OSK,
 I64_LINK_WORDS, I64_HDR_WORDS, I64_REPLY, I64_FWD) = range(len(I64_PARTS))

U64_PARTS = ("tld", "free_mail", "free_mail_x", "suspicious_tlds", "suspicious_tlds_x", "shorteners",
             "shorteners_x", "free_hosting", "free_hosting_x", "file_sharing", "file_sharing_x", "legit",
             "own", "vip_address", "finance", "link_ext_keys", "att_ext_keys", "att_type_keys", "att_compat",
             "header_name_keys")
(U64_TLD, U64_FREE, U64_FREE_X, U64_STLD, U64_STLD_X, U64_SHORT, U64_SHORT_X, U64_HOST, U64_HOST_X,
 U64_SHARE, U64_SHARE_X, U64_LEGIT, U64_OWN, U64_VIP_ADDR, U64_FIN, U64_LINK_EXT, U64_ATT_EXT, U64_ATT_TYPE,
 U64_ATT_COMPAT, U64_HDR_NAMES) = range(len(U64_PARTS))

PARAMS = ("text_cap", "html_cap", "n_families", "n_html", "callback", "n_mailer", "n_categories",
          "pdf_category", "archive_category", "tiny_pdf", "distance_cap", "phrase_max_len", "html_max_len")
(P_TEXT_CAP, P_HTML_CAP, P_N_FAM, P_N_HTML, P_CALLBACK, P_N_MAILER, P_N_CAT, P_PDF, P_ARCHIVE, P_TINY_PDF,
 P_DIST_CAP, P_PHRASE_MAX, P_HTML_MAX) = range(len(PARAMS))
GROUP_ORDER = ("content", "links", "attachments", "headers", "identity")


@njit(cache=True, inline="always")
def _part(blob, d, k):
    return blob[d[k]:d[k + 1]]


@njit(cache=True, inline="always")
def _word(off, data, k):
    return data[off[k]:off[k + 1]]


@njit(cache=True)
def signals_kernel(text, off, s_start, s_idx, nums, n_start, n_idx, g_off, g_idx, tenant_of,
                   u8, u8_dir, i32, i32_dir, i64, i64_dir, u64, u64_dir, fold,
                   p_table, h_table, m_table, w_table, b_table, brand_enabled, blocks, buf, out):
    """Fill out[:, blocks[2g]:blocks[2g] + blocks[2g + 1]] with group g of GROUP_ORDER (skipped
    when blocks[2g] < 0). String column k of STR_COLS is s_idx[k] of the packed batch; every
    string's offsets index text."""
    def sc(k):
        c = s_idx[k]
        return off[s_start[c]:s_start[c + 1] + 1]

    def nc(k):
        c = n_idx[k]
        return nums[n_start[c]:n_start[c + 1]]

    def gr(k):
        return g_off[g_idx[k]]

    def u8p(k):
        return _part(u8, u8_dir, k)

    def i32p(k):
        return _part(i32, i32_dir, k)

    def i64p(k):
        return _part(i64, i64_dir, k)

    def u64p(k):
        return _part(u64, u64_dir, k)

    params = i64p(I64_PARAMS)
    flags = u8p(U8_FLAGS)
    if blocks[0] >= 0:
        p = I32_P
        h = I32_H
        content_kernel(text, sc(S_SUBJ), sc(S_TEXT), sc(S_HTEXT), sc(S_HTML), fold, flags, u8p(U8_ASCII_CLASS),
                       u8p(U8_ASCII_OUT), params[P_TEXT_CAP], params[P_HTML_CAP], u8p(U8_P_CLASS), p_table, i32p(p),
                       i32p(p + 1), i32p(p + 2), i32p(p + 3), i32p(p + 4), params[P_N_FAM], u8p(U8_H_CLASS),
                       h_table, i32p(h), i32p(h + 1), i32p(h + 2), i32p(h + 3), i32p(h + 4), params[P_N_HTML],
                       params[P_CALLBACK], params[P_PHRASE_MAX], params[P_HTML_MAX], buf,
                       out[:, blocks[0]:blocks[0] + blocks[1]])
    if blocks[2] >= 0:
        w = I32_W
        b = I32_B
        lw_off = i64p(I64_LINK_WORDS)
        lw = u8p(U8_LINK_WORDS)
        words = (_word(lw_off, lw, 0), _word(lw_off, lw, 1), _word(lw_off, lw, 2), _word(lw_off, lw, 3),
                 _word(lw_off, lw, 4), _word(lw_off, lw, 5), _word(lw_off, lw, 6), _word(lw_off, lw, 7),
                 _word(lw_off, lw, 8))
        link_kernel(text, gr(G_LINKS), sc(S_L_URL), sc(S_L_ORIG), sc(S_L_SCHEME), sc(S_L_DOM), sc(S_L_ROOT), sc(S_L_PUNY),
                    sc(S_L_PATH), sc(S_L_QUERY), sc(S_L_DISP), sc(S_L_SRC), sc(S_ROOT), tenant_of, flags,
                    u64p(U64_TLD), u64p(U64_SHORT), u64p(U64_SHORT_X), u64p(U64_HOST), u64p(U64_HOST_X),
                    u64p(U64_SHARE), u64p(U64_SHARE_X), u64p(U64_STLD), u64p(U64_STLD_X), u8p(U8_W_CLASS), w_table,
                    i32p(w), i32p(w + 1), i32p(w + 2), i32p(w + 4), u8p(U8_B_CLASS), b_table, i32p(b), i32p(b + 1),
                    i32p(b + 2), i32p(b + 4), brand_enabled, u64p(U64_LEGIT), u64p(U64_LINK_EXT),
                    i32p(I32_LINK_EXT), u8p(U8_LINK_RISKY), words, out[:, blocks[2]:blocks[2] + blocks[3]])
    if blocks[4] >= 0:
        attachment_kernel(text, gr(G_ATT), sc(S_A_NAME), sc(S_A_EXT), sc(S_A_TYPE), nc(N_A_SIZE), nc(N_A_ENC),
                          nc(N_A_MEMBERS), gr(G_MEMBERS), sc(S_A_MEMBER), flags, u64p(U64_ATT_EXT),
                          i32p(I32_ATT_EXT), u64p(U64_ATT_TYPE), i32p(I32_ATT_TYPE), u64p(U64_ATT_COMPAT),
                          u8p(U8_ATT_RISKY), params[P_N_CAT], params[P_PDF], params[P_ARCHIVE],
                          np.float64(params[P_TINY_PDF]), out[:, blocks[4]:blocks[4] + blocks[5]])
    if blocks[6] >= 0:
        m = I32_M
        hw_off = i64p(I64_HDR_WORDS)
        hw = u8p(U8_HDR_WORDS)
        hwords = (_word(hw_off, hw, 0), _word(hw_off, hw, 1), _word(hw_off, hw, 2), _word(hw_off, hw, 3),
                  _word(hw_off, hw, 4), _word(hw_off, hw, 5), _word(hw_off, hw, 6))
        header_kernel(text, sc(S_ROOT), sc(S_EMAIL), sc(S_DISP), sc(S_SPF), nc(N_SPF), sc(S_SPF_DOM), sc(S_DKIM),
                      nc(N_DKIM), sc(S_DKIM_DOM), sc(S_DMARC), nc(N_DMARC), sc(S_DMARC_DOM), gr(G_RT),
                      sc(S_RT_ROOT), sc(S_RT_EMAIL), sc(S_RP_ROOT), sc(S_SENDER_HDR), sc(S_MSGID), nc(N_DATE),
                      sc(S_DATE_RAW), gr(G_HOPS), nc(N_HOP_TIME), sc(S_MAILER), u8p(U8_M_CLASS), m_table, i32p(m),
                      i32p(m + 1), i32p(m + 2), i32p(m + 3), i32p(m + 4), params[P_N_MAILER], sc(S_LIST_ID),
                      sc(S_LIST_UNSUB), sc(S_LIST_POST), sc(S_PREC), gr(G_FIELDS), sc(S_F_NAME), sc(S_F_VALUE),
                      u64p(U64_HDR_NAMES), i32p(I32_HDR_CODES), sc(S_IRT), gr(G_REFS), sc(S_SUBJ), i64p(I64_REPLY),
                      u8p(U8_REPLY), i64p(I64_FWD), u8p(U8_FWD), gr(G_TO), sc(S_TO_EMAIL), gr(G_CC), sc(S_CC_EMAIL),
                      gr(G_BCC), gr(G_DEFECTS), u64p(U64_TLD), hwords, out[:, blocks[6]:blocks[6] + blocks[7]])
    if blocks[8] >= 0:
        b = I32_B
        identity_kernel(text, sc(S_DOM), sc(S_ROOT), sc(S_TLD), sc(S_EMAIL), sc(S_LOCAL), sc(S_DISP), gr(G_RT),
                        sc(S_RT_DOM), sc(S_RT_ROOT), sc(S_RP_DOM), gr(G_TO), sc(S_TO_EMAIL), gr(G_CC),
                        sc(S_CC_EMAIL), tenant_of, fold, flags, u64p(U64_FREE), u64p(U64_FREE_X), u64p(U64_STLD),
                        u64p(U64_STLD_X), u8p(U8_HAS_OWN), u64p(U64_OWN), i64p(I64_OWN_TENANT), i64p(I64_OWN_LABEL),
                        u8p(U8_OWN_LABEL), brand_enabled, i64p(I64_BRAND_KEY), u8p(U8_BRAND_KEY), u64p(U64_LEGIT),
                        u8p(U8_B_CLASS), b_table, i32p(b), i32p(b + 1), i32p(b + 2), i32p(b + 4), u8p(U8_HAS_VIPS),
                        i64p(I64_VIP_TENANT), i64p(I64_VIP_KEY), u8p(U8_VIP_KEY), u64p(U64_VIP_ADDR), u64p(U64_FIN),
                        u8p(U8_HAS_FIN), i64p(I64_BSK), u8p(U8_BSK), i64p(I64_OSK), u8p(U8_OSK), params[P_DIST_CAP],
                        out[:, blocks[8]:blocks[8] + blocks[9]])
