"""Tests of pyscore.report and the metrics / report commands: self-contained, escaped, complete HTML."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_metrics import DECISIONS, LABELS, make_labels, make_log, record

from pyscore.cli import main
from pyscore.logschema import DECISION_LOG_SCHEMA, FEEDBACK_SCHEMA
from pyscore.report import write_report

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
SECTIONS = ("summary", "pr-curves", "confusion", "detectors", "triage", "categories", "sources", "source-pairs",
            "tenants", "techniques")


class TagChecker(HTMLParser):
    """Checks that every non-void element is closed in order; collects attributes and script tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        self.ids |= {v for k, v in attrs if k == "id"}
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def parse(text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.errors, checker.errors[:3]
    assert checker.stack == [], checker.stack
    return checker


def hostile_log() -> pa.Table:
    """The test log plus a false alarm decided by a detector whose name and subject carry markup."""
    evil = "<script>alert(1)</script>"
    rec = record("<img src=x onerror=alert(2)>", "t1", "enron", "credential_phishing", "phish_model",
                 (0, 0.99, 0, 0.1, 0.1), ["phish_model", evil], [], subject=f"Invoice {evil}")
    rec["detector_scores"].append({"detector": evil, "score": 1.0, "threshold": 1.0, "category": "malware",
                                   "kind": "rule"})
    rec["deciding_detector"] = evil
    rec["contributions"] = [{"signal": "<b>sig</b>", "value": 1.0, "contribution": 0.3}]
    rows = [{**record(*r), "subject": ""} for r in DECISIONS]
    schema = DECISION_LOG_SCHEMA.append(pa.field("subject", pa.string()))
    return pa.Table.from_pylist([*rows, rec], schema=schema)


def hostile_labels() -> pa.Table:
    return make_labels([*LABELS, ("<img src=x onerror=alert(2)>", "safe", "safe", "enron<i>", "")])


def feedback_table() -> pa.Table:
    return pa.Table.from_pylist([
        {"message_id": "m1", "time": 1.0, "kind": "analyst_malicious", "actor": "ana"},
        {"message_id": "m3", "time": 1.0, "kind": "user_report_phish", "actor": "<u>"},
    ], schema=FEEDBACK_SCHEMA)


@pytest.fixture(scope="module")
def report_text(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert write_report(hostile_log(), hostile_labels(), out, feedback=feedback_table()) == out
    return out.read_text(encoding="utf-8")


def test_report_is_well_formed_and_complete(report_text):
    checker = parse(report_text)
    assert report_text.startswith("<!DOCTYPE html>")
    assert set(SECTIONS) | {"online"} <= checker.ids
    assert "svg" in checker.tags and "polyline" in checker.tags  # PR curves drawn
    assert "phish_model (AP" in report_text  # a model's curve in the legend
    assert "true alarms" in report_text  # detector attribution bars


def test_report_is_self_contained(report_text):
    checker = parse(report_text)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & checker.tags
    assert not [a for a in checker.attrs if a[0] in ("src", "href", "xmlns") or a[0].startswith("on")]
    assert not re.search(r"https?:|url\(|@import", report_text)


def test_report_escapes_message_and_detector_strings(report_text):
    assert "<script" not in report_text and "<img" not in report_text and "<b>sig" not in report_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report_text  # the detector, in tables and bars
    assert "Invoice &lt;script&gt;" in report_text  # the subject, in a triage example
    assert "&lt;img src=x onerror=alert(2)&gt;" in report_text  # the message id
    assert "&lt;b&gt;sig&lt;/b&gt;" in report_text  # the signal name


def test_report_without_feedback_has_no_online_section(tmp_path):
    out = write_report(make_log(), make_labels(), tmp_path / "r.html")
    checker = parse(out.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= checker.ids and "online" not in checker.ids


def test_report_of_an_empty_log(tmp_path):
    out = write_report(DECISION_LOG_SCHEMA.empty_table(), make_labels(), tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    parse(text)
    assert "no labelled decisions" in text and "have no decision" in text


def test_failed_report_leaves_no_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(make_log(), make_labels(), tmp_path / "missing" / "r.html")
    bad = make_log().drop_columns(["verdict"])
    with pytest.raises(ValueError, match="missing column"):
        write_report(bad, make_labels(), tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []  # no report, no temporary file


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "log").mkdir()
    pq.write_table(make_log(), tmp_path / "log" / "part-0.parquet")
    pq.write_table(make_labels(), tmp_path / "labels.parquet")
    pq.write_table(feedback_table(), tmp_path / "feedback.parquet")
    return tmp_path


def test_cli_metrics_prints_tables(files, capsys):
    code = main(["metrics", "--log", str(files / "log"), "--labels", str(files / "labels.parquet"),
                 "--feedback", str(files / "feedback.parquet")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Operating point" in out and "By source pair" in out and "Online" in out
    assert "phish_model" in out


def test_cli_metrics_json(files, capsys):
    assert main(["metrics", "--log", str(files / "log"), "--labels", str(files / "labels.parquet"),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    mal = next(r for r in doc["offline"]["by_category"] if r["group"] == "malicious")
    assert mal["precision"] == 0.75 and doc["online"] is None
    malware = next(r for r in doc["offline"]["by_category"] if r["group"] == "malware")
    assert malware["precision"] is None  # NaN -> null


def test_cli_report_writes_file(files, capsys):
    out = files / "report.html"
    assert main(["report", "--log", str(files / "log"), "--labels", str(files / "labels.parquet"),
                 "--out", str(out), "--split", "test"]) == 0
    parse(out.read_text(encoding="utf-8"))
    assert "wrote" in capsys.readouterr().err


def test_cli_reports_bad_input_as_an_error(files, capsys):
    code = main(["metrics", "--log", str(files / "nope"), "--labels", str(files / "labels.parquet")])
    assert code == 2 and "no such file or directory" in capsys.readouterr().err

