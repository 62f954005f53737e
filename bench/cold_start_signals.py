"""Cold start of the signals: the first call in a fresh process, with and without the Numba cache.

Each measurement runs in a new Python process: import pyscore.signals, then
compute_features on one message (first call: tables built, kernels loaded or
compiled), then a second call. "No cache" points NUMBA_CACHE_DIR at an empty
temporary folder, so every kernel compiles; "cache" uses the warm on-disk
cache (populated by a first run). Prints wall and CPU seconds.

Run: .venv-dev/bin/python bench/cold_start_signals.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time
t0, c0 = time.perf_counter(), time.process_time()
from pyscore.batch import MessageBatch
from pyscore.signals import compute_features
from pyscore.signals.sample import random_messages
t1, c1 = time.perf_counter(), time.process_time()
batch = MessageBatch.from_messages(random_messages(1, seed=5))
t2, c2 = time.perf_counter(), time.process_time()
compute_features(batch)
t3, c3 = time.perf_counter(), time.process_time()
compute_features(MessageBatch.from_messages(random_messages(1, seed=6)))
t4, c4 = time.perf_counter(), time.process_time()
print(json.dumps({"import": [t1 - t0, c1 - c0], "first_call": [t3 - t2, c3 - c2], "second_call": [t4 - t3, c4 - c3]}))
"""


def measure(env: dict[str, str]) -> dict[str, list[float]]:
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    base = dict(os.environ)
    base.pop("NUMBA_CACHE_DIR", None)
    measure(base)  # make sure the on-disk cache is populated
    with tempfile.TemporaryDirectory() as empty:
        rows = {"no cache (every kernel compiles)": measure({**base, "NUMBA_CACHE_DIR": empty}),
                "warm cache": measure(base)}
    print(f"{'':34s} {'import':>16s} {'first call':>16s} {'second call':>16s}   (wall s / cpu s)")
    for label, r in rows.items():
        cells = "".join(f" {r[k][0]:7.2f} /{r[k][1]:7.2f}" for k in ("import", "first_call", "second_call"))
        print(f"{label:34s}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
