"""This module contains TenantConfig: one organisation's context for the signals.

Own domains, VIPs, finance staff and brand lists differ per organisation, so
they are inputs (``ScoringContext.tenant_configs[tenant_id]``), never
hard-coded. A message whose tenant has no config is scored with an empty one:
the signals that need organisation context are then NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyscore.signals.lists import EXTRA_LIST_NAMES, parse_brands


@dataclass(frozen=True)
class Person:
    name: str  # display name as people write it: "Jane Doe"
    address: str = ""  # the person's own mailbox, lower case; "" when unknown


@dataclass(frozen=True)
class TenantConfig:
    tenant_id: str
    own_domains: tuple[str, ...] = ()  # registrable domains the organisation sends from
    vips: tuple[Person, ...] = ()  # executives and others worth impersonating
    finance_staff: tuple[Person, ...] = ()  # people who can move money
    # brand key -> legitimate domains; None keeps the packaged list (pyscore/data/brands.txt).
    brands: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    # Additions to the packaged lists: free_mail, shorteners, free_hosting,
    # file_sharing (domains) and suspicious_tlds.
    extra_lists: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TenantConfig:
        """Read a config from JSON-like data; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"tenant config: expected an object, got {type(data).__name__}")
        known = {"tenant_id", "own_domains", "vips", "finance_staff", "brands", "extra_lists"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"tenant config: unknown field(s) {unknown}; known: {sorted(known)}")
        tenant_id = data.get("tenant_id")
        if not isinstance(tenant_id, str) or not tenant_id:
            raise ValueError("tenant config: tenant_id must be a non-empty string")
        brands = None
        if data.get("brands") is not None:
            if not isinstance(data["brands"], dict):
                raise ValueError("tenant config: brands must map a brand key to a list of domains")
            try:
                parsed = parse_brands(data["brands"], f"tenant {tenant_id} brands")
            except ValueError as exc:
                raise ValueError(str(exc)) from None
            brands = tuple(parsed.items())
        extra = data.get("extra_lists") or {}
        if not isinstance(extra, dict):
            raise ValueError("tenant config: extra_lists must be an object")
        for name in extra:
            if name not in EXTRA_LIST_NAMES:
                raise ValueError(f"tenant config: extra_lists.{name} is not one of {EXTRA_LIST_NAMES}")
        return cls(
            tenant_id=tenant_id,
            own_domains=tuple(d.lower().strip() for d in _strings(data, "own_domains")),
            vips=_people(data, "vips"),
            finance_staff=_people(data, "finance_staff"),
            brands=brands,
            extra_lists=tuple(
                (name, tuple(v.lower().strip().lstrip(".") for v in _strings(extra, name, f"extra_lists.{name}")))
                for name in sorted(extra)
            ),
        )

    def extra(self, name: str) -> tuple[str, ...]:
        for key, values in self.extra_lists:
            if key == name:
                return values
        return ()


def _strings(data: dict, key: str, path: str | None = None) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"tenant config: {path or key} must be a list of strings")
    return list(value)


def _people(data: dict, key: str) -> tuple[Person, ...]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise ValueError(f"tenant config: {key} must be a list")
    people = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise ValueError(f"tenant config: {key}[{i}] needs a non-empty 'name'")
        address = item.get("address", "")
        if not isinstance(address, str):
            raise ValueError(f"tenant config: {key}[{i}].address must be a string")
        people.append(Person(name=item["name"].strip(), address=address.strip().lower()))
    return tuple(people)


EMPTY_TENANT = TenantConfig(tenant_id="")


def config_for(context_configs: dict[str, Any], tenant_id: str) -> TenantConfig:
    """The TenantConfig of a tenant (a dict is read with from_dict); EMPTY_TENANT when absent."""
    config = context_configs.get(tenant_id)
    if config is None:
        return EMPTY_TENANT
    if isinstance(config, TenantConfig):
        return config
    if isinstance(config, dict):
        return TenantConfig.from_dict({"tenant_id": tenant_id, **config})
    raise ValueError(f"tenant_configs[{tenant_id!r}] must be a TenantConfig or a dict, got {type(config).__name__}")
