"""MIME parsing throughput: pyscore.mime.parse beside the standard library, on real messages.

Run: cd bench && OMP_NUM_THREADS=1 ../.venv-dev/bin/pytest -o python_files='bench_*.py' \
         --benchmark-enable --benchmark-only bench_parse.py -s

Each round parses the next of many distinct messages (up to 400 from each
archive in ``corpora_dir``, read with tarfile; generated messages when the
corpora are absent), so the median is a median over messages, never one
message repeated. The ``parse-engine-mix`` group repeats the comparison on the
linux_mips + phishing_pot mix that the engine benchmark rotates through.
Medians and p99s are printed with -s. Peers in the same run:

- ``email.message_from_bytes(raw, policy=email.policy.default)``: the stdlib
  parser with the modern policy. It only splits the MIME tree; headers,
  addresses, bodies and attachments are decoded later, on access.
- ``email.parser.BytesParser(policy=compat32)``: the legacy policy, faster, same laziness.

``pyscore.mime.parse`` does more work per message than either (decoded
bodies, HTML to text, links, attachments hashed and typed, addresses,
dates, hops, auth results). The ratios are printed with -s and stored in
``extra_info``.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import random
import re
import tarfile
from pathlib import Path

import pytest

from pyscore.mime import clear_caches, parse

PER_ARCHIVE = 400
_MBOX_SPLIT = re.compile(rb"\n(?=From )")
_MEDIANS: dict[str, float] = {}


def _read_archive(path: Path, limit: int) -> list[bytes]:
    out: list[bytes] = []
    with tarfile.open(path, "r:xz") as tf:
        for member in tf:
            if not member.isfile() or member.name.endswith(("LICENSE", "README", ".md")):
                continue
            data = tf.extractfile(member).read()
            if data.startswith(b"From ") and b"\nFrom " in data:
                out.extend(m for m in _MBOX_SPLIT.split(data) if m.strip())
            else:
                out.append(data)
            if len(out) >= limit:
                break
    return out[:limit]


def _generated(n: int) -> list[bytes]:
    rng = random.Random(7)
    words = ["account", "verify", "invoice", "meeting", "payment", "please", "review", "attached", "update", "password", "quarterly", "report"]
    out = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(40, 400)))
        head = (f"From: Sender {i} <s{i}@example{i % 50}.com>\nTo: r{i}@corp.example\n"
                f"Subject: {rng.choice(words)} {i}\nDate: Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000\n"
                f"Message-ID: <{i}@example.com>\nReceived: from mx{i % 9}.example.net ([192.0.2.{i % 250}]) "
                f"by mx.corp.example with ESMTPS; Mon, 1 Jan 2024 10:00:00 +0000\n")
        if i % 3 == 0:
            out.append((head + f"Content-Type: text/plain\n\n{text}\nhttps://example{i}.com/x\n").encode())
        else:
            html = f'<html><body><p>{text}</p><a href="https://l{i}.example.org/p?id={i}">Open</a></body></html>'
            out.append((head + 'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
                        f"{text}\n--b\nContent-Type: text/html\n\n{html}\n--b--\n").encode())
    return out


@pytest.fixture(scope="module")
def messages(request) -> list[bytes]:
    try:
        corpora = request.getfixturevalue("corpora_dir")
    except pytest.skip.Exception:
        return _generated(1500)
    out: list[bytes] = []
    for path in sorted(corpora.glob("*.tar.xz")):
        out.extend(_read_archive(path, PER_ARCHIVE))
    random.Random(0).shuffle(out)
    return out


# The mix the engine benchmark rotates through: mailing-list ham and phishing.
ENGINE_MIX = ("linux_mips.tar.xz", "phishing_pot.tar.xz")


@pytest.fixture(scope="module")
def engine_mix(request) -> list[bytes]:
    try:
        corpora = request.getfixturevalue("corpora_dir")
    except pytest.skip.Exception:
        return _generated(800)
    out: list[bytes] = []
    for name in ENGINE_MIX:
        if (corpora / name).exists():
            out.extend(_read_archive(corpora / name, PER_ARCHIVE))
    random.Random(1).shuffle(out)
    return out or _generated(800)


def _rotate(benchmark, messages: list[bytes], fn, name: str) -> None:
    it = iter(range(10**9))

    def setup():
        return (messages[next(it) % len(messages)],), {}

    benchmark.pedantic(fn, setup=setup, rounds=len(messages), iterations=1, warmup_rounds=20)
    median = benchmark.stats.stats.median
    times = sorted(benchmark.stats.stats.data)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    _MEDIANS[name] = median
    benchmark.extra_info["messages"] = len(messages)
    benchmark.extra_info["median_us"] = round(median * 1e6, 1)
    benchmark.extra_info["p99_us"] = round(p99 * 1e6, 1)
    print(f"\n{name}: median {median * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us over {len(messages)} messages")


@pytest.mark.benchmark(group="parse")
def test_stdlib_policy_default(benchmark, messages):
    _rotate(benchmark, messages, lambda raw: email.message_from_bytes(raw, policy=email.policy.default),
            "stdlib_default")


@pytest.mark.benchmark(group="parse")
def test_stdlib_compat32(benchmark, messages):
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    _rotate(benchmark, messages, parser.parsebytes, "stdlib_compat32")


@pytest.mark.benchmark(group="parse")
def test_pyscore_parse(benchmark, messages):
    clear_caches()  # every message seen for the first time, as by a fresh process
    _rotate(benchmark, messages, parse, "pyscore")
    for peer in ("stdlib_default", "stdlib_compat32"):
        if peer in _MEDIANS:
            ratio = _MEDIANS[peer] / _MEDIANS["pyscore"]
            benchmark.extra_info[f"speedup_vs_{peer}"] = round(ratio, 2)
            print(f"pyscore is {ratio:.2f}x the speed of {peer} (median per message)")


@pytest.mark.benchmark(group="parse-engine-mix")
def test_engine_mix_stdlib_policy_default(benchmark, engine_mix):
    _rotate(benchmark, engine_mix, lambda raw: email.message_from_bytes(raw, policy=email.policy.default),
            "mix_stdlib_default")


@pytest.mark.benchmark(group="parse-engine-mix")
def test_engine_mix_pyscore_parse(benchmark, engine_mix):
    clear_caches()  # the mix shares messages with the main set: start cold again
    _rotate(benchmark, engine_mix, parse, "mix_pyscore")
    if "mix_stdlib_default" in _MEDIANS:
        ratio = _MEDIANS["mix_stdlib_default"] / _MEDIANS["mix_pyscore"]
        benchmark.extra_info["speedup_vs_stdlib_default"] = round(ratio, 2)
        print(f"engine mix: pyscore is {ratio:.2f}x the speed of stdlib_default (median per message)")


@pytest.mark.benchmark(group="parse-paired")
def test_paired_ratio(benchmark, messages):
    """Both parsers on the same message back to back (best of 3 each): a ratio that load drift cannot skew."""
    import statistics
    import time

    ours: list[float] = []
    peer: list[float] = []

    def both(raw: bytes) -> None:
        for sink, fn in ((ours, parse), (peer, lambda r: email.message_from_bytes(r, policy=email.policy.default))):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                fn(raw)
                best = min(best, time.perf_counter() - t0)
            sink.append(best)

    it = iter(range(10**9))
    benchmark.pedantic(both, setup=lambda: ((messages[next(it) % len(messages)],), {}),
                       rounds=len(messages), iterations=1)
    ratios = sorted(p / o for o, p in zip(ours, peer, strict=True))
    benchmark.extra_info.update(
        pyscore_median_us=round(statistics.median(ours) * 1e6, 1),
        stdlib_default_median_us=round(statistics.median(peer) * 1e6, 1),
        median_speedup=round(statistics.median(ratios), 2),
    )
    print(f"\npaired over {len(ours)} messages: pyscore median {statistics.median(ours) * 1e6:.0f} us, "
          f"stdlib default {statistics.median(peer) * 1e6:.0f} us, median per-message speedup "
          f"{statistics.median(ratios):.2f}x")
