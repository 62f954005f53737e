"""Identity and history catch what content alone cannot: the starter pack on hand-written mail.

A colleague's name from a personal mailbox asking for gift cards is caught
only because the organisation has heard that name from another address; the
same words from the colleague's real address, or from a stranger's name,
are not impersonation.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyscore.baseline.signals import observe_batch
from pyscore.baseline.store import BaselineStore
from pyscore.batch import MessageBatch
from pyscore.mime import parse
from pyscore.rules import RuleSet
from pyscore.signals import REGISTRY
from pyscore.signals.registry import ScoringContext
from pyscore.signals.tenant import TenantConfig

COLLEAGUE_RULE = "Impersonation: a colleague's name from an address never seen with it"
ASK = "Bob, I need you to buy five gift cards for a client this afternoon. Send me the codes, it is urgent."


def mail(sender: str, to: str, day: int, subject: str, body: str) -> bytes:
    local, domain = sender.rsplit("<", 1)[1].rstrip(">").split("@")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Tue, {day:02d} Mar 2025 10:00:00 +0000\r\nMessage-ID: <m{day}.{local}@{domain}>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture(scope="module")
def scorer():
    configs = {"acme": TenantConfig.from_dict({"tenant_id": "acme", "own_domains": ["acme.example"]})}
    history = [mail('"Dana Whitfield" <dana.whitfield@acme.example>', "Bob <bob@acme.example>", day,
                    "Weekly numbers", "Bob, the numbers are in the shared folder.") for day in range(1, 8)]
    history += [mail('"Bob Stone" <bob@acme.example>', "Dana Whitfield <dana.whitfield@acme.example>", 8,
                     "Re: Weekly numbers", "Thanks Dana.")]
    store = BaselineStore.memory()
    past = MessageBatch.from_messages([parse(r) for r in history])
    observe_batch(past, ScoringContext(tenants=["acme"] * len(past), times=np.asarray(past.column("headers.date")),
                                       tenant_configs=configs, baseline=store))
    rules = RuleSet.load().compile()

    def fired(raw: bytes) -> set[str]:
        batch = MessageBatch.from_messages([parse(raw)])
        ctx = ScoringContext(tenants=["acme"], times=np.asarray(batch.column("headers.date")),
                             tenant_configs=configs, baseline=store)
        hits = rules.evaluate(batch, ctx, features=REGISTRY.compute(batch, ctx), feature_names=REGISTRY.names)
        return {r.name for r, hit in zip(rules.rules, hits[0], strict=True) if hit}

    return fired


def test_a_colleagues_name_from_a_personal_mailbox_asking_for_gift_cards_is_caught(scorer):
    attack = mail('"Dana Whitfield" <dana.whitfield.desk@gmail.com>', "Bob <bob@acme.example>", 20,
                  "Are you available?", ASK)
    assert COLLEAGUE_RULE in scorer(attack)


def test_the_same_words_from_the_colleagues_own_address_are_not_impersonation(scorer):
    real = mail('"Dana Whitfield" <dana.whitfield@acme.example>', "Bob <bob@acme.example>", 20,
                "Are you available?", ASK)
    assert COLLEAGUE_RULE not in scorer(real)


def test_a_name_the_organisation_never_heard_is_not_a_colleague(scorer):
    stranger = mail('"Riley Marsh" <riley.marsh.desk@gmail.com>', "Bob <bob@acme.example>", 20,
                    "Are you available?", ASK)
    assert COLLEAGUE_RULE not in scorer(stranger)


def test_a_colleague_forwarding_from_home_is_not_flagged(scorer):
    forward = mail('"Dana Whitfield" <dana.whitfield.desk@gmail.com>', "Bob <bob@acme.example>", 20,
                   "Fwd: photos from the offsite", "Bob, here are the photos from Saturday.")
    assert COLLEAGUE_RULE not in scorer(forward)
