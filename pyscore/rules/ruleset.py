"""This module contains RuleSet: YAML rule files loaded, checked and compiled.

A rule file holds one rule, as in Sublime's open rules repository::

    name: "Credential phishing: mailbox quota lure with a link"
    description: ...
    type: rule
    severity: medium            # informational | low | medium | high | critical
    source: |
      type.inbound
      and strings.ilike(subject.subject, "*mailbox*full*")  // one comment per clause
    attack_types: ["Credential Phishing"]
    tactics_and_techniques: ["Social engineering"]
    detection_methods: ["Content analysis"]
    id: 5b0c...                 # uuid5 of the rule's first path, kept through renames
    mode: active                # ours: active | shadow
    category: credential_phishing
    tests:                      # ours: each inline test must pass
      - expect: match
        message: |              # raw RFC 5322 text, or an MDM mapping, or file: path
          From: ...

A file that does not load (bad YAML, unknown key, bad taxonomy, a source that
does not parse or type-check) is reported as a ``RuleError`` with file, line
and column and skipped; the others still load.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pyscore.rules import parser as ast
from pyscore.rules.checker import check
from pyscore.rules.compiler import Compiler
from pyscore.rules.lexer import RuleSyntaxError
from pyscore.rules.runtime import CompiledRules, RuleMeta
from pyscore.rules.types import Catalog

LISTS_DIR = Path(__file__).with_name("lists")
PACK_DIR = Path(__file__).with_name("pack")
ID_NAMESPACE = uuid.UUID("6f1d7c4e-2b7a-5c38-9d0e-7a1c1f0b9e21")

SEVERITIES = ("informational", "low", "medium", "high", "critical")
MODES = ("active", "shadow")
CATEGORIES = ("credential_phishing", "bec", "malware", "callback_scam", "spam", "graymail")
ATTACK_TYPES = ("BEC/Fraud", "Callback Phishing", "Credential Phishing", "Extortion", "Malware/Ransomware",
                "Spam", "Scam", "Graymail")
TACTICS = ("Evasion", "Free email provider", "Free file host", "Free subdomain host", "HTML smuggling",
           "Impersonation: Brand", "Impersonation: Employee", "Impersonation: VIP", "Lookalike domain",
           "Social engineering", "Spoofing", "Out of band pivot", "Encryption", "Macros", "Scripting",
           "Archive", "Executable", "Punycode", "URL shortener", "Open redirect", "Reply-to mismatch",
           "New sender", "Payment fraud", "Gift cards", "Cryptocurrency")
DETECTION_METHODS = ("Content analysis", "Header analysis", "URL analysis", "File analysis", "Sender analysis",
                     "Archive analysis", "Behavioral analysis", "Natural Language Understanding")
KEYS = {"name", "description", "type", "severity", "source", "attack_types", "tactics_and_techniques",
        "detection_methods", "id", "mode", "category", "tests", "references", "authors", "tags",
        "false_positives"}


@dataclass(frozen=True)
class RuleError:
    path: str
    line: int
    column: int
    message: str
    rule: str = ""

    def __str__(self) -> str:
        who = f" rule {self.rule!r}:" if self.rule else ""
        return f"{self.path}:{self.line}:{self.column}:{who} {self.message}"


@dataclass
class RuleTest:
    expect: str  # match | no_match
    message: object  # raw text, MDM mapping or a Path
    signals: dict[str, float] = field(default_factory=dict)
    description: str = ""
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)  # named-list overrides (tenant lists)


@dataclass
class Rule:
    name: str
    source: str
    tree: ast.Node
    id: str
    path: str
    severity: str = "medium"
    mode: str = "active"
    category: str = "spam"
    description: str = ""
    type: str = "rule"
    attack_types: tuple[str, ...] = ()
    tactics_and_techniques: tuple[str, ...] = ()
    detection_methods: tuple[str, ...] = ()
    tests: list[RuleTest] = field(default_factory=list)

    @property
    def meta(self) -> RuleMeta:
        return RuleMeta(self.name, self.id, self.category, self.severity, self.mode, self.path)


def rule_id(first_path: str) -> str:
    """The id of a rule: uuid5 of the path it was first added under (kept through renames)."""
    return str(uuid.uuid5(ID_NAMESPACE, first_path))


def load_lists(directory: Path = LISTS_DIR) -> dict[str, tuple[str, ...]]:
    """Named lists: ``<name>.txt`` files, one value a line, ``#`` comments."""
    lists = {}
    for path in sorted(Path(directory).glob("*.txt")):
        values = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                values.append(line)
        lists[path.stem] = tuple(values)
    return lists


class RuleSet:
    """Loaded rules and the errors of the files that did not load."""

    def __init__(self, rules: list[Rule], errors: list[RuleError], lists: Mapping[str, tuple[str, ...]],
                 catalog: Catalog) -> None:
        self.rules = rules
        self.errors = errors
        self.lists = dict(lists)
        self.catalog = catalog

    @classmethod
    def load(cls, directory: str | Path = PACK_DIR, *, lists: Mapping[str, Sequence[str]] | None = None,
             signals: Mapping[str, str] | None = None) -> RuleSet:
        """Every ``*.yml`` under ``directory``. ``lists`` overrides named lists (per tenant);
        ``signals`` (name -> "num" | "bool") replaces the signal registry, for tests."""
        directory = Path(directory)
        if not directory.exists():
            raise FileNotFoundError(f"no rule directory {directory}")
        merged = load_lists()
        if (directory / "lists").is_dir():
            merged.update(load_lists(directory / "lists"))
        merged.update({k: tuple(v) for k, v in (lists or {}).items()})
        catalog = Catalog.default(lists=merged, signals=signals)
        files = sorted(directory.rglob("*.yml")) if directory.is_dir() else [directory]
        rules, errors = [], []
        for path in files:
            try:
                rules.append(load_rule(path, catalog, root=directory if directory.is_dir() else path.parent))
            except RuleFileError as exc:
                errors.append(exc.error)
        seen: dict[str, str] = {}
        kept = []
        for rule in rules:
            if rule.id in seen:
                errors.append(RuleError(rule.path, 1, 1, f"duplicate id {rule.id} (also in {seen[rule.id]})", rule.name))
                continue
            seen[rule.id] = rule.path
            kept.append(rule)
        return cls(kept, errors, merged, catalog)

    def compile(self, *, modes: Sequence[str] = MODES) -> CompiledRules:
        """All rules (of the given modes) as one program; columns in ``self.rules`` order."""
        compiler = Compiler(self.lists)
        chosen = [r for r in self.rules if r.mode in modes]
        for rule in chosen:
            compiler.add_rule(rule.tree)
        return CompiledRules([r.meta for r in chosen], compiler)


class RuleFileError(Exception):
    def __init__(self, error: RuleError) -> None:
        super().__init__(str(error))
        self.error = error


def _source_position(text: str, source_node) -> tuple[int, int, int]:
    """(file line of source line 1, column offset, style) for mapping parser positions to the file."""
    mark = source_node.start_mark
    if source_node.style in ("|", ">"):
        lines = text.splitlines()
        for i in range(mark.line + 1, len(lines)):
            if lines[i].strip():
                indent = len(lines[i]) - len(lines[i].lstrip(" "))
                return i + 1, indent, 1
        return mark.line + 2, 0, 1
    quote = 1 if source_node.style in ("'", '"') else 0
    return mark.line + 1, mark.column + quote, 0


def load_rule(path: Path, catalog: Catalog, *, root: Path) -> Rule:
    """One rule file, checked; raises RuleFileError."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(RuleError(shown, 1, 1, f"cannot read: {exc}")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RuleFileError(RuleError(shown, line, col, f"invalid YAML: {getattr(exc, 'problem', exc)}")) from None
    if not isinstance(data, dict):
        raise RuleFileError(RuleError(shown, 1, 1, "a rule file must be a mapping with name and source"))
    name = str(data.get("name", ""))
    positions = {k.value: (k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in node.value}

    def fail(message: str, key: str | None = None) -> RuleFileError:
        line, col = positions.get(key, (1, 1))
        return RuleFileError(RuleError(shown, line, col, message, name))

    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (expected one of {sorted(KEYS)})", unknown[0])
    for key in ("name", "source"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(f"{key!r} is required and must be a non-empty string", key)
    _check_choice(data, "severity", SEVERITIES, "medium", fail)
    _check_choice(data, "mode", MODES, "active", fail)
    _check_choice(data, "category", CATEGORIES, None, fail)
    _check_choice(data, "type", ("rule",), "rule", fail)
    for key, allowed in (("attack_types", ATTACK_TYPES), ("tactics_and_techniques", TACTICS),
                         ("detection_methods", DETECTION_METHODS)):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail(f"{key!r} must be a list of strings", key)
        for v in values:
            if v not in allowed:
                raise fail(f"{key}: {v!r} is not one of {list(allowed)}", key)
    source = data["source"]
    _check_invisible(source, fail)
    source_node = next(v for k, v in node.value if k.value == "source")
    first_line, col_offset, block = _source_position(text, source_node)
    try:
        tree = check(ast.parse(source), catalog)
        Compiler(catalog.lists).add_rule(tree)  # compile errors (two lists in one expression) surface now
    except RuleSyntaxError as exc:
        line = first_line + exc.line - 1
        column = exc.column + (col_offset if (block or exc.line == 1) else 0)
        raise RuleFileError(RuleError(shown, line, column, exc.message, name)) from None
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    rid = str(data.get("id") or rule_id(rel))
    try:
        uuid.UUID(rid)
    except ValueError:
        raise fail(f"id {rid!r} is not a UUID", "id") from None
    tests = _tests(data.get("tests", []), path, fail)
    return Rule(
        name=name, source=source, tree=tree, id=rid, path=shown, severity=data.get("severity", "medium"),
        mode=data.get("mode", "active"), category=data["category"], description=str(data.get("description", "")),
        type=data.get("type", "rule"), attack_types=tuple(data.get("attack_types", [])),
        tactics_and_techniques=tuple(data.get("tactics_and_techniques", [])),
        detection_methods=tuple(data.get("detection_methods", [])), tests=tests)


def _check_choice(data, key, allowed, default, fail) -> None:
    value = data.get(key, default)
    if value is None:
        raise fail(f"{key!r} is required (one of {list(allowed)})", key)
    if value not in allowed:
        raise fail(f"{key}: {value!r} is not one of {list(allowed)}", key)


def _check_invisible(source: str, fail) -> None:
    for i, ch in enumerate(source):
        if ch in "\u200b\u200c\u200d\u2060\ufeff\u00a0" or (ord(ch) < 32 and ch not in "\n\t\r"):
            line = source.count("\n", 0, i) + 1
            raise fail(f"invisible character U+{ord(ch):04X} in source line {line}", "source")


def _tests(raw, path: Path, fail) -> list[RuleTest]:
    if not isinstance(raw, list):
        raise fail("'tests' must be a list", "tests")
    tests = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("expect") not in ("match", "no_match"):
            raise fail(f"test {i + 1}: needs expect: match | no_match", "tests")
        unknown = set(item) - {"expect", "message", "file", "signals", "description", "lists"}
        if unknown:
            raise fail(f"test {i + 1}: unknown key {sorted(unknown)[0]!r}", "tests")
        if ("message" in item) == ("file" in item):
            raise fail(f"test {i + 1}: give exactly one of message or file", "tests")
        message = item["message"] if "message" in item else path.parent / str(item["file"])
        if not isinstance(message, str | dict | Path):
            raise fail(f"test {i + 1}: message must be raw RFC 5322 text or an MDM mapping", "tests")
        signals = item.get("signals", {})
        if not isinstance(signals, dict):
            raise fail(f"test {i + 1}: signals must map names to numbers", "tests")
        lists = item.get("lists", {})
        if not isinstance(lists, dict) or not all(isinstance(v, list) for v in lists.values()):
            raise fail(f"test {i + 1}: lists must map list names to lists of strings", "tests")
        tests.append(RuleTest(item["expect"], message, {str(k): float(v) for k, v in signals.items()},
                              str(item.get("description", "")),
                              {str(k): tuple(str(x) for x in v) for k, v in lists.items()}))
    return tests
