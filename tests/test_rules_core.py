"""The rules component of the core: literal matcher, program validation, kernels."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pyscore import _core
from pyscore.batch import StringColumn
from pyscore.rules import functions as fn

CONTAINS, PREFIX, SUFFIX, EXACT = 1, 2, 4, 8


def _expected(value: str, pattern: str, mode: int, ci: bool) -> bool:
    if ci:
        value, pattern = fn.ascii_lower(value), fn.ascii_lower(pattern)
    return {CONTAINS: pattern in value, PREFIX: value.startswith(pattern), SUFFIX: value.endswith(pattern),
            EXACT: value == pattern}[mode]


@pytest.mark.parametrize("ci", [False, True])
def test_literal_matcher_agrees_with_python(ci):
    r = random.Random(ci)
    alphabet = "abAB\u212aé-"
    patterns = sorted({"".join(r.choice(alphabet) for _ in range(r.randint(1, 4))) for _ in range(40)})
    targets = [(p, a, m) for a, (p, m) in enumerate((p, m) for p in range(len(patterns)) for m in (1, 2, 4, 8))]
    matcher = _core.LiteralMatcher([(fn.ascii_lower(p) if ci else p).encode() for p in patterns], ci,
                                   np.array([t[0] for t in targets], np.int32), np.array([t[1] for t in targets], np.int32),
                                   np.array([t[2] for t in targets], np.uint8))
    values = ["".join(r.choice(alphabet) for _ in range(r.randint(0, 12))) for _ in range(300)]
    col = StringColumn.from_strings(values)
    base = np.arange(len(targets) + 1, dtype=np.int64) * len(values)
    buf = np.zeros(int(base[-1]), np.uint8)
    matcher.match(col.offsets, col.data, base, buf)
    for a, (p, _, m) in enumerate(targets):
        got = buf[base[a]:base[a + 1]].astype(bool).tolist()
        assert got == [_expected(v, patterns[p], m, ci) for v in values], (patterns[p], m)


def test_literal_matcher_rejects_bad_arguments():
    with pytest.raises(ValueError, match="empty pattern"):
        _core.LiteralMatcher([b""], False, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint8))
    with pytest.raises(ValueError, match="target pattern out of range"):
        _core.LiteralMatcher([b"a"], False, np.array([3], np.int32), np.array([0], np.int32), np.array([1], np.uint8))
    m = _core.LiteralMatcher([b"a"], False, np.array([0], np.int32), np.array([2], np.int32), np.array([1], np.uint8))
    col = StringColumn.from_strings(["a"])
    with pytest.raises(ValueError, match="atom_base is shorter"):
        m.match(col.offsets, col.data, np.zeros(1, np.int64), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="exceed the buffer"):
        m.match(col.offsets, col.data, np.array([0, 0, 9], np.int64), np.zeros(4, np.uint8))


def _program(op, a, b, kids_of, roots, parents=(-1,), n_atoms=1, n_num=0, n_codes=0):
    n_kids = np.array([len(k) for k in kids_of], np.int32)
    first = np.concatenate([[0], np.cumsum(n_kids)[:-1]]).astype(np.int32)
    kids = np.array([c for k in kids_of for c in k], np.int32)
    return _core.RuleProgram(np.array(op, np.int8), np.array(a, np.int32), np.array(b, np.int32), first, n_kids,
                             np.zeros(len(op)), kids, np.array(roots, np.int32), np.array(parents, np.int32),
                             n_atoms, n_num, n_codes)


@pytest.mark.parametrize("args, message", [
    (dict(op=[2, 5], a=[0, 0], b=[0, 0], kids_of=[[], [1]], roots=[1]), "a child must precede its parent"),
    (dict(op=[2], a=[3], b=[0], kids_of=[[]], roots=[0]), "atom or level out of range"),
    (dict(op=[99], a=[0], b=[0], kids_of=[[]], roots=[0]), "unknown op"),
    (dict(op=[2], a=[0], b=[0], kids_of=[[]], roots=[5]), "root out of range"),
    (dict(op=[2, 6], a=[0, 4], b=[0, 0], kids_of=[[], [0]], roots=[1]), "quantifier level out of range"),
    (dict(op=[2], a=[0], b=[0], kids_of=[[]], roots=[0], parents=(0,)), "level 0 must be the message"),
])
def test_program_validation(args, message):
    with pytest.raises(ValueError, match=message):
        _program(**args)


def test_program_checks_batch_buffers():
    # any(level 1, atom 0 @ level 1)
    prog = _program([2, 6], [0, 1], [1, 0], [[], [0]], [1], parents=(-1, 0))
    atoms = np.array([1, 0, 1], np.uint8)
    offsets = np.array([0, 0, 2, 3], np.int64)  # level 1 offsets for 2 messages
    out = np.zeros((2, 1), np.uint8)
    args = dict(nums=np.zeros(0), num_base=np.zeros(1, np.int64), codes=np.zeros(0, np.int64),
                code_base=np.zeros(1, np.int64), n_codes=0)
    prog.evaluate(2, offsets, np.array([0, 1], np.int64), np.array([2, 3], np.int64), atoms,
                  np.array([0, 3], np.int64), out=out, **args)
    assert out[:, 0].tolist() == [1, 1]
    with pytest.raises(ValueError, match="do not span"):
        prog.evaluate(2, offsets, np.array([0, 1], np.int64), np.array([2, 5], np.int64), atoms,
                      np.array([0, 3], np.int64), out=out, **args)
    with pytest.raises(ValueError, match="exceeds its buffer"):
        prog.evaluate(2, offsets, np.array([0, 1], np.int64), np.array([2, 3], np.int64), atoms[:2],
                      np.array([0, 3], np.int64), out=out, **args)
    with pytest.raises(ValueError, match="shape"):
        prog.evaluate(2, offsets, np.array([0, 1], np.int64), np.array([2, 3], np.int64), atoms,
                      np.array([0, 3], np.int64), out=np.zeros((3, 1), np.uint8), **args)


def test_pair_match_and_levenshtein_agree_with_python():
    r = random.Random(5)
    alphabet = "aAbB\u212a\u00e9."
    a = ["".join(r.choice(alphabet) for _ in range(r.randint(0, 8))) for _ in range(300)]
    b = ["".join(r.choice(alphabet) for _ in range(r.randint(0, 3))) for _ in range(300)]
    ca, cb = StringColumn.from_strings(a), StringColumn.from_strings(b)
    for mode, name in ((1, "contains"), (2, "starts_with"), (4, "ends_with")):
        for ci in (False, True):
            got = _core.pair_match(ca.offsets, ca.data, cb.offsets, cb.data, mode, ci).astype(bool).tolist()
            fname = f"strings.{'i' if ci else ''}{name}"
            want = [bool(x) and bool(y) and fn.string_predicate(fname, x, (y,)) for x, y in zip(a, b, strict=True)]
            assert got == want, (name, ci)
    dist = _core.folded_levenshtein(a, b).tolist()
    assert dist == [fn.levenshtein(fn.ascii_lower(x), fn.ascii_lower(y)) for x, y in zip(a, b, strict=True)]


def _random_strings(r: random.Random, n: int, longest: int) -> list[str]:
    alphabet = "aAbBkK\u212aé€😀 -"
    return ["".join(r.choice(alphabet) for _ in range(r.randint(0, longest))) for _ in range(n)]


def test_levenshtein_matrix_agrees_with_python():
    # Bit-parallel for patterns of up to 64 code points, the table beyond: both sides of 64.
    r = random.Random(5)
    a, b = _random_strings(r, 60, 90), _random_strings(r, 12, 80)
    ca, cb = StringColumn.from_strings(a), StringColumn.from_strings(b)
    got = _core.folded_levenshtein_matrix(ca.offsets, ca.data, cb.offsets, cb.data)
    want = [[fn.levenshtein(fn.ascii_lower(x), fn.ascii_lower(y)) for y in b] for x in a]
    assert got.tolist() == want
    assert _core.folded_levenshtein(["K" * 70], ["k" * 65]).tolist() == [5]


def test_code_point_counts():
    values = _random_strings(random.Random(6), 50, 20)
    col = StringColumn.from_strings(values)
    assert _core.code_point_counts(col.offsets, col.data).tolist() == [len(v) for v in values]
    with pytest.raises(ValueError, match="offsets"):
        _core.code_point_counts(np.array([0, 5], np.int64), np.zeros(2, np.uint8))


def test_utf8_validation_agrees_with_python():
    r = random.Random(7)
    pieces = [b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
              b"\xf4\x90\x80\x80", b"\x80", b"\xff", b"abcdefgh"]
    for _ in range(3000):
        raw = b"".join(r.choice(pieces) for _ in range(r.randint(0, 6)))
        raw = raw[: r.randint(0, len(raw))] if r.random() < 0.2 else raw  # cut sequences too
        try:
            raw.decode("utf-8")
            want = True
        except UnicodeDecodeError:
            want = False
        data = np.frombuffer(b"xx" + raw, np.uint8)
        assert _core.utf8_valid(data, 2, len(data)) == want, raw
    # ASCII runs are skipped by words: every run length, with an invalid byte right after the
    # range (never read) or inside it at the end.
    for n in range(80):
        data = np.frombuffer(b"xx" + b"a" * n + b"\xff\xff", np.uint8)
        assert _core.utf8_valid(data, 2, 2 + n)
        assert not _core.utf8_valid(data, 2, 3 + n)
        assert _core.utf8_valid(np.frombuffer(b"b" * n + "\u00e9".encode() + b"c" * n, np.uint8), 0, 2 * n + 2)
    with pytest.raises(ValueError, match="outside"):
        _core.utf8_valid(np.zeros(3, np.uint8), 2, 5)


def _match_all(patterns: list[str], values: list[str]) -> tuple[list, np.ndarray, np.ndarray]:
    targets = [(p, 4 * p + i, m) for p in range(len(patterns)) for i, m in enumerate((1, 2, 4, 8))]
    matcher = _core.LiteralMatcher([p.encode() for p in patterns], False, np.array([t[0] for t in targets], np.int32),
                                   np.array([t[1] for t in targets], np.int32), np.array([t[2] for t in targets], np.uint8))
    col = StringColumn.from_strings(values)
    base = np.arange(len(targets) + 1, dtype=np.int64) * len(values)
    buf = np.zeros(int(base[-1]), np.uint8)
    matcher.match(col.offsets, col.data, base, buf)
    return targets, base, buf


@pytest.mark.parametrize("n_values", [1, 2, 7])
def test_literal_matcher_across_segment_boundaries(n_values):
    # A column is scanned as up to four byte-balanced segments (one state chain each); a row cut
    # by a segment boundary is scanned by both sides with an overlap. Occurrences across every
    # boundary, at the ends and of whole rows must all be found.
    r = random.Random(n_values)
    patterns = ["abcab", "ba", "b" * 40, "cabbage", "zz"]
    values = ["".join(r.choice("ac") for _ in range(r.choice([300, 1024, 2001, 3000]))) + r.choice(["", "zz", "cabbage"])
              for _ in range(n_values)]
    values.append("b" * 40)
    text = bytearray("".join(values), "ascii")
    total = len(text)
    for j in range(1, 4):  # plant a pattern across each boundary the matcher will cut at
        cut = total * j // 4
        pattern = r.choice(patterns)
        start = max(0, min(total - len(pattern), cut - 1 - r.randint(0, len(pattern) - 2)))
        text[start:start + len(pattern)] = pattern.encode()
    lengths = [len(v) for v in values]
    values = [text[sum(lengths[:i]):sum(lengths[:i + 1])].decode() for i in range(len(values))]
    targets, base, buf = _match_all(patterns, values)
    for p, a, m in targets:
        got = buf[base[a]:base[a + 1]].astype(bool).tolist()
        assert got == [_expected(v, patterns[p], m, False) for v in values], (patterns[p], m)


@pytest.mark.parametrize("seed", range(6))
def test_literal_matcher_on_mixed_columns(seed):
    # Rows of every length (empty, short, longer than a segment) with frequent overlapping occurrences.
    r = random.Random(seed)
    patterns = sorted({"".join(r.choice("abc") for _ in range(r.randint(1, 6))) for _ in range(12)})
    values = ["".join(r.choice("abcd") for _ in range(r.choice([0, 1, 5, 40, 300, 700, 1500]))) for _ in range(r.randint(1, 30))]
    targets, base, buf = _match_all(patterns, values)
    for p, a, m in targets:
        got = buf[base[a]:base[a + 1]].astype(bool).tolist()
        assert got == [_expected(v, patterns[p], m, False) for v in values], (patterns[p], m)


def _packed(strings: list[list[str]]):
    text, offsets, start = b"", [0], [0]
    for column in strings:
        for v in column:
            text += v.encode()
            offsets.append(len(text))
        start.append(len(offsets) - 1)
    return np.frombuffer(text, np.uint8).copy(), np.array(offsets, np.int64), np.array(start, np.int64)


def test_column_ops_over_a_packed_batch():
    # Two messages; a group with elements 2 + 1. String column 0 is per message, 1 per element.
    text, offsets, start = _packed([["a.com", ""], ["A.com", "b.com", "x"]])
    numbers, number_start = np.array([1.5, math.nan]), np.array([0, 2], np.int64)
    group_offsets = np.array([[0, 2, 3]], np.int64)
    signals = np.array([[0.0, 7.0], [1.0, 8.0]])
    atom_ops = np.array([
        (0, 0, 1, 1, 1, 0, 0, 0),        # element non-null
        (2, 1, 1, 1, 1, 0, 0, 0),        # element != its message's value
        (1, 2, 1, 1, 1, 0, 0, 0),        # element == its message's value
        (3, 3, 1, 1, 1, 0, 0, 1 | 16),   # element contains its message's value, ASCII-folded
        (3, 4, 1, 1, 1, 0, 0, 1),        # ... case-sensitive
    ], np.int32)
    num_ops = np.array([
        (0, 0, 0, 0, 0, 0),  # number column 0
        (1, 1, 0, 1, 0, 0),  # signal 1
        (2, 2, 1, 1, 1, 0),  # code points of the elements
        (3, 3, 1, 0, 0, 0),  # edit distance of the message value to "a.con", per element
        (3, 4, 0, 0, 0, 1),  # edit distance to "" (always null)
    ], np.int32)
    ops = _core.ColumnOps(np.array([-1, 0], np.int32), atom_ops, num_ops, [b"a.con", b""])
    rows = np.array([2, 3], np.int64)
    atom_base = np.array([0, 3, 6, 9, 12, 15], np.int64)
    buf = np.zeros(15, np.uint8)
    num_base = np.array([0, 2, 4, 7, 10, 12], np.int64)
    nums = np.full(12, -1.0)
    ops.run(text, offsets, start, numbers, number_start, group_offsets, signals, rows, atom_base, buf, num_base, nums)
    assert buf.reshape(5, 3).tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]]
    assert nums[:2].tolist()[0] == 1.5 and math.isnan(nums[1])
    assert nums[2:4].tolist() == [7.0, 8.0]
    assert nums[4:7].tolist() == [5.0, 5.0, 1.0]
    assert nums[7:9].tolist() == [1.0, 1.0] and math.isnan(nums[9])
    assert np.isnan(nums[10:12]).all()


def test_column_ops_rejects_bad_plans_and_batches():
    no_nums = np.zeros((0, 6), np.int32)
    levels = np.array([-1, 0], np.int32)
    with pytest.raises(ValueError, match="unknown atom kind"):
        _core.ColumnOps(levels, np.array([(9, 0, 0, 0, 0, 0, 0, 0)], np.int32), no_nums, [])
    with pytest.raises(ValueError, match="own level"):
        _core.ColumnOps(levels, np.array([(0, 0, 1, 0, 0, 0, 0, 0)], np.int32), no_nums, [])
    with pytest.raises(ValueError, match="out of range"):  # an element column read at the message level
        _core.ColumnOps(levels, np.array([(1, 0, 0, 0, 1, 0, 0, 0)], np.int32), no_nums, [])
    with pytest.raises(ValueError, match="level 0"):
        _core.ColumnOps(np.array([0], np.int32), np.zeros((0, 8), np.int32), no_nums, [])
    ops = _core.ColumnOps(levels, np.array([(0, 0, 1, 1, 1, 0, 0, 0)], np.int32), no_nums, [])
    text, offsets, start = _packed([["a"], ["x", "y"]])
    args = (text, offsets, start, np.zeros(0), np.zeros(1, np.int64), np.array([[0, 2]], np.int64), np.zeros((1, 0)))
    with pytest.raises(ValueError, match="do not span the level"):
        ops.run(*args, np.array([1, 3], np.int64), np.array([0, 3], np.int64), np.zeros(3, np.uint8),
                np.zeros(1, np.int64), np.zeros(0))
    text3, offsets3, start3 = _packed([["a"], ["x", "y", "z"]])
    with pytest.raises(ValueError, match="differ from its level"):
        ops.run(text3, offsets3, start3, *args[3:], np.array([1, 2], np.int64), np.array([0, 2], np.int64),
                np.zeros(2, np.uint8), np.zeros(1, np.int64), np.zeros(0))
    with pytest.raises(ValueError, match="exceed the buffer"):
        ops.run(*args, np.array([1, 2], np.int64), np.array([0, 2], np.int64), np.zeros(1, np.uint8),
                np.zeros(1, np.int64), np.zeros(0))
