"""Sender-identity signals: free mail, look-alikes of own domains and brands, VIP display names."""

import math

import pytest
from _signals_helpers import mailbox, one

from pyscore.message import Headers, Message, Recipients

ACME = {"acme": {"own_domains": ["acme-corp.com"],
                 "vips": [{"name": "Jane Doe", "address": "jane@acme-corp.com"}],
                 "finance_staff": [{"name": "Bob Payer", "address": "bob@acme-corp.com"}]}}


def of(sender: str, name: str = "", tenant: str = "acme", reply_to=(), to=()) -> dict[str, float]:
    frm = mailbox(sender, name)
    return one(Message(sender=frm, headers=Headers(from_=frm, reply_to=tuple(mailbox(a) for a in reply_to)),
                       recipients=Recipients(to=tuple(mailbox(a) for a in to))), tenant, ACME)


def test_free_mail_and_domain_shape():
    s = of("jane.doe.1984@gmail.com", reply_to=["x@yahoo.com"])
    assert s["sender_free_mail"] == 1 and s["reply_to_free_mail"] == 1
    assert s["sender_local_part_digit_ratio"] == pytest.approx(4 / 13)
    t = of("a@mail.secure-pay-24.top")
    assert (t["sender_free_mail"], t["sender_suspicious_tld"], t["sender_domain_hyphen_count"],
            t["sender_domain_digit_count"], t["sender_subdomain_depth"]) == (0, 1, 2, 2, 1)


def test_own_domain_lookalikes():
    assert of("x@acme-corp.com")["sender_own_domain"] == 1
    homoglyph = of("x@acme-c0rp.com")
    assert (homoglyph["sender_own_lookalike"], homoglyph["sender_own_skeleton_match"],
            homoglyph["sender_own_lookalike_distance"]) == (1, 1, 0)
    cyrillic = of("x@\u0430cme-corp.com")  # Cyrillic а
    assert cyrillic["sender_own_skeleton_match"] == 1
    swap = of("x@acme-corp.co.uk")
    assert (swap["sender_own_tld_swap"], swap["sender_own_lookalike"]) == (1, 1)
    typo = of("x@acme-crop.com")
    assert typo["sender_own_lookalike_distance"] == 2 and typo["sender_own_lookalike"] == 1
    far = of("x@example.org")
    assert far["sender_own_lookalike"] == 0 and far["sender_own_lookalike_distance"] == 3


def test_own_domain_signals_need_tenant_context():
    s = of("x@acme-c0rp.com", tenant="unknown")
    assert math.isnan(s["sender_own_domain"]) and math.isnan(s["sender_own_lookalike"])
    assert math.isnan(s["display_name_vip_match"]) and math.isnan(s["recipient_finance_count"])


def test_brand_lookalikes():
    assert of("x@paypal.com")["sender_brand_domain"] == 1
    assert math.isnan(of("x@paypal.com")["sender_brand_lookalike_distance"])
    s = of("service@paypa1.com")
    assert (s["sender_brand_lookalike"], s["sender_brand_skeleton_match"]) == (1, 1)
    assert of("service@rnicrosoft.com")["sender_brand_skeleton_match"] == 1  # rn -> m
    assert of("service@paypal.co")["sender_brand_tld_swap"] == 1
    inside = of("x@paypal-resolution-center.net")
    assert inside["sender_brand_in_domain"] == 1
    assert of("x@\u0440\u0430ypal.com")["sender_brand_skeleton_match"] == 1  # punycode-decoded Cyrillic


def test_display_name_brand_and_vip():
    s = of("noreply@evil.example", "PayPal Service")
    assert (s["display_name_brand"], s["display_name_brand_external"]) == (1, 1)
    assert of("x@example.com", "Pay Pal")["display_name_brand"] == 0
    assert of("x@example.com", "groups")["display_name_brand"] == 0  # "ups" only as a word
    vip = of("jane.doe.ceo@gmail.com", "Doe, Jane", to=["bob@acme-corp.com"])
    assert (vip["display_name_vip_match"], vip["display_name_vip_external"], vip["display_name_vip_distance"]) \
        == (1, 1, 0)
    assert vip["recipient_finance_count"] == 1
    assert of("jane@acme-corp.com", "Jane Doe")["display_name_vip_external"] == 0
    near = of("x@gmail.com", "Jane Dae (CEO)")
    assert near["display_name_vip_match"] == 0 or near["display_name_vip_distance"] <= 1
    cyr = of("x@gmail.com", "J\u0430ne D\u043ee")
    assert cyr["display_name_vip_match"] == 1


def test_own_from_with_external_reply_to():
    assert of("jane@acme-corp.com", reply_to=["jane@gmail.com"])["from_own_reply_to_external"] == 1
    assert of("jane@acme-corp.com", reply_to=["jane@acme-corp.com"])["from_own_reply_to_external"] == 0
