"""This package contains the rule language: MQL-compatible detection rules compiled to the core.

    from pyscore.rules import RuleSet
    ruleset = RuleSet.load("pyscore/rules/pack")        # errors in ruleset.errors
    compiled = ruleset.compile()
    hits = compiled.evaluate(batch, features=F, feature_names=names)  # uint8 (messages x rules)
    compiled.rules[j]                                    # RuleMeta: name, id, category, severity, mode
"""

from pyscore.rules.ruleset import PACK_DIR, Rule, RuleError, RuleSet
from pyscore.rules.runtime import CompiledRules, RuleMeta

__all__ = ["PACK_DIR", "CompiledRules", "Rule", "RuleError", "RuleMeta", "RuleSet"]
