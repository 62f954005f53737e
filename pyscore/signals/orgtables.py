"""This module contains OrgTables: the per-tenant lists of a ScoringContext as kernel arrays.

One table set covers every tenant of a batch: tenant-specific sets are single
sorted hash arrays whose entries are salted with the tenant's index, so a
kernel tests "domain d is an own domain of tenant t" with one binary search.
Brands are numbered across all tenants' brand lists; ``brand_enabled[t, b]``
says whether brand b is in tenant t's list. Tables are cached per set of
tenant configs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyscore.signals import lists
from pyscore.signals.tables import Automaton, build_automaton, fnv1a, hash_set, tenant_salted
from pyscore.signals.tenant import EMPTY_TENANT, TenantConfig, config_for

KEY_LIMIT = 1016  # bytes of a name key (the kernels' buffer)


def name_key(name: str) -> str:
    """A person's name as compared: folded (lower case, look-alikes to Latin), ASCII letters
    and digits and other letters kept, every run of anything else one space between tokens."""
    fold, flags = lists.char_tables()
    out: list[str] = []
    size = 0
    pending = False
    for ch in name:
        if size >= KEY_LIMIT:
            break
        cp = ord(ch)
        f = int(fold[cp]) if cp < 0x10000 else cp
        keep = (f < 128 and chr(f).isascii() and chr(f).isalnum()) or (
            128 <= f < 0x10000 and int(flags[f]) & lists.F_ALPHA != 0)
        if keep:
            if pending and out:
                out.append(" ")
                size += 1
            pending = False
            out.append(chr(f))
            size += len(chr(f).encode("utf-8", "replace"))
        else:
            pending = True
    return "".join(out)


def domain_label(root: str, tld: str) -> str:
    """The registrable label of a root domain: "paypal" of "paypal.co.uk"."""
    if tld and root.endswith("." + tld):
        return root[: -len(tld) - 1]
    return root.split(".", 1)[0]


def split_root(domain: str) -> tuple[str, str]:
    """(root domain, tld) of a domain, public-suffix aware (pyscore.domains when present)."""
    try:
        from pyscore.domains import make_domain
    except ImportError:  # the foundation's domain helper not there yet
        import tldextract

        ext = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)(domain)
        root = f"{ext.domain}.{ext.suffix}" if ext.domain and ext.suffix else domain
        return root, ext.suffix
    d = make_domain(domain)
    return (d.root_domain or d.domain), d.tld


def _packed(values: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    data = np.frombuffer(b"".join(values), dtype=np.uint8).copy() if values else np.zeros(0, np.uint8)
    return offsets, data


@dataclass(frozen=True)
class OrgTables:
    configs: tuple[TenantConfig, ...]
    list_keys: dict[str, np.ndarray]  # packaged list -> hashes
    extra_keys: dict[str, np.ndarray]  # list -> salted hashes of tenant additions
    tld_keys: np.ndarray  # every known TLD
    has_own: np.ndarray  # uint8 [tenants]: the tenant declared own domains
    own_keys: np.ndarray  # salted own root domains
    own_tenant_off: np.ndarray  # int64 [tenants + 1] into own labels
    own_label_off: np.ndarray
    own_label_data: np.ndarray
    own_root_off: np.ndarray
    own_root_data: np.ndarray
    brand_names: tuple[str, ...]
    brand_automaton: Automaton
    brand_enabled: np.ndarray  # uint8 [tenants, brands]
    brand_key_off: np.ndarray
    brand_key_data: np.ndarray
    legit_keys: np.ndarray  # salted legitimate brand root domains
    has_vips: np.ndarray  # uint8 [tenants]
    vip_tenant_off: np.ndarray  # int64 [tenants + 1] into VIP keys (two keys per VIP)
    vip_key_off: np.ndarray
    vip_key_data: np.ndarray
    vip_address_keys: np.ndarray  # salted VIP addresses
    finance_keys: np.ndarray  # salted finance staff addresses
    has_finance: np.ndarray  # uint8 [tenants]
    brand_skel_off: np.ndarray  # look-alike skeletons of the brand keys
    brand_skel_data: np.ndarray
    own_skel_off: np.ndarray  # look-alike skeletons of the own labels
    own_skel_data: np.ndarray


def _brands_of(config: TenantConfig) -> dict[str, tuple[str, ...]]:
    return dict(config.brands) if config.brands is not None else lists.brands()


def build_org_tables(configs: tuple[TenantConfig, ...]) -> OrgTables:
    list_keys = {name: hash_set(lists.domain_list(name)) for name in lists.DOMAIN_LISTS}
    list_keys["suspicious_tlds"] = hash_set(lists.suspicious_tlds())
    extra: dict[str, set[int]] = {name: set() for name in lists.EXTRA_LIST_NAMES}
    own_keys, own_labels, own_roots, own_tenant_off = set(), [], [], [0]
    brand_names: list[str] = []
    brand_index: dict[str, int] = {}
    legit: set[int] = set()
    vip_keys, vip_tenant_off, vip_addresses, finance = [], [0], set(), set()
    for t, config in enumerate(configs):
        for name in lists.EXTRA_LIST_NAMES:
            extra[name].update(tenant_salted(fnv1a(v.encode()), t) for v in config.extra(name))
        for domain in config.own_domains:
            root, tld = split_root(domain)
            own_keys.add(tenant_salted(fnv1a(root.encode()), t))
            own_labels.append(domain_label(root, tld).encode())
            own_roots.append(root.encode())
        own_tenant_off.append(len(own_labels))
        for key, domains in _brands_of(config).items():
            if key not in brand_index:
                brand_index[key] = len(brand_names)
                brand_names.append(key)
            legit.update(tenant_salted(fnv1a(d.encode()), t) for d in domains)
        for person in config.vips:
            key = name_key(person.name)
            if key:
                tokens = key.split(" ")
                vip_keys.append("".join(tokens).encode())
                vip_keys.append("".join(reversed(tokens)).encode())
            if person.address:
                vip_addresses.add(tenant_salted(fnv1a(person.address.encode()), t))
        vip_tenant_off.append(len(vip_keys))
        for person in config.finance_staff:
            if person.address:
                finance.add(tenant_salted(fnv1a(person.address.encode()), t))
    enabled = np.zeros((len(configs), max(1, len(brand_names))), dtype=np.uint8)
    for t, config in enumerate(configs):
        for key in _brands_of(config):
            enabled[t, brand_index[key]] = 1
    automaton = build_automaton([(k.encode(), i) for i, k in enumerate(brand_names)]) if brand_names else \
        build_automaton([(b"\x00", 0)])
    own_label_off, own_label_data = _packed(own_labels)
    own_root_off, own_root_data = _packed(own_roots)
    brand_key_off, brand_key_data = _packed([k.encode() for k in brand_names])
    vip_key_off, vip_key_data = _packed(vip_keys)

    def arr(values):
        return np.array(sorted(values), dtype=np.uint64)

    from pyscore.signals._kernels import skeletons

    fold, _ = lists.char_tables()
    brand_skel_off, brand_skel_data = skeletons(brand_key_off, brand_key_data, fold)
    own_skel_off, own_skel_data = skeletons(own_label_off, own_label_data, fold)

    return OrgTables(
        configs=configs,
        list_keys=list_keys,
        extra_keys={name: arr(v) for name, v in extra.items()},
        tld_keys=hash_set(lists.tlds()),
        has_own=np.array([bool(c.own_domains) for c in configs], dtype=np.uint8),
        own_keys=arr(own_keys),
        own_tenant_off=np.array(own_tenant_off, dtype=np.int64),
        own_label_off=own_label_off,
        own_label_data=own_label_data,
        own_root_off=own_root_off,
        own_root_data=own_root_data,
        brand_names=tuple(brand_names),
        brand_automaton=automaton,
        brand_enabled=enabled,
        brand_key_off=brand_key_off,
        brand_key_data=brand_key_data,
        legit_keys=arr(legit),
        has_vips=np.array([bool(c.vips) for c in configs], dtype=np.uint8),
        vip_tenant_off=np.array(vip_tenant_off, dtype=np.int64),
        vip_key_off=vip_key_off,
        vip_key_data=vip_key_data,
        vip_address_keys=arr(vip_addresses),
        finance_keys=arr(finance),
        has_finance=np.array([bool(c.finance_staff) for c in configs], dtype=np.uint8),
        brand_skel_off=brand_skel_off,
        brand_skel_data=brand_skel_data,
        own_skel_off=own_skel_off,
        own_skel_data=own_skel_data,
    )


@functools.lru_cache(maxsize=64)
def _cached(configs: tuple[TenantConfig, ...]) -> OrgTables:
    return build_org_tables(configs)


# One-tenant contexts (the engine scores one message at a time): tables by (tenant id,
# identity of its TenantConfig). A TenantConfig is frozen, so its identity names its
# content; dict configs are read afresh each call.
_ONE_TENANT: dict[tuple[str, int], tuple[Any, OrgTables]] = {}


def _one_tenant_tables(configs: dict, tenant: str) -> OrgTables:
    raw = configs.get(tenant)
    if raw is not None and not isinstance(raw, TenantConfig):
        return _cached((config_for(configs, tenant),))
    key = (tenant, id(raw))
    hit = _ONE_TENANT.get(key)
    if hit is None or hit[0] is not raw:
        if len(_ONE_TENANT) >= 256:
            _ONE_TENANT.clear()
        hit = _ONE_TENANT[key] = (raw, _cached((config_for(configs, tenant),)))
    return hit[1]


# tenant_of of every one-message context, shared (no allocation per message): callers only read it.
# Writable all the same, so the kernels see the same array type as for a batch (one compilation).
_ONE_ZERO = np.zeros(1, dtype=np.int32)


def org_tables(context) -> tuple[OrgTables, np.ndarray]:
    """(tables for the context's tenants, int32 tenant index per message; do not write to it)."""
    tenants = context.tenants
    n = len(tenants)
    if n == 1:
        return _one_tenant_tables(context.tenant_configs, tenants[0]), _ONE_ZERO
    if n > 1 and isinstance(tenants, list) and tenants.count(tenants[0]) == n:
        return _one_tenant_tables(context.tenant_configs, tenants[0]), np.zeros(n, dtype=np.int32)
    ids = list(dict.fromkeys(tenants))
    configs = tuple(config_for(context.tenant_configs, t) for t in ids) or (EMPTY_TENANT,)
    index = {t: i for i, t in enumerate(ids)}
    tenant_of = np.fromiter((index[t] for t in tenants), dtype=np.int32, count=n)
    return _cached(configs), tenant_of
