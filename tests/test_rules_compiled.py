"""Compiled rules (atoms + core program) against the reference interpreter."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from rules_gen import NAMED_LISTS, SIGNALS, RuleGen, random_message, random_signals

from pyscore.batch import MessageBatch
from pyscore.message import Attachment, Body, Link, Message, Subject, Url
from pyscore.rules import fastregex
from pyscore.rules.checker import check
from pyscore.rules.compiler import Compiler
from pyscore.rules.interpreter import interpret, message_row
from pyscore.rules.parser import parse
from pyscore.rules.runtime import CompiledRules, RuleMeta
from pyscore.rules.types import Catalog

CATALOG = Catalog.default(lists=NAMED_LISTS, signals=SIGNALS)


@pytest.fixture(params=["fast", "re"])
def regex_engine(request, monkeypatch):
    """Both regex paths: Hyperscan where it is installed (else the test is the re path twice), and re."""
    if request.param == "re":
        monkeypatch.setenv(fastregex.ENV_SWITCH, "re")
    elif not fastregex.available():
        pytest.skip("hyperscan is not installed")
    return request.param


def compile_sources(sources: list[str]):
    trees = [check(parse(s), CATALOG) for s in sources]
    compiler = Compiler(CATALOG.lists)
    for t in trees:
        compiler.add_rule(t)
    metas = [RuleMeta(f"r{i}", str(i), "spam", "low", "active") for i in range(len(trees))]
    return trees, CompiledRules(metas, compiler)


def both(sources: list[str], messages: list[Message], signals: list[dict[str, float]] | None = None):
    signals = signals or [{} for _ in messages]
    trees, compiled = compile_sources(sources)
    names = sorted(SIGNALS)
    features = np.array([[s.get(n, math.nan) for n in names] for s in signals], np.float32).reshape(len(messages), -1)
    got = compiled.evaluate(MessageBatch.from_messages(messages), features=features, feature_names=names)
    rows = [message_row(m, CATALOG, s) for m, s in zip(messages, signals, strict=True)]
    want = np.array([[interpret(t, row, CATALOG.lists) for t in trees] for row in rows], np.uint8)
    return got, want.reshape(got.shape)


@pytest.mark.parametrize("seed", range(6))
def test_generated_rules_agree_with_reference(seed, regex_engine):
    gen = RuleGen(seed)
    sources = [gen.rule(depth=3) for _ in range(60)]
    r = random.Random(1000 + seed)
    messages = [random_message(r) for _ in range(250)]
    signals = [random_signals(r) for _ in messages]
    got, want = both(sources, messages, signals)
    mismatch = np.argwhere(got != want)
    assert not len(mismatch), [(sources[j], i) for i, j in mismatch[:5]]
    assert 0 < want.mean() < 1  # the generated rules do fire, and not always


def _links(*domains):
    return tuple(Link(Url(url=f"http://{d}/", domain=__import__("pyscore.message").message.Domain(d, d, "")))
                 for d in domains)


EDGE_MESSAGES = [
    Message(),  # everything null or empty
    Message(subject=Subject("Invoice"), links=_links("a.com")),
    Message(links=_links("a.com", "a.com", "b.com"), attachments=(Attachment(file_name="x.exe", file_extension="exe"),)),
    Message(links=_links("", "b.com"), body=Body(current_thread_text="pay now")),
]


@pytest.mark.parametrize("source, expected", [
    ("any(body.links, .href_url.domain.root_domain == \"a.com\")", [0, 1, 1, 0]),
    ("all(body.links, .href_url.domain.root_domain == \"a.com\")", [0, 1, 0, 0]),  # all() of [] is false
    ("not any(body.links, true)", [1, 0, 0, 0]),
    ("length(body.links) == 0", [1, 0, 0, 0]),
    ("length(distinct(body.links, .href_url.domain.root_domain)) == 2", [0, 0, 1, 0]),
    ("length(distinct(body.links, .href_url.domain.root_domain)) == 1", [0, 1, 0, 1]),  # null keys not counted
    ("any(distinct(map(body.links, .href_url.domain.root_domain)), . is null)", [0, 0, 0, 0]),
    ("any(map(body.links, .href_url.domain.root_domain), . is null)", [0, 0, 0, 1]),
    ("length(filter(body.links, .href_url.domain.root_domain != \"a.com\")) == 1", [0, 0, 1, 1]),
    ("all(filter(body.links, .href_url.domain.root_domain == \"z.com\"), false)", [0, 0, 0, 0]),
    ("subject.subject is null", [1, 0, 1, 1]),
    ("subject.subject != \"x\"", [0, 1, 0, 0]),  # null != "x" is null, hence false
    ("not subject.subject == \"x\"", [1, 1, 1, 1]),
    ("length(subject.subject) > 0", [0, 1, 0, 0]),
    ("coalesce(subject.subject, \"none\") == \"none\"", [1, 0, 1, 1]),
    ("any(attachments, any(body.links, .href_url.domain.root_domain == \"b.com\"))", [0, 0, 1, 0]),
    ("headers.auth_summary.dmarc.pass == false", [0, 0, 0, 0]),
    ("not headers.auth_summary.dmarc.pass", [1, 1, 1, 1]),
    ("any(attachments, .file_extension in~ (\"EXE\"))", [0, 0, 1, 0]),
    ("any(regex.iextract(body.current_thread.text, '[a-z]+'), .full_match == \"now\")", [0, 0, 0, 1]),
    ("length(regex.iextract(body.current_thread.text, '[a-z]+')) == 2", [0, 0, 0, 1]),
])
def test_quantifier_and_null_edge_cases(source, expected, regex_engine):
    got, want = both([source], EDGE_MESSAGES)
    assert want[:, 0].tolist() == expected
    assert got[:, 0].tolist() == expected


def test_case_folding_is_ascii_only_in_both_paths(regex_engine):
    # K (Kelvin sign) and the long s fold to k / s under Unicode rules, not under ours.
    msgs = [Message(subject=Subject(s)) for s in ["KELVIN \u212a", "kelvin k", "ſtraße", "STRASSE"]]
    sources = ['strings.icontains(subject.subject, "k")', 'regex.icontains(subject.subject, "s")',
               'subject.subject in~ ("kelvin k")', 'strings.ilike(subject.subject, "*ß*")']
    got, want = both(sources, msgs)
    assert (got == want).all()
    assert want[:, 1].tolist() == [0, 0, 0, 1]  # the long s is not an s


def test_empty_batch_and_batch_of_one():
    _, compiled = compile_sources(['strings.icontains(subject.subject, "a")', "length(body.links) > 1"])
    empty = compiled.evaluate(MessageBatch.from_messages([]))
    assert empty.shape == (0, 2)
    one = compiled.evaluate(MessageBatch.from_messages([Message(subject=Subject("a"))]))
    assert one.tolist() == [[1, 0]]


def test_signals_are_required_when_rules_read_them():
    _, compiled = compile_sources(["signals.sig_num > 1"])
    batch = MessageBatch.from_messages([Message()])
    with pytest.raises(ValueError, match="read signals"):
        compiled.evaluate(batch)
    with pytest.raises(ValueError, match="lacks signals"):
        compiled.evaluate(batch, features=np.zeros((1, 1), np.float32), feature_names=["other"])
    assert compiled.evaluate(batch, features=np.full((1, 1), 2, np.float32), feature_names=["sig_num"]).tolist() == [[1]]


def test_literals_are_shared_in_one_matcher_per_column():
    _, compiled = compile_sources([
        'strings.icontains(subject.subject, "invoice")', 'strings.icontains(subject.subject, "pay", "invoice")',
        'subject.subject in~ ("hello", "INVOICE")', "regex.icontains(subject.subject, 'invoice [0-9]+')"])
    dump = compiled.dump()
    assert dump.count("matcher on ('col', 'subject.subject')") == 1
    assert "'invoice'" in dump and "regex" in dump


@pytest.mark.parametrize("pattern", [
    "(loan|mortgage)[^.\\n]{0,60}(approved|low rate)", "gift ?cards?[^.]{0,10}codes?", "pay(pal)?.{0,5}now",
    "(a|b)c{1,3}d", "\\bceo\\b", "^re:", "x{2,}y", "verify (your )?account",
])
def test_windowed_regex_search_equals_full_search(pattern):
    from pyscore.rules import functions as fn
    from pyscore.rules.runtime import _run_plan, _search_plan

    r = random.Random(pattern)
    alphabet = ["loan", "mortgage", " ", ".", "\n", "approved", "low rate", "gift", "card", "cards", "codes", "code",
                "paypal", "pay", "now", "a", "b", "c", "d", "ceo", "re:", "x", "y", "verify", "your", "account", "zz"]
    for ci in (False, True):
        plan = _search_plan((pattern,), ci, False)
        for _ in range(400):
            text = "".join(r.choice(alphabet) for _ in range(r.randint(0, 40)))
            text = text.upper() if r.random() < 0.2 else text
            assert _run_plan(plan, text) == fn.regex_test(text, (pattern,), ci, False), (pattern, ci, text)


def test_fast_engine_runs_translatable_regexes_and_leaves_the_rest_to_re(regex_engine):
    sources = ["regex.icontains(body.current_thread.text, '(loan|pay)[^.\\n]{0,20}(approved|now)')",
               "regex.contains(body.current_thread.text, 'pay(?= now)')",  # lookahead: re only
               "regex.imatch(subject.subject, 're:.*')",
               "any(regex.iextract(body.current_thread.text, 'pay [a-z]+'), .full_match == \"pay now\")"]
    msgs = [Message(subject=Subject(s), body=Body(current_thread_text=t)) for s, t in [
        ("RE: loan", "Loan pre-approved today"), ("re", "pay now"), ("Re: x", "pay later.\nnow"), ("", "PAY NOW")]]
    got, want = both(sources, msgs)
    assert (got == want).all()
    assert want.T.tolist() == [[1, 1, 0, 1], [0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]]
    dump = compile_sources(sources)[1].dump()
    if regex_engine == "fast":
        assert "fast regexes on ('col', 'body.current_thread.text'): 1 expressions, 0 refused" in dump
    else:
        assert "fast regexes" not in dump


def test_one_message_batches_and_unpacked_batches_agree_with_whole_batches(regex_engine):
    # The engine scores one message at a time (small-batch paths: no guards, whole packed text);
    # a batch made of columns rather than packed from messages takes the column-by-column paths.
    gen = RuleGen(11)
    sources = [gen.rule(depth=3) for _ in range(60)]
    r = random.Random(11)
    messages = [random_message(r) for _ in range(40)]
    signals = [random_signals(r) for _ in messages]
    names = sorted(SIGNALS)
    features = np.array([[s.get(n, math.nan) for n in names] for s in signals], np.float32)
    _, compiled = compile_sources(sources)
    batch = MessageBatch.from_messages(messages)
    whole = compiled.evaluate(batch, features=features, feature_names=names)
    single = np.vstack([compiled.evaluate(MessageBatch.from_messages([m]), features=features[i:i + 1],
                                          feature_names=names) for i, m in enumerate(messages)])
    unpacked = MessageBatch(batch.ids, {k: batch.columns[k] for k in batch.columns},
                            {g: batch.lists[g] for g in batch.lists})
    assert "packed" not in vars(unpacked)
    assert (single == whole).all()
    assert (compiled.evaluate(unpacked, features=features, feature_names=names) == whole).all()
    got, want = both(sources, messages, signals)
    assert (whole == want).all()


def test_confusables_rewrite_only_non_ascii_rows():
    # The runtime keeps ASCII rows' bytes and rewrites the others: same as rewriting every value.
    from pyscore.batch import StringColumn
    from pyscore.rules import functions as fn
    from pyscore.rules.runtime import _non_ascii_rows, _replace_rows

    values = ["", "Paypal", "Р\u0430yp\u0430l", "ｐａｙｐａｌ", "plain", "", "Аpple\u200b", "Р\u0430yp\u0430l", "x"]
    col = StringColumn.from_strings(values)
    data = bytearray(col.data.tobytes())
    data[col.offsets[-2]] = 0xFF  # one row that is not UTF-8 ("x" becomes b"\xff")
    col = StringColumn(col.offsets, np.frombuffer(bytes(data), np.uint8))
    rows = _non_ascii_rows(col)
    assert rows.tolist() == [2, 3, 6, 7, 8]
    got = _replace_rows(col, rows, fn.replace_confusables)
    want = StringColumn.from_strings([fn.replace_confusables(col[i]) for i in range(len(col))])
    assert got.offsets.tolist() == want.offsets.tolist()
    assert got.data.tobytes() == want.data.tobytes()


def test_large_regex_columns_scan_row_copies_like_whole_copies(regex_engine):
    # A regex column larger than _COPY_WHOLE is read through a view, row by row; repeated values
    # share one scan. Same results as the reference, rows with hits in the middle and at the end.
    from pyscore.rules.runtime import _COPY_WHOLE, _ROW_BYTES, _SMALL

    filler = "lorem ipsum dolor sit amet. " * (_COPY_WHOLE // (28 * 10))
    texts = [filler + ("loan pre-approved now" if i % 3 == 0 else "nothing") + filler * (i % 2)
             for i in range(2 * _SMALL)] + ["pay now"] * 3 + ["", "é pay now é"]
    sources = ["regex.icontains(body.current_thread.text, '(loan|pay)[^.\\n]{0,20}(approved|now)')",
               "regex.contains(body.current_thread.text, 'ipsum d[a-z]+ sit') and "
               "regex.icontains(body.current_thread.text, 'pay now$')"]
    msgs = [Message(body=Body(current_thread_text=t)) for t in texts]
    assert sum(len(t.encode()) for t in texts) > _COPY_WHOLE
    got, want = both(sources, msgs)
    assert (got == want).all()
    assert want[:, 0].sum() == len(range(0, 2 * _SMALL, 3)) + 4
    # Many short rows scanned (more than the column's bytes / _ROW_BYTES): the column copied once.
    short = [f"row {i} pay now or loan approved. lorem ipsum dolor sit amet {i % 7}" for i in range(_COPY_WHOLE // 60)]
    assert sum(map(len, short)) > _COPY_WHOLE and len(short) * _ROW_BYTES > sum(map(len, short))
    got, want = both(sources, [Message(body=Body(current_thread_text=t)) for t in short])
    assert (got == want).all() and want[:, 0].all()
