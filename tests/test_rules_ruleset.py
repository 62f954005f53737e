"""Rule files: loading, positioned errors, ids, named lists, inline tests and the CLI."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from pyscore.batch import MessageBatch
from pyscore.cli import main
from pyscore.message import Message, Subject
from pyscore.rules import RuleSet
from pyscore.rules.ruleset import rule_id
from pyscore.rules.testing import run_tests

GOOD = """\
name: "Subject says invoice"
description: "test rule"
type: rule
severity: low
source: |
  type.inbound
  and strings.icontains(subject.subject, "invoice")
attack_types: ["Spam"]
tactics_and_techniques: []
detection_methods: ["Content analysis"]
mode: shadow
category: spam
tests:
  - expect: match
    message:
      subject: {subject: "Your INVOICE"}
  - expect: no_match
    message: |
      From: a@b.com
      Subject: hello

      body
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_good_rule_and_metadata(tmp_path):
    write(tmp_path, "spam/sp_invoice.yml", GOOD)
    rs = RuleSet.load(tmp_path)
    assert not rs.errors
    (rule,) = rs.rules
    assert rule.id == rule_id("spam/sp_invoice.yml")
    assert (rule.mode, rule.category, rule.severity) == ("shadow", "spam", "low")
    compiled = rs.compile()
    assert [m.name for m in compiled.rules] == ["Subject says invoice"]
    assert compiled.rules[0].mode == "shadow"
    out = compiled.evaluate(MessageBatch.from_messages([Message(subject=Subject("an Invoice")), Message()]))
    assert out.dtype == np.uint8 and out.tolist() == [[1], [0]]
    assert rs.compile(modes=("active",)).rules == []
    assert all(o.passed for o in run_tests(rs))


def test_explicit_id_survives_rename(tmp_path):
    rid = rule_id("spam/old_name.yml")
    write(tmp_path, "spam/new_name.yml", GOOD + f'id: "{rid}"\n')
    assert RuleSet.load(tmp_path).rules[0].id == rid


def test_bad_rules_are_reported_with_file_line_column_and_skipped(tmp_path):
    write(tmp_path, "a_good.yml", GOOD)
    bad_source = GOOD.replace('strings.icontains(subject.subject, "invoice")', 'strings.icontains(subject.sbj, "x")')
    write(tmp_path, "b_bad_field.yml", bad_source)
    write(tmp_path, "c_bad_syntax.yml", GOOD.replace('and strings.icontains(subject.subject, "invoice")',
                                                        'and strings.icontains(subject.subject "invoice")'))
    write(tmp_path, "d_bad_yaml.yml", "name: [unclosed\n")
    write(tmp_path, "e_bad_key.yml", GOOD + "colour: red\n")
    write(tmp_path, "f_bad_taxonomy.yml", GOOD.replace('attack_types: ["Spam"]', 'attack_types: ["spam"]'))
    write(tmp_path, "g_no_source.yml", "name: x\ncategory: spam\n")
    write(tmp_path, "h_bad_mode.yml", GOOD.replace("mode: shadow", "mode: loud"))
    write(tmp_path, "i_invisible.yml", GOOD.replace("type.inbound", "type.inbound\u200b"))
    write(tmp_path, "j_dup.yml", GOOD + f'id: "{rule_id("a_good.yml")}"\n')
    rs = RuleSet.load(tmp_path)
    assert [r.path.rsplit("/", 1)[-1] for r in rs.rules] == ["a_good.yml"]
    errors = {e.path.rsplit("/", 1)[-1]: e for e in rs.errors}
    assert set(errors) == {"b_bad_field.yml", "c_bad_syntax.yml", "d_bad_yaml.yml", "e_bad_key.yml",
                           "f_bad_taxonomy.yml", "g_no_source.yml", "h_bad_mode.yml", "i_invisible.yml", "j_dup.yml"}
    field = errors["b_bad_field.yml"]
    assert (field.line, field.column) == (7, 25) and "unknown field 'subject.sbj'" in field.message
    assert "b_bad_field.yml:7:25: rule 'Subject says invoice':" in str(field)
    syntax = errors["c_bad_syntax.yml"]
    assert (syntax.line, syntax.column) == (7, 41) and "expected ',' or ')'" in syntax.message
    assert errors["d_bad_yaml.yml"].message.startswith("invalid YAML")
    assert "unknown key 'colour'" in errors["e_bad_key.yml"].message
    assert errors["e_bad_key.yml"].line == 23
    assert "'spam' is not one of" in errors["f_bad_taxonomy.yml"].message
    assert "'source' is required" in errors["g_no_source.yml"].message
    assert "mode: 'loud'" in errors["h_bad_mode.yml"].message
    assert "invisible character U+200B" in errors["i_invisible.yml"].message
    assert "duplicate id" in errors["j_dup.yml"].message


def test_named_lists_are_overridable(tmp_path):
    write(tmp_path, "r.yml", GOOD.replace('strings.icontains(subject.subject, "invoice")',
                                          "sender.email.domain.root_domain in $org_domains").replace(
        "tests:", "tests: []\nx_tests:").split("x_tests:")[0])
    default = RuleSet.load(tmp_path)
    assert default.lists["org_domains"] == ()
    assert "gmail.com" in default.lists["free_email_providers"]
    tenant = RuleSet.load(tmp_path, lists={"org_domains": ["corp.com"]})
    assert tenant.lists["org_domains"] == ("corp.com",)


def test_failing_inline_test_is_reported(tmp_path):
    write(tmp_path, "r.yml", GOOD.replace("expect: no_match", "expect: match"))
    outcomes = run_tests(RuleSet.load(tmp_path))
    assert [o.passed for o in outcomes] == [True, False]
    assert outcomes[1].compiled is False and outcomes[1].reference is False


def test_cli_check_test_and_exit_codes(tmp_path, capsys):
    write(tmp_path, "ok/r.yml", GOOD)
    assert main(["rules", "check", str(tmp_path / "ok")]) == 0
    assert main(["rules", "test", str(tmp_path / "ok")]) == 0
    assert "2/2 tests passed" in capsys.readouterr().out
    write(tmp_path, "bad/r.yml", GOOD.replace("subject.subject", "subject.nope"))
    assert main(["rules", "check", str(tmp_path / "bad")]) == 1
    assert "unknown field 'subject.nope'" in capsys.readouterr().err
    assert main(["rules", "check", str(tmp_path / "missing")]) == 2


def test_cli_hits_on_a_folder(tmp_path, capsys):
    write(tmp_path, "rules/r.yml", GOOD)
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "1.eml").write_bytes(b"From: a@b.com\r\nSubject: invoice 7\r\n\r\nhi\r\n")
    (mail / "2.eml").write_bytes(b"From: a@b.com\r\nSubject: hello\r\n\r\nhi\r\n")
    assert main(["rules", "hits", str(tmp_path / "rules"), str(mail)]) == 0
    out = capsys.readouterr().out
    assert "unknown 2" in out and "Subject says invoice" in out


@pytest.mark.parametrize("bad", ["tests: 3", "tests:\n  - expect: maybe\n    message: {}",
                                 "tests:\n  - expect: match"])
def test_bad_tests_are_rejected(tmp_path, bad):
    write(tmp_path, "r.yml", GOOD.split("tests:")[0] + bad + "\n")
    rs = RuleSet.load(tmp_path)
    assert not rs.rules and "test" in rs.errors[0].message


def test_corpus_labels_per_source():
    from pyscore.cli.rules import corpus_label

    assert corpus_label("c/spamassassin.tar.xz::spamassassin/easy-ham-1/0001") == "safe"
    assert corpus_label("c/spamassassin.tar.xz::spamassassin/hard-ham-1/0001") == "safe"
    assert corpus_label("c/spamassassin.tar.xz::spamassassin/spam-2/0001") == "spam"
    assert corpus_label("c/phishing_pot.tar.xz::x/1.eml") == "malicious"
    assert corpus_label("c/nazario.tar.xz::phishing1::#3") == "malicious"
    assert corpus_label("c/enron.tar.xz::maildir/a/inbox/1") == "safe"
    assert corpus_label("/tmp/mail/1.eml") == "unknown"
