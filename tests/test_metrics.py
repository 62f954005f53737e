"""Tests of pyscore.metrics: hand-built decision logs and labels with counts worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pyscore.logschema import (
    DECISION_LOG_SCHEMA,
    FEEDBACK_SCHEMA,
    LABELS_SCHEMA,
    MALICIOUS_CATEGORIES,
)
from pyscore.metrics import evaluate, format_online, format_tables, online_metrics, wilson_interval
from pyscore.metrics.offline import average_precision

# name -> (kind, category, threshold)
DETECTORS = {
    "cred_rule": ("rule", "credential_phishing", 1.0),
    "phish_model": ("model", "credential_phishing", 0.8),
    "bec_rule": ("rule", "bec", 1.0),
    "spam_model": ("model", "spam", 0.5),
    "shadow_model": ("model", "credential_phishing", 0.5),
}
ORDER = list(DETECTORS)

# id, tenant, source, decided category, deciding detector, scores (ORDER), fired, shadow fired
DECISIONS = [
    ("m1", "t1", "phishing_pot", "credential_phishing", "cred_rule", (1, 0.50, 0, 0.10, 0.2), ["cred_rule"], []),
    ("m2", "t1", "phishing_pot", "credential_phishing", "phish_model", (0, 0.90, 0, 0.20, 0.3), ["phish_model"], []),
    ("m3", "t1", "phishing_pot", "safe", "", (0, 0.75, 0, 0.10, 0.6), [], ["shadow_model"]),
    ("m4", "t2", "phishing_pot", "spam", "spam_model", (0, 0.40, 0, 0.70, 0.1), ["spam_model"], []),
    ("m5", "t1", "enron", "bec", "bec_rule", (0, 0.30, 1, 0.10, 0.1), ["bec_rule"], []),
    ("m6", "t2", "enron", "safe", "", (0, 0.10, 0, 0.10, 0.1), [], []),
    ("m7", "t1", "enron", "safe", "", (0, 0.20, 0, 0.20, 0.55), [], ["shadow_model"]),
    ("m8", "t1", "enron", "credential_phishing", "phish_model", (0, 0.82, 0, 0.10, 0.3), ["phish_model"], []),
    ("m9", "t2", "enron", "spam", "spam_model", (0, 0.05, 0, 0.90, 0.1), ["spam_model"], []),
    ("m10", "t2", "spamassassin", "safe", "", (0, 0.05, 0, 0.35, 0.1), [], []),
    ("m11", "t2", "spamassassin", "spam", "spam_model", (0, 0.05, 0, 0.95, 0.1), ["spam_model"], []),
    ("m12", "t1", "", "safe", "", (0, 0.0, 0, 0.0, 0.0), [], []),  # no label
]
CONTRIBUTIONS = {
    "m2": [("link_mismatch", 1.0, 0.8), ("new_sender", 1.0, 0.4)],
    "m8": [("link_mismatch", 1.0, 0.5)],
}
# id, label, category, source, technique
LABELS = [
    ("m1", "malicious", "credential_phishing", "phishing_pot", ""),
    ("m2", "malicious", "credential_phishing", "phishing_pot", ""),
    ("m3", "malicious", "credential_phishing", "phishing_pot", ""),
    ("m4", "malicious", "credential_phishing", "phishing_pot", ""),
    ("m5", "malicious", "bec", "enron", "display_name_spoof"),
    ("m6", "malicious", "bec", "enron", "reply_to_swap"),
    ("m7", "safe", "safe", "enron", ""),
    ("m8", "safe", "safe", "enron", ""),
    ("m9", "spam", "spam", "enron", ""),
    ("m10", "spam", "spam", "spamassassin", ""),
    ("m11", "safe", "safe", "spamassassin", ""),
    ("m13", "safe", "safe", "enron", ""),  # never scored
]


def verdict_action(category: str) -> tuple[str, str]:
    if category in MALICIOUS_CATEGORIES:
        return "malicious", "quarantine"
    if category == "spam":
        return "suspicious", "junk"
    return "safe", "deliver"


def record(mid, tenant, source, category, detector, scores, fired, shadow, *, time=100.0, subject=None):
    verdict, action = verdict_action(category)
    ds = [{"detector": n, "score": float(s), "threshold": DETECTORS[n][2], "category": DETECTORS[n][1],
           "kind": DETECTORS[n][0]} for n, s in zip(ORDER, scores, strict=True)]
    score = dict(zip(ORDER, scores, strict=True)).get(detector, math.nan)
    rec = {
        "message_id": mid, "tenant": tenant, "time": time, "source": source, "verdict": verdict,
        "category": category, "action": action, "score": float(score), "deciding_detector": detector,
        "fired": fired, "shadow_fired": shadow, "detector_scores": ds,
        "contributions": [{"signal": s, "value": v, "contribution": c} for s, v, c in CONTRIBUTIONS.get(mid, [])],
        "bundle_version": "test-1",
    }
    if subject is not None:
        rec["subject"] = subject
    return rec


def make_log(rows=DECISIONS, extra=()) -> pa.Table:
    return pa.Table.from_pylist([record(*r) for r in rows] + list(extra), schema=DECISION_LOG_SCHEMA)


def make_labels(rows=LABELS, split="test") -> pa.Table:
    return pa.Table.from_pylist(
        [{"message_id": m, "label": lab, "category": c, "source": s, "technique": t, "split": split}
         for m, lab, c, s, t in rows], schema=LABELS_SCHEMA)


@pytest.fixture(scope="module")
def result():
    # m7 was also scored earlier as phishing; only the latest record counts.
    earlier = record("m7", "t1", "enron", "credential_phishing", "phish_model", (0, 0.9, 0, 0.2, 0.55),
                     ["phish_model"], [], time=50.0)
    return evaluate(make_log(extra=[earlier]), make_labels(), by=("source", "category", "detector", "tenant",
                                                                    "technique", "split"))


def rows_by(rows, **match):
    out = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(out) == 1, (match, out)
    return out[0]


def check(row, **expected):
    for key, want in expected.items():
        got = row[key]
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got), (key, got)
        else:
            assert got == pytest.approx(want), (key, got, want)


NAN = math.nan


def test_overall_groups(result):
    check(result.group("malicious"), predicted=4, tp=3, fp=1, actual=6, caught=3, fn=3, negatives=5,
          precision=0.75, recall=0.5, fnr=0.5, fpr=0.2)
    check(result.group("credential_phishing"), predicted=3, tp=2, actual=4, caught=2,
          precision=2 / 3, recall=0.5, fpr=0.2)
    check(result.group("bec"), predicted=1, tp=1, actual=2, caught=1, precision=1.0, recall=0.5, fpr=0.0)
    # spam: a spam verdict on a malicious message is right; a malicious verdict is never a spam false alarm
    check(result.group("spam"), predicted=3, tp=2, fp=1, actual=2, caught=1, negatives=3,
          precision=2 / 3, recall=0.5, fpr=1 / 3)
    assert result.operating_point is result.group("malicious")


def test_empty_group_is_nan_not_error(result):
    check(result.group("malware"), predicted=0, actual=0, precision=NAN, recall=NAN, fnr=NAN, fpr=0.0)


def test_spam_in_safe_source_is_not_a_malicious_false_alarm(result):
    enron = rows_by(result.by_dimension["source"], key="enron", group="malicious")
    # m9 (spam verdict on Enron spam) is not an alarm of the malicious group; m8 is the only false alarm
    check(enron, predicted=2, tp=1, fp=1, actual=2, caught=1, negatives=3, fpr=1 / 3)


def test_by_source(result):
    src = result.by_dimension["source"]
    check(rows_by(src, key="phishing_pot", group="malicious"), predicted=2, tp=2, actual=4, caught=2,
          precision=1.0, recall=0.5, negatives=0, fpr=NAN)
    check(rows_by(src, key="spamassassin", group="malicious"), predicted=0, precision=NAN, recall=NAN,
          negatives=2, fpr=0.0)
    check(rows_by(src, key="spamassassin", group="spam"), predicted=1, tp=0, actual=1, caught=0, negatives=1,
          fpr=1.0)


def test_source_pairs(result):
    pairs = result.source_pairs
    check(rows_by(pairs, key="enron + phishing_pot", group="malicious"), predicted=4, tp=3, actual=6, caught=3,
          negatives=3, precision=0.75, recall=0.5, fpr=1 / 3)
    check(rows_by(pairs, key="phishing_pot + spamassassin", group="malicious"), precision=1.0, recall=0.5, fpr=0.0)
    check(rows_by(pairs, key="enron + spamassassin", group="malicious"), predicted=2, tp=1, actual=2,
          negatives=5, fpr=0.2)


def test_by_tenant(result):
    ten = result.by_dimension["tenant"]
    check(rows_by(ten, key="t1", group="malicious"), predicted=4, tp=3, actual=4, caught=3, recall=0.75,
          negatives=2, fpr=0.5)
    check(rows_by(ten, key="t2", group="malicious"), predicted=0, actual=2, caught=0, recall=0.0,
          precision=NAN, negatives=3, fpr=0.0)


def test_by_technique(result):
    tech = result.by_dimension["technique"]
    check(rows_by(tech, key="display_name_spoof", group="malicious"), actual=1, caught=1, recall=1.0)
    check(rows_by(tech, key="reply_to_swap", group="malicious"), actual=1, caught=0, recall=0.0, fnr=1.0)
    check(rows_by(tech, key="", group="malicious"), actual=4, caught=2)


def test_detectors_attributed_and_fired(result):
    det = {r["detector"]: r for r in result.detectors}
    check(det["cred_rule"], decided=1, tp=1, precision=1.0, attributed_recall=1 / 6, fired=1)
    check(det["phish_model"], decided=2, tp=1, fp=1, precision=0.5, attributed_recall=1 / 6,
          fired=2, fired_precision=0.5, fired_fpr=0.2)
    check(det["bec_rule"], decided=1, tp=1, precision=1.0)
    # spam positives are spam or malicious labels: 6 + 2
    check(det["spam_model"], decided=3, tp=2, precision=2 / 3, attributed_recall=2 / 8, fired=3)
    check(det["shadow_model"], decided=0, tp=0, precision=NAN, fired=2, fired_tp=1, fired_precision=0.5,
          fired_recall=1 / 6)
    assert det["shadow_model"]["mode"] == "shadow"
    assert det["phish_model"]["mode"] == "active"
    assert det["cred_rule"]["kind"] == "rule"


def test_confusion(result):
    conf = {(r["truth"], r["predicted"]): r["n"] for r in result.confusion}
    assert conf == {
        ("credential_phishing", "credential_phishing"): 2, ("credential_phishing", "safe"): 1,
        ("credential_phishing", "spam"): 1, ("bec", "bec"): 1, ("bec", "safe"): 1,
        ("safe", "safe"): 1, ("safe", "credential_phishing"): 1, ("safe", "spam"): 1,
        ("spam", "spam"): 1, ("spam", "safe"): 1,
    }


def test_coverage_reports_missing_labels_and_decisions(result):
    c = result.coverage
    assert c["log_rows"] == 13 and c["decisions"] == 12 and c["duplicate_records"] == 1
    assert c["labelled"] == 11 and c["unlabeled"] == 1 and c["labels_without_decision"] == 1
    assert result.unlabeled_ids == ["m12"] and result.undecided_ids == ["m13"]
    text = format_tables(result)
    assert "1 decision(s) have no label" in text and "m12" in text
    assert "1 labelled message(s) have no decision" in text and "m13" in text


def test_mixed_bundle_versions_are_reported():
    log = make_log()
    versions = pa.array(["v1"] * 5 + ["v2"] * (log.num_rows - 5))
    log = log.set_column(log.schema.get_field_index("bundle_version"), "bundle_version", versions)
    res = evaluate(log, make_labels())
    assert res.bundle_versions == [{"bundle_version": "v1", "n": 5}, {"bundle_version": "v2", "n": 7}]
    assert "mixes bundle versions: v1 (5), v2 (7)" in format_tables(res)


def test_pr_curve_matches_sklearn(result):
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curve = next(c for c in result.pr_curves if c["detector"] == "phish_model")
    labelled = [r for r in DECISIONS if r[0] != "m12"]
    y = np.array([next(lab for m, lab, *_ in LABELS if m == r[0]) == "malicious" for r in labelled])
    s = np.array([r[5][1] for r in labelled])
    precision, recall, thresholds = precision_recall_curve(y, s)
    want = {round(t, 9): (p, r) for p, r, t in zip(precision[:-1], recall[:-1], thresholds, strict=True)}
    got = {round(score, 9): (p, r) for score, p, r in curve["points"]}
    assert got.keys() == want.keys()
    for t, (p, r) in want.items():
        assert got[t] == pytest.approx((p, r))
    assert curve["average_precision"] == pytest.approx(average_precision_score(y, s))
    # at its 0.8 threshold: m2 (malicious) and m8 (safe)
    check(curve, threshold_flagged=2, threshold_precision=0.5, threshold_recall=1 / 6, positives=6, scored=11)


def test_average_precision_of_no_positives_is_nan():
    assert math.isnan(average_precision([(0.5, 0.0, math.nan)]))
    assert math.isnan(average_precision([]))


def test_triage_groups(result):
    tri = {(g["side"], g["group"], g["detector"], g["barely"]): g for g in result.triage}
    near = tri[("false_negative", "malicious", "phish_model", False)]
    assert near["n"] == 1 and near["examples"][0]["message_id"] == "m3" and "just below" in near["hint"]
    gap = tri[("false_negative", "malicious", "", False)]
    assert gap["n"] == 2 and gap["share"] == pytest.approx(2 / 3)
    assert gap["truth"] == {"credential_phishing": 1, "bec": 1} and gap["technique"] == {"reply_to_swap": 1}
    assert "capability gap" in gap["hint"]
    spam_miss = tri[("false_negative", "spam", "spam_model", False)]
    assert [e["message_id"] for e in spam_miss["examples"]] == ["m10"]
    barely = tri[("false_positive", "malicious", "phish_model", True)]
    assert barely["n"] == 1 and barely["signals"] == [{"signal": "link_mismatch", "n": 1, "mean_contribution": 0.5}]
    confident = tri[("false_positive", "spam", "spam_model", False)]
    assert confident["examples"][0]["message_id"] == "m11" and "confidently" in confident["hint"]
    assert len(tri) == 5


def test_a_rule_at_its_threshold_is_confident_not_barely():
    rows = [r for r in DECISIONS if r[0] != "m7"]
    rows.append(("m7", "t1", "enron", "credential_phishing", "cred_rule", (1, 0.2, 0, 0.2, 0.1), ["cred_rule"], []))
    res = evaluate(make_log(rows), make_labels())
    alarm = next(g for g in res.triage if g["side"] == "false_positive" and g["detector"] == "cred_rule")
    assert alarm["barely"] is False and "confidently" in alarm["hint"]


def test_split_filter_excludes_other_splits():
    labels = pa.concat_tables([make_labels(LABELS[:6], split="train"), make_labels(LABELS[6:], split="test")])
    res = evaluate(make_log(), labels, split="test")
    assert res.coverage["labelled"] == 5 and res.coverage["excluded_by_split"] == 6
    check(res.group("malicious"), actual=0, predicted=1, tp=0, recall=NAN, precision=0.0, negatives=5, fpr=0.2)


def test_empty_log_gives_nan_not_crash():
    res = evaluate(DECISION_LOG_SCHEMA.empty_table(), make_labels())
    assert res.coverage["decisions"] == 0 and res.coverage["labels_without_decision"] == len(LABELS)
    for row in res.by_category:
        assert row["predicted"] == 0 and math.isnan(row["precision"]) and math.isnan(row["recall"])
    assert res.detectors == [] and res.pr_curves == [] and res.triage == []
    assert "(none)" in format_tables(res)


def test_reads_parquet_directory_and_csv_labels(tmp_path):
    log = make_log()
    (tmp_path / "log").mkdir()
    pq.write_table(log.slice(0, 5), tmp_path / "log" / "part-0.parquet")
    pq.write_table(log.slice(5), tmp_path / "log" / "part-1.parquet")
    labels = tmp_path / "labels.csv"
    labels.write_text("message_id,label,category,source,technique,split\n"
                      + "".join(f"{m},{lab},{c},{s},{t},test\n" for m, lab, c, s, t in LABELS))
    res = evaluate(tmp_path / "log", labels)
    check(res.group("malicious"), predicted=4, tp=3, actual=6, caught=3, negatives=5)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda t: t.drop_columns(["verdict"]), "missing column"),
        (lambda t: t.set_column(t.schema.get_field_index("category"), "category",
                                pa.array(["phish"] * t.num_rows)), "column category: unexpected value"),
        (lambda t: t.set_column(t.schema.get_field_index("time"), "time",
                                pa.array(["noon"] * t.num_rows)), "column time has type string"),
    ],
)
def test_bad_log_is_rejected_with_a_clear_error(mutate, match):
    with pytest.raises(ValueError, match=match):
        evaluate(mutate(make_log()), make_labels())


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match="labelled more than once"):
        evaluate(make_log(), make_labels([*LABELS, LABELS[0]]))
    with pytest.raises(ValueError, match="malicious with category ''"):
        evaluate(make_log(), make_labels([("m1", "malicious", "", "x", "")]))
    with pytest.raises(ValueError, match="unknown breakdown"):
        evaluate(make_log(), make_labels(), by=("weekday",))
    with pytest.raises(FileNotFoundError):
        evaluate("/nonexistent/log.parquet", make_labels())


def test_duplicate_detector_in_scores_is_rejected():
    rec = record(*DECISIONS[0])
    rec["detector_scores"] = rec["detector_scores"] + rec["detector_scores"][:1]
    with pytest.raises(ValueError, match="lists detector 'cred_rule' 2 times"):
        evaluate(pa.Table.from_pylist([rec], schema=DECISION_LOG_SCHEMA), make_labels())


def test_detector_logged_with_two_categories_is_rejected():
    a, b = record(*DECISIONS[0]), record(*DECISIONS[1])
    b["detector_scores"][0]["category"] = "malware"  # cred_rule, now with another category
    with pytest.raises(ValueError, match="detector 'cred_rule' appears with different categories"):
        evaluate(pa.Table.from_pylist([a, b], schema=DECISION_LOG_SCHEMA), make_labels())


def test_format_tables_lists_every_section(result):
    text = format_tables(result)
    for title in ("Coverage", "Operating point", "By category", "By source", "By source pair", "By tenant",
                  "By injected technique", "By detector", "Detector scores", "Confusion", "Triage"):
        assert title in text
    assert "precision 0.750, recall 0.500" in text


def test_format_tables_escapes_control_characters():
    rows = [("evil\x1b[2J\nid", *DECISIONS[0][1:])]
    res = evaluate(make_log(rows), make_labels([("m1", "safe", "safe", "x", "")]))  # unlabeled: listed
    text = format_tables(res)
    assert "\x1b" not in text and "\\x1b" in text


# ---- online ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson score)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=6e-5) and hi == pytest.approx(high, abs=6e-5)


def test_wilson_matches_scipy_and_edges():
    from scipy.stats import binomtest, norm

    for k, n in [(0, 1), (1, 1), (3, 7), (50, 100), (99, 100)]:
        ci = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n, z=norm.ppf(0.975)) == pytest.approx((ci.low, ci.high))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


def feedback(rows) -> pa.Table:
    return pa.Table.from_pylist([{"message_id": m, "time": t, "kind": k, "actor": a} for m, t, k, a in rows],
                                schema=FEEDBACK_SCHEMA)


def test_online_metrics():
    fb = feedback([
        ("m1", 1.0, "analyst_malicious", "ana"),
        ("m2", 1.0, "analyst_malicious", "ana"),
        ("m8", 1.0, "release_from_quarantine", "user8"),
        ("m8", 2.0, "analyst_safe", "ana"),
        ("m5", 1.0, "user_report_phish", "user5"),  # flagged anyway: not a miss
        ("m3", 1.0, "user_report_phish", "user3"),  # delivered: a reported miss
        ("m6", 1.0, "analyst_safe", "ana"),  # analyst overrides the later user report
        ("m6", 5.0, "user_report_phish", "user6"),
        ("m10", 1.0, "user_report_spam", "user10"),
        ("ghost", 1.0, "user_report_phish", "x"),
    ])
    res = online_metrics(make_log(), fb)
    o = res.overall
    # flagged = m1, m2, m5, m8 (malicious categories); m8 disputed
    assert (o["decisions"], o["flagged"], o["disputed"], o["reviewed"], o["reported_misses"]) == (12, 4, 1, 3, 1)
    assert (o["precision_undisputed"].k, o["precision_undisputed"].n) == (3, 4)
    assert (o["precision_reviewed"].k, o["precision_reviewed"].n) == (2, 3)
    assert (o["fnr_estimate"].k, o["fnr_estimate"].n) == (1, 4)
    assert (o["fnr_estimate"].low, o["fnr_estimate"].high) == pytest.approx(wilson_interval(1, 4))
    assert res.unmatched_feedback == 1 and "not in the decision log" in res.notes[0]
    t2 = next(r for r in res.by_tenant if r["tenant"] == "t2")
    assert t2["flagged"] == 0 and math.isnan(t2["precision_undisputed"].value)
    text = format_online(res)
    assert "0.750 [" in text and "user_report_phish" in text
    assert res.to_dict()["by_tenant"][1]["precision_undisputed"]["value"] is None


def test_online_rejects_unknown_feedback_kind():
    with pytest.raises(ValueError, match="column kind: unexpected value"):
        online_metrics(make_log(), feedback([("m1", 1.0, "thumbs_up", "u")]))


# ---- oracle: plain-Python counts from the documented definitions, on random logs -------------------

MAL = set(MALICIOUS_CATEGORIES)
POSITIVE = {**{c: {"malicious"} for c in MAL}, "malicious": {"malicious"}, "spam": {"spam", "malicious"}}


def predicts(category):
    return ({category, "malicious"} if category in MAL else {"spam"} if category == "spam" else set())


def catches(group, category):
    return category in MAL or (group == "spam" and category == "spam")


def reference_counts(records, labels, dim):
    """{(key, group): counts} straight from the definitions in pyscore.metrics.queries."""
    latest = {}
    for pos, r in enumerate(records):
        old = latest.get(r["message_id"])
        if old is None or (r["time"], pos) >= (old[0]["time"], old[1]):
            latest[r["message_id"]] = (r, pos)
    out = {}
    for mid, (r, _) in latest.items():
        lab = labels.get(mid)
        if lab is None:
            continue
        truth = lab["category"] if lab["label"] == "malicious" else lab["label"]
        key = {"source": lab["source"] or r["source"], "tenant": r["tenant"], "technique": lab["technique"]}[dim]
        for g in POSITIVE:
            c = out.setdefault((key, g), dict.fromkeys(("total", "negatives", "predicted", "tp", "actual",
                                                         "caught"), 0))
            positive = lab["label"] in POSITIVE[g]
            c["total"] += 1
            c["negatives"] += not positive
            if g in predicts(r["category"]):
                c["predicted"] += 1
                c["tp"] += positive
            if g in predicts(truth):
                c["actual"] += 1
                c["caught"] += catches(g, r["category"])
    return out


@pytest.mark.parametrize("seed", range(4))
def test_group_counts_match_plain_python_reference(seed):
    rng = np.random.default_rng(seed)
    cats = ["credential_phishing", "bec", "malware", "callback_scam", "spam", "graymail", "safe"]
    records, labels = [], {}
    for _ in range(80):
        mid = f"r{rng.integers(0, 60)}"  # some messages are logged more than once
        cat = cats[rng.integers(0, len(cats))]
        rec = record(mid, f"t{rng.integers(0, 3)}", ["a", "b", ""][rng.integers(0, 3)], cat,
                     "phish_model" if cat != "safe" else "", (0, rng.random(), 0, rng.random(), rng.random()),
                     [], [], time=float(rng.integers(0, 5)))
        records.append(rec)
    for j in range(70):
        if rng.random() < 0.8:
            label = ["malicious", "spam", "safe"][rng.integers(0, 3)]
            cat = MALICIOUS_CATEGORIES[rng.integers(0, 4)] if label == "malicious" else label
            labels[f"r{j}"] = {"message_id": f"r{j}", "label": label, "category": cat,
                               "source": ["a", "c", ""][rng.integers(0, 3)], "technique": ["", "x"][rng.integers(0, 2)],
                               "split": "test"}
    res = evaluate(pa.Table.from_pylist(records, schema=DECISION_LOG_SCHEMA),
                   pa.Table.from_pylist(list(labels.values()), schema=LABELS_SCHEMA))
    for dim in ("source", "tenant", "technique"):
        want = reference_counts(records, labels, dim)
        got = {(r["key"], r["group"]): {k: r[k] for k in ("total", "negatives", "predicted", "tp", "actual",
                                                            "caught")}
               for r in res.by_dimension[dim]}
        assert got == want, dim


def test_sliced_and_chunked_logs_give_the_same_metrics():
    whole = evaluate(make_log(), make_labels()).to_dict()
    chunked = pa.concat_tables([make_log().slice(0, 4), make_log().slice(4)])
    assert evaluate(chunked, make_labels()).to_dict() == whole
    sliced = make_log().slice(3)
    rebuilt = pa.Table.from_pylist(sliced.to_pylist(), schema=DECISION_LOG_SCHEMA)
    assert evaluate(sliced, make_labels()).to_dict() == evaluate(rebuilt, make_labels()).to_dict()
