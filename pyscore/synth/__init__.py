"""This package contains the simulated-organisation mail generator (``pyscore synth``).

``generate(out_dir, ...)`` writes a labeled dataset; ``render_attack(technique, ctx, rng)``
builds one attack against any communication graph (also used by ``pyscore.datasets``).
"""

from pyscore.synth.attacks import (
    TECHNIQUES,
    AttackContext,
    AttackResult,
    ThreadRef,
    build_attack,
    lookalike,
    render_attack,
)
from pyscore.synth.generate import Summary, generate
from pyscore.synth.people import External, Org, Person
from pyscore.synth.render import Attachment, Mail, render

__all__ = [
    "TECHNIQUES", "AttackContext", "AttackResult", "Attachment", "External", "Mail", "Org",
    "Person", "Summary", "ThreadRef", "build_attack", "generate", "lookalike", "render",
    "render_attack",
]
