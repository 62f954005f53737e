"""Tests of pyscore.message: MDM-shaped to_dict / from_dict round trips and their errors."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import zipfile

import numpy as np
import pytest

from pyscore.message import AuthCheck, Domain, Message
from pyscore.mime import parse


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.exe", b"MZ")
    return buf.getvalue()


RICH = (
    "From: \"Jane\" <jane@example.co.uk>\nTo: a@x.com, B <b@y.org>\nReply-To: r@z.net\n"
    "Date: Tue, 2 Jan 2024 10:00:00 +0100\nMessage-ID: <m@x>\nReferences: <a@x> <b@x>\n"
    "Subject: =?utf-8?q?caf=C3=A9?=\nX-Spam-Score: 1\n"
    "Received: from h.example.com ([192.0.2.1]) by mx.x.com with ESMTP; Tue, 2 Jan 2024 10:00:01 +0100\n"
    "Authentication-Results: mx.x.com; spf=pass smtp.mailfrom=example.co.uk; dkim=none\n"
    'Content-Type: multipart/mixed; boundary="B"\n\n'
    "--B\nContent-Type: text/html\n\n<p>Hi <a href=\"http://xn--80ak6aa92e.com/\">there</a></p>\n"
    "--B\nContent-Type: application/zip; name=a.zip\nContent-Transfer-Encoding: base64\n\n"
    + base64.encodebytes(_zip()).decode()
    + "--B\nContent-Type: message/rfc822\n\nFrom: inner@x.com\nSubject: inner\n\nbody\n--B--\n"
).encode()


def test_round_trip_of_a_parsed_message():
    m = parse(RICH)
    data = m.to_dict()
    assert Message.from_dict(data) == m
    # and through JSON text, as a service would send it
    assert Message.from_dict(json.loads(json.dumps(data))) == m


def test_mdm_paths():
    data = parse(RICH).to_dict()
    assert data["sender"]["email"]["domain"]["root_domain"] == "example.co.uk"
    assert data["headers"]["from"]["display_name"] == "Jane"
    assert data["headers"]["auth_summary"]["spf"]["pass"] is True
    assert data["headers"]["auth_summary"]["dkim"]["pass"] is False
    assert data["headers"]["auth_summary"]["dmarc"]["pass"] is None
    assert data["headers"]["date"] == "2024-01-02T10:00:00+01:00"
    assert data["headers"]["hops"][0]["from_ip"] == "192.0.2.1"
    assert data["links"][0]["href_url"]["domain"]["punycode"] == "xn--80ak6aa92e.com"
    assert data["attachments"][0]["archive_members"] == ["a.exe"]
    assert data["attachments"][1]["nested"]["subject"]["subject"] == "inner"
    assert data["stripped_headers"] == ["X-Spam-Score"]


def test_partial_dict_takes_defaults():
    m = Message.from_dict({"subject": {"subject": "hello"}, "sender": {"email": {"email": "a@b.com"}}})
    assert m.subject.subject == "hello" and m.sender.email.email == "a@b.com"
    assert m.body.text == "" and m.links == () and m.headers.date is None


def test_naive_date_reads_as_utc():
    m = Message.from_dict({"headers": {"date": "2024-01-02T10:00:00"}})
    assert m.headers.date == dt.datetime(2024, 1, 2, 10, tzinfo=dt.UTC)


def test_pass_is_derived_and_ignored_on_input():
    check = Message.from_dict({"headers": {"auth_summary": {"spf": {"result": "fail", "pass": True}}}})
    assert check.headers.auth_summary.spf == AuthCheck(result="fail")


@pytest.mark.parametrize(("data", "match"), [
    ({"subjekt": {}}, r"message\.subjekt: unknown field"),
    ({"subject": "hello"}, r"message\.subject: expected an object, got str"),
    ({"links": {}}, r"message\.links: expected a list, got dict"),
    ({"links": [{"href_url": {"url": 5}}]}, r"message\.links\[0\]\.href_url\.url: expected a string, got int"),
    ({"size": "12"}, r"message\.size: expected an integer"),
    ({"size": True}, r"message\.size: expected an integer"),
    ({"headers": {"date": "last tuesday"}}, r"message\.headers\.date: expected an ISO 8601 date-time"),
    ({"attachments": [{"encrypted": "yes"}]}, r"message\.attachments\[0\]\.encrypted: expected true or false"),
    ({"attachments": [{"nested": {"bogus": 1}}]}, r"message\.attachments\[0\]\.nested\.bogus: unknown field"),
])
def test_from_dict_errors_name_the_path(data, match):
    with pytest.raises(ValueError, match=match):
        Message.from_dict(data)


def test_from_dict_rejects_a_non_object():
    with pytest.raises(ValueError, match="message: expected an object, got list"):
        Message.from_dict([])  # type: ignore[arg-type]


def test_records_are_frozen():
    with pytest.raises(AttributeError):
        Domain().domain = "x"  # type: ignore[misc]


# ---------------------------------------------------------------- MessageBatch


def _spec_values(messages):
    """Every column of a batch as plain Python lists, read with the specs' getters (the oracle)."""
    from pyscore.batch import LIST_SPECS, SCALAR_SPECS

    scalars = {p: [g(m) for m in messages] for p, _, g in SCALAR_SPECS}
    lists = {}
    for group, elements_of, specs in LIST_SPECS:
        per = [list(elements_of(m)) for m in messages]
        flat = [e for es in per for e in es]
        lists[group] = ([len(es) for es in per], {p: [g(e) for e in flat] for p, _, g in specs})
    return scalars, lists


def _utf8(values):
    """Strings as a UTF-8 round trip leaves them (lone surrogates become '?')."""
    return [v.encode("utf-8", "replace").decode() if isinstance(v, str) else v for v in values]


def _as_list(col):
    from pyscore.batch import StringColumn

    return col.to_list() if isinstance(col, StringColumn) else col.tolist()


def _assert_batch_matches(batch, messages):
    import numpy as np

    scalars, lists = _spec_values(messages)
    assert list(batch.columns) == list(scalars)
    for path, values in scalars.items():
        np.testing.assert_equal(_as_list(batch.column(path)), _utf8(values), path)
    assert list(batch.lists) == list(lists)
    for group, (lengths, columns) in lists.items():
        lg = batch.lists[group]
        assert lg.lengths().tolist() == lengths, group
        assert list(lg.columns) == list(columns), group
        for field, values in columns.items():
            np.testing.assert_equal(_as_list(batch.column(f"{group}[].{field}")), _utf8(values), f"{group}[].{field}")


def _batch_messages():
    from pyscore.signals.sample import random_messages

    odd = Message.from_dict({
        "subject": {"subject": "caf\u00e9 \ud800 lone surrogate"},  # replaced by '?' in UTF-8
        "body": {"text": "\u0420\u0430y \u20ac10 now", "html_raw": "<p>x</p>"},
        "headers": {"auth_summary": {"spf": {"result": "pass", "domain": "x.com"}},
                    "fields": [["X-Mailer", "\u00e9t\u00e9"], ["Subject", "caf\u00e9"]]},
    })
    return [parse(RICH), odd, Message(), *random_messages(20, seed=3)]


def test_batch_columns_equal_the_spec_getters():
    from pyscore.batch import MessageBatch

    messages = _batch_messages()
    _assert_batch_matches(MessageBatch.from_messages(messages), messages)
    for m in messages:  # one message: the engine's case, its own fast path
        _assert_batch_matches(MessageBatch.from_messages([m]), [m])


def test_batch_of_no_messages():
    from pyscore.batch import MessageBatch

    batch = MessageBatch.from_messages([])
    assert len(batch) == 0 and len(batch.column("subject.subject")) == 0
    assert batch.lists["body.links"].offsets.tolist() == [0]


def test_lone_surrogates_are_replaced_not_fatal():
    from pyscore.batch import MessageBatch

    batch = MessageBatch.from_messages(_batch_messages()[1:2])
    assert batch.column("subject.subject")[0] == "caf\u00e9 ? lone surrogate"


def test_encode_strings_equals_str_encode_with_replace():
    from pyscore.batch import encode_strings

    class Sub(str):
        pass

    strings = ["", "plain ascii", "caf\u00e9", "\u0420\u0430y \u20ac10", "emoji \U0001f600", "lone \ud800 x",
               "\udfff", Sub("subclass \u00e9"), "x" * 5000, ""]
    text, offsets = encode_strings(strings)
    want = [s.encode("utf-8", "replace") for s in strings]
    assert text.dtype == np.uint8 and offsets.dtype == np.int64 and text.flags.writeable
    assert offsets.tolist() == [0, *np.cumsum([len(w) for w in want]).tolist()]
    assert text.tobytes() == b"".join(want)
    empty_text, empty_offsets = encode_strings([])
    assert len(empty_text) == 0 and empty_offsets.tolist() == [0]
    with pytest.raises(TypeError, match="item 1 is a bytes"):
        encode_strings(["a", b"b"])


def test_packed_batch_from_plain_columns_matches_the_packed_build():
    """A batch made from column dicts (as other stages build them) packs to the same values."""
    import numpy as np

    from pyscore.batch import ListGroup, MessageBatch

    messages = _batch_messages()
    built = MessageBatch.from_messages(messages)
    plain = MessageBatch(built.ids, dict(built.columns),
                         {g: ListGroup(lg.offsets.copy(), dict(lg.columns)) for g, lg in built.lists.items()})
    a, b = built.packed, plain.packed
    assert set(a.layout.strings) == set(b.layout.strings) and set(a.layout.numbers) == set(b.layout.numbers)
    for name, k in a.layout.strings.items():
        assert a.string_column(k).to_list() == b.string_column(b.layout.strings[name]).to_list(), name
    for name, k in a.layout.numbers.items():
        np.testing.assert_equal(a.number_column(k), b.number_column(b.layout.numbers[name]), name)
    np.testing.assert_array_equal(a.group_offsets, b.group_offsets)
    rebuilt = MessageBatch.from_packed(plain.ids, b)
    _assert_batch_matches(rebuilt, messages)


def test_batch_to_arrow_keeps_values():
    from pyscore.batch import MessageBatch

    messages = _batch_messages()[:3]
    table = MessageBatch.from_messages(messages).to_arrow()
    assert table.column("subject.subject").to_pylist()[0] == "café"
    assert [len(x) for x in table.column("recipients.to").to_pylist()] == [len(m.recipients.to) for m in messages]
