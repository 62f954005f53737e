"""Parser and type checker of the rule language: every construct, every error with its position."""

from __future__ import annotations

import pytest

from pyscore.rules import parser as ast
from pyscore.rules.checker import check
from pyscore.rules.lexer import RuleSyntaxError, tokenize
from pyscore.rules.types import Catalog

CATALOG = Catalog.default(lists={"free": ("gmail.com",), "brands": ("paypal",)},
                          signals={"link_count": "num", "html_present": "bool",
                                   "baseline_sender_prevalence": "num", "baseline_sender_solicited": "num",
                                   "baseline_sender_days_known": "num", "baseline_sender_benign": "num",
                                   "baseline_sender_malicious": "num"})


def checked(source: str) -> ast.Node:
    return check(ast.parse(source), CATALOG)


def test_tokens_carry_line_and_column():
    toks = tokenize('a.b == "x" // comment\n  and $free in~ (1, -2.5)')
    assert [(t.kind, t.text, t.line, t.column) for t in toks[:4]] == [
        ("ident", "a", 1, 1), ("op", ".", 1, 2), ("ident", "b", 1, 3), ("op", "==", 1, 5)]
    kinds = [t.kind for t in toks]
    assert "list" in kinds and kinds[-1] == "eof"
    assert [t.value for t in toks if t.kind == "number"] == [1.0, -2.5]
    assert any(t.text == "in~" for t in toks)


def test_string_escapes_keep_regex_backslashes():
    (tok, _) = tokenize(r"'\bceo\b \. \\ \' \n'")
    assert tok.value == "\\bceo\\b \\. \\ ' \n"


@pytest.mark.parametrize("source", [
    'type.inbound and subject.subject == "x"',
    "not (sender.display_name is null) or sender.display_name is not null",
    'sender.email.domain.root_domain in $free and sender.email.domain.root_domain not in~ ("A", "b",)',
    "length(body.links) >= 2 and length(body.links) < 9 and size > 10 and size <= 1000000000 and length(attachments) != 0",
    'any(body.links, .href_url.domain.root_domain != sender.email.domain.root_domain)',
    'all(filter(attachments, .size > 0), .file_extension in~ ("exe"))',
    'any(map(body.links, .href_url.domain.tld), . == "ru")',
    'length(distinct(body.links, .href_url.domain.root_domain)) > 1',
    'any(distinct(map(recipients.to, .email.domain.root_domain)), . is not null)',
    'any(attachments, any(attachments.archive_members, strings.iends_with(., ".exe")))',
    'coalesce(sender.display_name, sender.email.email, "x") == "y" and coalesce(signals.link_count, 0) > 1',
    'strings.icontains(subject.subject, "a") and strings.contains(subject.subject, "a", "b")',
    'strings.ilike(subject.subject, "*a*") and strings.like(subject.subject, "a*")',
    'strings.starts_with(subject.subject, "a") and strings.istarts_with(subject.subject, "a")',
    'strings.ends_with(subject.subject, "a") and strings.iends_with(subject.subject, "a")',
    'strings.ilevenshtein(sender.display_name, "paypal") <= 2',
    'strings.replace_confusables(sender.display_name) == strings.concat("pay", "pal")',
    "regex.icontains(subject.subject, 'a+') and regex.contains(subject.subject, 'b')",
    "regex.imatch(subject.subject, 'a.*') or regex.match(subject.subject, 'b')",
    "any(regex.iextract(body.current_thread.text, '[0-9]+'), .full_match == \"1\")",
    'profile.by_sender().prevalence in ("new", "rare") and not profile.by_sender().solicited',
    "profile.by_sender().days_known < 3 and profile.by_sender().any_messages_malicious"
    " and not profile.by_sender().any_messages_benign",
    "signals.html_present and signals.link_count > 3 and headers.auth_summary.spf.pass == false",
    'any($brands, strings.icontains(sender.display_name, .)) and all($brands, . != "x")',
    "body.plain.raw is null",
])
def test_every_construct_parses_and_checks(source):
    assert checked(source).ty == "bool"


def test_precedence_not_binds_tighter_than_and_or():
    tree = ast.parse("not a.b == 1 and c.d == 2 or e.f == 3")
    assert isinstance(tree, ast.BoolOp) and tree.op == "or"
    first = tree.operands[0]
    assert isinstance(first, ast.BoolOp) and first.op == "and"
    assert isinstance(first.operands[0], ast.Not) and isinstance(first.operands[0].operand, ast.Compare)


def test_not_in_is_negated_in():
    tree = ast.parse('x.y not in ("a")')
    assert isinstance(tree, ast.Not) and isinstance(tree.operand, ast.In)
    assert isinstance(tree.operand.right, ast.Tuple)


@pytest.mark.parametrize("source, line, column, message", [
    ("", 1, 1, "expected an expression"),
    ("subject.subject ==", 1, 19, "expected a field, literal"),
    ('subject.subject == "x" "y"', 1, 24, "expected 'and', 'or'"),
    ('(subject.subject == "x"', 1, 24, "expected ',' or ')'"),
    ('strings.icontains(subject.subject "x")', 1, 35, "in the arguments of strings.icontains()"),
    ('subject.subject == "x\n', 1, 20, "unterminated string"),
    ("subject.subject == 1 #", 1, 22, "unexpected character '#'"),
    ("x.y in 3.0", 1, 1, "unknown field 'x.y'"),
    ("$ == 1", 1, 1, "expected a list name"),
    ("x.y is 1", 1, 8, "expected 'null' after 'is'"),
    ("()", 1, 2, "expected an expression or tuple items"),
    ("a.b.", 1, 4, None),
])
def test_syntax_errors_have_positions(source, line, column, message):
    with pytest.raises(RuleSyntaxError) as info:
        checked(source)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    if message:
        assert message in info.value.message


@pytest.mark.parametrize("source, line, column, message", [
    ("sender.email.emial == \"x\"", 1, 1, "unknown field 'sender.email.emial'; did you mean 'sender.email.email'?"),
    ("any(body.links, .href_url.domian == \"x\")", 1, 17, "unknown field '.href_url.domian' of body.links"),
    ('strings.icontain(subject.subject, "a")', 1, 1, "unknown function strings.icontain(); did you mean"),
    ("signals.no_such == 1", 1, 1, "unknown signal 'no_such'"),
    ('subject.subject in $nope', 1, 20, "unknown list $nope"),
    ("profile.by_sender().nope", 1, 21, "unknown profile field 'nope'"),
    ('subject.subject == 1', 1, 17, "cannot compare a string with a number"),
    ('subject.subject < "a"', 1, 17, "'<' compares numbers"),
    ('subject.subject == null', 1, 17, "use 'is null'"),
    ("subject.subject", 1, 1, "a rule must be a boolean expression, got a string"),
    ('subject.subject and true', 1, 1, "each operand of 'and' must be a boolean"),
    ("not size", 1, 5, "the operand of 'not' must be a boolean"),
    ('.file_name == "x"', 1, 1, "not inside any/all/filter/map"),
    ('any(subject.subject, true)', 1, 5, "must be a list field"),
    ('any(body.links, .href_url)', 1, 17, "unknown field '.href_url'"),
    ('any(body.links, 1)', 1, 17, "the condition of any() must be a boolean"),
    ('length(size) > 1', 1, 8, "length() takes a list or a string"),
    ('length(body.links, body.links) > 1', 1, 1, "length() takes 1 argument(s), got 2"),
    ('strings.icontains(subject.subject)', 1, 1, "takes at least 2 argument(s)"),
    ("regex.icontains(subject.subject, '(')", 1, 34, "invalid regex"),
    ("regex.icontains(subject.subject, subject.subject)", 1, 34, "must be a string literal"),
    ('subject.subject in (1, 2)', 1, 21, "each tuple item must be a string"),
    ('subject.subject in (sender.display_name)', 1, 21, "expected a tuple (...) or a $list after 'in'"),
    ('subject.subject in (sender.display_name, "a")', 1, 21, "tuple items must be string or number literals"),
    ('size in~ (1)', 1, 6, "'in~' compares strings"),
    ('("a", "b") == "a"', 1, 1, "may only follow 'in'"),
    ('body.links is null', 1, 12, "test length(...) == 0"),
    ('coalesce(size, "a") == 1', 1, 1, "coalesce() takes values of one scalar type"),
    ('length(distinct(body.links)) > 1', 1, 8, "needs a key"),
    ('any(distinct(body.links, .display_text), true)', 1, 5, "may only be counted with length()"),
    ('filter($brands, true) == 1', 1, 8, None),
    ('any(body.links, true) == true', 1, 1, "compare boolean fields and literals only"),
    ('any(body.links, any(attachments, .file_name == .display_text))', 1, 48, "unknown field '.display_text'"),
    ('profile.by_sender() == 1', 1, 21, "cannot compare"),
])
def test_type_errors_name_what_is_wrong(source, line, column, message):
    with pytest.raises(RuleSyntaxError) as info:
        checked(source)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    if message:
        assert message in info.value.message


def test_profile_fields_need_the_baseline_signals():
    bare = Catalog.default(signals={})
    with pytest.raises(RuleSyntaxError, match="not available: the baseline signal 'baseline_sender_days_known'"):
        check(ast.parse("profile.by_sender().days_known > 1"), bare)
    with pytest.raises(RuleSyntaxError, match="no signal registry is available"):
        check(ast.parse("signals.link_count > 1"), bare)


def test_multiline_positions():
    with pytest.raises(RuleSyntaxError) as info:
        checked('type.inbound\n// a comment\nand  sender.nope == "x"')
    assert (info.value.line, info.value.column) == (3, 6)
