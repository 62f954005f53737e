"""This module contains the rule language's types and the field catalogue they check against.

Scalar types are the strings ``"str"``, ``"num"``, ``"bool"`` and ``"null"``
(the type of the literal ``null``). A list field has a ``ListTy``: its
elements are records (``RecordTy``: a list group of ``MessageBatch``, whose
fields are its element columns) or scalars (a group with one ``value``
column, or the result of ``map``).

The catalogue is built from ``pyscore.batch`` (every scalar column and every
list-group element column, by MDM path), ``pyscore.signals`` (``signals.<name>``,
read lazily) and the profile fields that baseline signals provide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyscore.batch import LIST_SPECS, SCALAR_SPECS

STR, NUM, BOOL, NULL = "str", "num", "bool", "null"
SCALARS = (STR, NUM, BOOL)


@dataclass(frozen=True)
class RecordTy:
    group: str  # list group path, or "regex.match" for iextract results
    fields: tuple[tuple[str, str], ...]  # (element path, scalar type)

    def field_type(self, path: str) -> str | None:
        return dict(self.fields).get(path)


@dataclass(frozen=True)
class ListTy:
    elem: object  # RecordTy, or a scalar type
    distinct: bool = False  # the result of distinct(...): only length/any/all may read it


@dataclass(frozen=True)
class ProfileTy:
    pass


MATCH_RECORD = RecordTy("regex.match", (("full_match", STR),))

# Numeric batch columns that hold booleans (1.0 / 0.0 / NaN).
_BOOL_COLUMNS = {"encrypted"}

# MQL names that differ from the batch's own.
ALIASES = {"body.plain.raw": "body.text"}

# Constant fields: every message the engine scores is inbound.
CONSTANTS = {"type.inbound": (BOOL, True)}

# profile.by_sender() fields -> (type, baseline signal of pyscore.baseline.signals that provides it).
# Counts read as booleans are true when non-zero (solicited: the organisation wrote to or
# answered the sender at least once).
PROFILE_FIELDS: dict[str, tuple[str, str]] = {
    "prevalence": (STR, "baseline_sender_prevalence"),
    "solicited": (BOOL, "baseline_sender_solicited"),
    "any_messages_benign": (BOOL, "baseline_sender_benign"),
    "any_messages_malicious": (BOOL, "baseline_sender_malicious"),
    "days_known": (NUM, "baseline_sender_days_known"),
}

# sender_prevalence codes -> MQL prevalence names. The baselines have no "outlier" bucket.
_PREVALENCE = {0: "new", 1: "rare", 2: "common"}


def prevalence_of(code: float) -> str:
    """MQL's sender prevalence from the baseline's category (0 new, 1 rare, 2 common); "" when unknown."""
    if code != code:  # NaN: no baseline
        return ""
    return _PREVALENCE.get(int(code), "")


def _scalar_kind(path: str, kind: str) -> str:
    if kind == "str":
        return STR
    leaf = path.rsplit(".", 1)[-1]
    return BOOL if leaf == "pass" or leaf in _BOOL_COLUMNS else NUM


@dataclass
class Catalog:
    """Everything a rule may name: fields, list groups, signals, named lists."""

    scalars: dict[str, str] = field(default_factory=dict)
    groups: dict[str, ListTy] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    _signals: dict[str, str] | None = None

    @classmethod
    def default(cls, *, lists: Mapping[str, tuple[str, ...]] | None = None,
                signals: Mapping[str, str] | None = None) -> Catalog:
        scalars = {p: _scalar_kind(p, k) for p, k, _ in SCALAR_SPECS}
        groups = {}
        for group, _, specs in LIST_SPECS:
            fields = tuple((p, _scalar_kind(p, k)) for p, k, _ in specs)
            if len(fields) == 1 and fields[0][0] == "value":
                groups[group] = ListTy(fields[0][1])
            else:
                groups[group] = ListTy(RecordTy(group, fields))
        return cls(scalars, groups, dict(lists or {}), dict(signals) if signals is not None else None)

    @property
    def signals(self) -> dict[str, str]:
        """Registered signal names -> "num" or "bool", read from pyscore.signals on first use."""
        if self._signals is None:
            self._signals = registered_signals()
        return self._signals


def registered_signals() -> dict[str, str]:
    """Names and types of every signal in ``pyscore.signals.REGISTRY`` (empty when it is absent)."""
    try:
        from pyscore.signals import REGISTRY
    except ImportError:
        return {}
    return {s.name: BOOL if s.type == "bool" else NUM for s in REGISTRY.signals}


def describe(ty: object) -> str:
    """A type as an error message names it."""
    names = {STR: "a string", NUM: "a number", BOOL: "a boolean", NULL: "null"}
    if isinstance(ty, ListTy):
        inner = ty.elem.group if isinstance(ty.elem, RecordTy) else describe(ty.elem)
        return f"a list of {inner}"
    if isinstance(ty, ProfileTy):
        return "a sender profile"
    return names.get(ty, str(ty))
