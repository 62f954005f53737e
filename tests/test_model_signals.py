"""Which signals each model spec of the pipeline may read."""

from __future__ import annotations

import numpy as np

from pyscore.pipeline import content_model_signals, identity_model_signals
from pyscore.signals import REGISTRY


def _names(mask: np.ndarray) -> set[str]:
    assert mask.shape == (len(REGISTRY.names),) and mask.dtype == bool
    return {n for n, keep in zip(REGISTRY.names, mask, strict=True) if keep}


def test_identity_model_reads_history_and_requests_not_how_mail_was_produced():
    names = _names(identity_model_signals())
    baseline = next(g for g in REGISTRY.groups if g.name == "baseline")
    assert {s.name for s in baseline.signals} <= names
    assert {"baseline_name_other_address", "sender_free_mail", "sender_own_lookalike_distance",
            "phrase_payment_count", "subject_phrase_urgency", "reply_to_domain_mismatch",
            "auth_dmarc_fail", "body_zero_width_count"} <= names
    produced = {"body_word_count", "body_length", "subject_length", "subject_uppercase_ratio", "html_present",
                "date_received_skew_hours", "hop_count", "mailer_outlook", "message_id_domain_mismatch"}
    assert not produced & names


def test_content_model_reads_the_message_but_no_history_sizes_or_relay_path():
    names = _names(content_model_signals())
    assert not any(n.startswith("baseline_") for n in names)
    assert {"html_form_count", "link_ip_host_count", "attach_macro_office_count", "phrase_credential_count",
            "body_uppercase_ratio"} <= names
    assert not {"body_length", "body_word_count", "subject_length", "html_length", "date_received_skew_hours",
                "hop_count", "mailer_php"} & names
