"""Shared fixtures: the real corpora (when present) and small hand-written messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA_DIR = Path(os.environ.get("PYSCORE_CORPORA", Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora, or a skip when this machine does not have it."""
    if not CORPORA_DIR.is_dir() or not any(CORPORA_DIR.glob("*.tar.xz")):
        pytest.skip(f"corpora not found at {CORPORA_DIR}")
    return CORPORA_DIR


# A hand-written rule for the engine tests: a free-mail sender asking for a wire transfer.
WIRE_RULE = """\
name: "Test: wire transfer request from free mail"
description: a payment request sent from a free-mail address
type: rule
severity: high
category: bec
mode: active
source: |
  // free-mail sender
  sender.email.domain.root_domain in ("gmail.com", "outlook.com")
  // asks for a wire transfer
  and strings.icontains(body.current_thread.text, "wire transfer")
tests:
  - expect: match
    message: |
      From: "Chief Executive" <ceo.private@gmail.com>
      To: ap@acme.example
      Subject: urgent

      Please send a wire transfer today.
  - expect: no_match
    message: |
      From: bob@acme.example
      To: ap@acme.example
      Subject: lunch

      Lunch at noon?
"""


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    """A bundle built from a small simulated organisation (2,000 messages, 3 weeks).

    Two hand-written rules (one active, one shadow), a policy with a block
    list, per-category models of 30 trees, and the baseline snapshot. The
    dataset sits next to it, in ``small_bundle.parent / "data"``.
    """
    from pyscore import pipeline
    from pyscore.synth.generate import generate

    root = tmp_path_factory.mktemp("small-bundle")
    generate(root / "data", orgs=1, weeks=3, seed=3, messages=2000, attack_rate=0.12)
    rules = root / "rules" / "bec"
    rules.mkdir(parents=True)
    (rules / "bec_test_wire.yml").write_text(WIRE_RULE)
    shadow = WIRE_RULE.replace("Test: wire transfer request from free mail", "Test: shadow wire")
    (rules / "bec_test_shadow.yml").write_text(shadow.replace("mode: active", "mode: shadow"))
    policy = root / "policy.yml"
    policy.write_text("tenants:\n  default:\n    block:\n      domains: [blocked.example]\n")
    pipeline.build_bundle(root / "data", root / "bundle", rules_dir=root / "rules", policy_path=policy, n_trees=30,
                          progress=lambda m: None)
    return root / "bundle"


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (local[2], loopback only) shared by every Spark test."""
    import shutil

    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH")
    from pyscore.spark import local_session

    session = local_session(master="local[2]", app_name="pyscore-tests")
    yield session
    session.stop()
