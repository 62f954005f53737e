"""Synthetic mail: rendering (pyscore.synth.render vs stdlib email.message) and the whole run.

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
         --benchmark-enable --benchmark-only bench_synth.py -s

The render benchmarks rotate through ~3,000 distinct simulated messages (threads with
quotes, HTML alternatives, PDF/Office attachments, bulk mail); the stdlib peer builds the
same message with EmailMessage (set_content / add_alternative / add_attachment) and
serialises it with policy SMTP. The end-to-end figure is one ``generate`` of 10,000
messages into a temporary directory (simulation, attacks, rendering, .eml writes, Parquet).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import itertools
import random
import time
from email.message import EmailMessage

import pytest

from pyscore.synth import generate, render
from pyscore.synth.people import make_world
from pyscore.synth.render import format_address
from pyscore.synth.traffic import Simulator


@pytest.fixture(scope="module")
def mails():
    org = make_world(0, 1)[0]
    records = Simulator(org, random.Random(1), dt.date(2025, 3, 3), 2).run()
    return [r.mail for r in records]


def stdlib_render(mail) -> bytes:
    msg = EmailMessage()
    for name, value in mail.trace:
        msg[name] = value.replace("\r\n", "")  # the stdlib folds by itself
    msg["From"] = format_address(mail.from_)
    msg["To"] = ", ".join(format_address(a) for a in mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(format_address(a) for a in mail.cc)
    if mail.reply_to:
        msg["Reply-To"] = ", ".join(format_address(a) for a in mail.reply_to)
    msg["Subject"] = mail.subject
    msg["Date"] = mail.date
    msg["Message-ID"] = f"<{mail.message_id}>"
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        msg["References"] = " ".join(f"<{r}>" for r in mail.references)
    for name, value in mail.extra:
        msg[name] = value
    msg.set_content(mail.text, cte="quoted-printable")
    if mail.html:
        msg.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    for att in mail.attachments:
        main, sub = att.content_type.split("/", 1)
        msg.add_attachment(att.data, maintype=main, subtype=sub, filename=att.filename)
    return msg.as_bytes(policy=email.policy.SMTP)


def _rotate(mails, fn):
    it = itertools.cycle(mails)

    def step():
        return fn(next(it))
    return step


def test_render_synth(benchmark, mails):
    benchmark.extra_info["messages"] = len(mails)
    benchmark(_rotate(mails, render))


def test_render_stdlib_peer(benchmark, mails):
    benchmark.extra_info["messages"] = len(mails)
    benchmark(_rotate(mails, stdlib_render))


def test_generate_10k(benchmark, tmp_path_factory):
    def run():
        out = tmp_path_factory.mktemp("gen") / "d"
        t0 = time.process_time()
        summary = generate(out, messages=10_000, seed=0)
        return summary, time.process_time() - t0

    summary, cpu = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(messages=summary.messages, cpu_seconds=round(cpu, 2),
                                wall_seconds=round(summary.seconds, 2))
    print(f"\ngenerate 10,000 messages: {summary.seconds:.1f} s wall, {cpu:.1f} s CPU")
    assert summary.messages == 10_000
