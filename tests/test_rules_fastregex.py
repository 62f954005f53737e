"""The fast regex engine (Python ``re`` patterns translated to Hyperscan) against Python ``re``."""

from __future__ import annotations

import random
import re

import pytest

from pyscore.rules import fastregex

needs_hyperscan = pytest.mark.skipif(fastregex.hyperscan is None, reason="hyperscan is not installed")

# Characters that tell dialects apart: ASCII case, Unicode letters that fold to ASCII in
# Unicode mode (KELVIN SIGN, long s, dotless i), accented letters, digits of other scripts,
# Unicode spaces, newlines at the end.
ALPHABET = ["a", "b", "A", "B", "k", "K", "s", "S", "\u212a", "\u017f", "\u0131", "é", "É", "1", "\u0663",
            " ", "\u00a0", "\u2003", "\n", "\t", "_", ".", "-", "@", "x", "€", "😀"]
ATOMS = ["a", "b", "k", "s", "K", "S", "é", "É", "\u212a", ".", "\\.", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S",
         "[a-c]", "[^a]", "[^\\s]", "[\\w@]", "[^\\W_]", "[A-Z]", "[^k]", "[éa]", "[\\d.]", "[^\\n]", "x", "1",
         "😀", "[ -/]", "\\n", " ", "€"]
ANCHORS = ["^", "$", "\\A", "\\Z", "\\b", "\\B"]
FLAGS = ["", "(?i)", "(?s)", "(?is)"]


def random_pattern(r: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(r.randint(1, 3)):
        roll = r.random()
        if roll < 0.6 or depth > 1:
            item = r.choice(ATOMS)
        elif roll < 0.7:
            item = r.choice(ANCHORS)
        elif roll < 0.8:
            item = "(" + "|".join(random_pattern(r, depth + 1) for _ in range(r.randint(1, 3))) + ")"
        else:
            item = "(?" + r.choice(["i", "s", "-i"]) + ":" + random_pattern(r, depth + 1) + ")"
        if not item.startswith(("^", "$", "\\A", "\\Z", "\\b", "\\B")) and r.random() < 0.35:
            item += r.choice(["*", "+", "?", "{2}", "{1,3}", "{0,2}", "*?", "+?", "{,2}", "{2,}"])
        parts.append(item)
    return "".join(parts)


def random_text(r: random.Random) -> str:
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(1, 12)))


def python_matches(pattern: str, ci: bool, whole: bool, text: str) -> bool:
    rx = re.compile(pattern, re.ASCII | (re.IGNORECASE if ci else 0))
    return (rx.fullmatch(text) if whole else rx.search(text)) is not None


@needs_hyperscan
@pytest.mark.parametrize("seed", range(4))
def test_translated_patterns_match_what_re_matches(seed, monkeypatch):
    monkeypatch.setenv(fastregex.CACHE_ENV, "off")  # one-off pattern sets: keep them out of the disk cache
    r = random.Random(seed)
    cases = []
    for _ in range(100):
        pattern = r.choice(FLAGS) + random_pattern(r)
        try:
            re.compile(pattern, re.ASCII)
        except re.error:
            continue
        cases.append((pattern, r.random() < 0.5, r.random() < 0.3))
    translated = [(case, fastregex.translate(*case)) for case in cases]
    kept = [(case, alternatives) for case, alternatives in translated if alternatives is not None]
    assert len(kept) > 0.8 * len(cases)  # most generated patterns have an exact translation
    expressions = sorted({e for _, alternatives in kept for e in alternatives})
    regexes = fastregex.RegexSet(expressions)
    # Hyperscan refuses anchors inside a pattern (a$b): those stay with re.
    refused = {expressions[i] for i in regexes.rejected}
    checked = [(case, alternatives) for case, alternatives in kept if not refused & set(alternatives)]
    assert len(checked) > 0.5 * len(kept)
    for text in [random_text(r) for _ in range(200)]:
        found = {expressions[i] for i in regexes.scan(text.encode("utf-8"))}
        assert not found & refused
        for case, alternatives in checked:
            assert bool(found & set(alternatives)) == python_matches(*case, text), (case, text)


@needs_hyperscan
@pytest.mark.parametrize(("pattern", "ci", "text", "want"), [
    ("k", True, "\u212a", False),  # re.ASCII folds ASCII letters only
    ("é", True, "É", False),
    ("[a-z]", True, "\u017f", False),
    ("paypal", True, "PayPal", True),
    ("a$", False, "a\n", True),  # '$' also before a final newline
    ("a\\Z", False, "a\n", False),
    ("\\bcat\\b", False, "écat", True),  # ASCII word boundary: é is not a word character
    ("\\d", False, "\u0663", False),
    ("\\s", False, "\u00a0", False),
    ("a.b", False, "a\nb", False),
    ("(?s)a.b", False, "a\nb", True),
    ("a.b", False, "a😀b", True),  # '.' is one code point, not one byte
    ("[^x]{2}", False, "é", False),
])
def test_dialect_edges(pattern, ci, text, want):
    assert python_matches(pattern, ci, False, text) == want
    regexes = fastregex.RegexSet(fastregex.translate(pattern, ci, False))
    assert bool(regexes.scan(text.encode("utf-8"))) == want


@pytest.mark.parametrize("pattern", [
    "(?<=a)b", "a(?=b)", "a(?!b)", "(a)\\1", "(a)?(?(1)b|c)", "a*+", "(?>a+)b", "(?m)^a", "(?m)a$", "\ud800",
    "[^\\s\\S]",
])
def test_untranslatable_patterns_fall_back(pattern):
    assert fastregex.translate(pattern, False, False) is None


@needs_hyperscan
def test_rejected_expressions_are_reported_not_raised():
    regexes = fastregex.RegexSet(["abc", "a{1,99999}", "x"])
    assert regexes.rejected == {1}
    assert regexes.scan(b"xabc") in ([0, 2], [2, 0])


def test_switch_turns_the_engine_off(monkeypatch):
    monkeypatch.setenv(fastregex.ENV_SWITCH, "re")
    assert not fastregex.available()


@needs_hyperscan
def test_compiled_databases_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv(fastregex.CACHE_ENV, str(tmp_path))
    expressions = (fastregex.translate("cache (test|probe) [0-9]{2}", True, False)[0], "unique\\x{e9}")
    fastregex._database.cache_clear()
    first = fastregex.RegexSet(expressions)
    files = list(tmp_path.glob("*.hsdb"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    fastregex._database.cache_clear()
    again = fastregex.RegexSet(expressions)  # loaded from the file
    for text in ["CACHE probe 42", "uniqueé", "cache test 4"]:
        assert again.scan(text.encode()) == first.scan(text.encode())
    files[0].write_bytes(b"damaged")
    fastregex._database.cache_clear()
    assert fastregex.RegexSet(expressions).scan(b"cache TEST 12") == [0]  # recompiled
