"""This module contains the sender-identity signals: free mail, domain shape, look-alikes of
the organisation's own domains and of brands, and display names imitating VIPs or brands.

Organisation context comes from ``ScoringContext.tenant_configs`` (see
``TenantConfig``); signals that need it are NaN for a tenant without it.
Look-alikes compare skeletons of the registrable label (``paypal`` of
``paypal.co.uk``): characters folded to Latin, then rn->m, vv->w, cl->d,
0->o, 1/i->l, 3->e, 5->s, hyphens dropped. A domain looks like a target when
the skeletons are equal, or 1 edit apart (4+ characters), or 2 (8+).
"""

from __future__ import annotations

from pyscore.signals import fused
from pyscore.signals.registry import Signal, SignalGroup

DISTANCE_CAP = 3  # distances are reported up to this value ("3 or more")


def _s(name: str, kind: str, doc: str, level: str = "sender") -> Signal:
    return Signal(name, level, kind, doc)


SIGNALS: tuple[Signal, ...] = (
    _s("sender_free_mail", "bool", "The sender's domain is a free-mail provider."),
    _s("reply_to_free_mail", "bool", "A Reply-To on a free-mail provider outside the sender's domain (NaN: no Reply-To)."),
    _s("return_path_free_mail", "bool", "The Return-Path is on a free-mail provider (NaN: none)."),
    _s("sender_suspicious_tld", "bool", "The sender's domain is under a TLD over-represented in abuse."),
    _s("sender_domain_idn", "bool", "The sender's domain is internationalised (non-ASCII or punycode)."),
    _s("sender_domain_confusable", "bool", "The sender's domain holds Cyrillic/Greek/full-width look-alikes."),
    _s("sender_domain_hyphen_count", "count", "Hyphens in the sender's domain."),
    _s("sender_domain_digit_count", "count", "Digits in the sender's domain."),
    _s("sender_domain_length", "count", "Bytes of the sender's domain."),
    _s("sender_subdomain_depth", "count", "Labels in front of the sender's registrable domain."),
    _s("sender_local_part_length", "count", "Bytes of the sender address's local part."),
    _s("sender_local_part_digit_ratio", "ratio", "Digit share of the sender address's local part."),
    _s("display_name_empty", "bool", "The From header has no display name."),
    _s("sender_own_domain", "bool", "The sender's domain is one of the organisation's (NaN: no own domains known)."),
    _s("sender_own_lookalike_distance", "count",
       f"Edit distance of the sender's domain skeleton to the nearest own domain, capped at {DISTANCE_CAP}."),
    _s("sender_own_lookalike", "bool", "The sender's domain looks like an own domain without being one."),
    _s("sender_own_skeleton_match", "bool", "The sender's domain has the skeleton of an own domain but other characters."),
    _s("sender_own_tld_swap", "bool", "The sender's domain has an own domain's label under another suffix."),
    _s("sender_brand_domain", "bool", "The sender's domain is a brand's legitimate domain."),
    _s("sender_brand_lookalike_distance", "count",
       f"Edit distance of the sender's domain skeleton to the nearest brand, capped at {DISTANCE_CAP}."),
    _s("sender_brand_lookalike", "bool", "The sender's domain looks like a brand without being the brand's."),
    _s("sender_brand_skeleton_match", "bool", "The sender's domain has a brand's skeleton but other characters."),
    _s("sender_brand_tld_swap", "bool", "The sender's domain is a brand's name under a suffix the brand does not use."),
    _s("sender_brand_in_domain", "bool", "The sender's domain contains a brand's name but is not the brand's."),
    _s("display_name_brand", "bool", "The display name names a brand."),
    _s("display_name_brand_external", "bool", "The display name names a brand, the address is not the brand's."),
    _s("display_name_vip_distance", "count",
       f"Edit distance of the display name to the nearest VIP name, capped at {DISTANCE_CAP} (NaN: no VIPs)."),
    _s("display_name_vip_match", "bool", "The display name is (close to) an organisation VIP's name."),
    _s("display_name_vip_external", "bool", "A VIP's name on an address that is neither the VIP's nor own-domain."),
    _s("recipient_vip_count", "count", "Recipients (To/Cc) who are VIPs (NaN: no VIPs known).", "recipient"),
    _s("recipient_finance_count", "count", "Recipients (To/Cc) who are finance staff (NaN: none known).", "recipient"),
    _s("from_own_reply_to_external", "bool", "From an own domain with a Reply-To outside the own domains."),
)


def _so(col) -> tuple:
    return col.offsets, col.data


# Filled by one kernel call with the other groups (pyscore.signals.fused).
compute = fused.group_compute("identity")


def group() -> SignalGroup:
    return SignalGroup("identity", SIGNALS, compute, joint=fused.compute_blocks)
