"""This package contains labeled datasets built from the real corpora, with BEC injected into Enron.

``pyscore dataset build --corpora DIR --out OUT`` (``build.build_dataset``)
writes a dataset directory that later stages read through this contract:

``OUT/index.parquet``, one row per message:

================== ========= ==========================================================
column             type      meaning
================== ========= ==========================================================
message_id         str       unique in the index: the header Message-ID where present
                             and first seen, else ``<source.hash@dataset.pyscore>``
header_message_id  str       the Message-ID header as parsed ("" when absent)
source             str       enron, linux_mips, spamassassin, phishing_pot, nazario,
                             enron_injected
ref                str       how to re-read the raw bytes: ``archive::member[::#N]``
                             (``ref_base`` corpora, relative to the corpora folder
                             recorded in the manifest) or a path inside OUT
                             (``ref_base`` dataset: the injected .eml files)
ref_base           str       corpora | dataset
folder             str       the archive folder (Enron mailbox, SpamAssassin folder)
label              str       safe | spam | malicious
category           str       safe | spam | credential_phishing | bec | malware |
                             callback_scam | graymail (best knowledge, per source)
category_basis     str       source (the catalogue's per-source category), content (a
                             content rule in ``catalogue.refine_category`` moved a
                             malicious message to malware or callback_scam), injected
technique          str       injected attack technique, "" otherwise
tenant             str       enron, linux-mips-list, spamassassin, phishing-pot, nazario
era                str       years of the source, for per-source-pair reporting
timestamp          float64   epoch seconds (nearest Received hop, else Date); NaN unknown
split              str       train | test
campaign           str       near-duplicate group id (copies, near copies, same subject
                             from the same sender domain); never on both sides
body_hash          str       hash of the normalised body ("" when there is none)
dup_message_id     bool      a later copy of an earlier row's Message-ID
dup_body           bool      a later copy of an earlier row's body hash
is_duplicate       bool      either of the two: drop these rows to train on unique mail
sender_email       str       From address as parsed
subject            str       decoded subject
defects            int32     number of parser defects
exploits           str       message_id of the real Enron message an injected attack
                             exploits ("" otherwise)
exploits_timestamp float64   its timestamp (the attack is always later)
================== ========= ==========================================================

``OUT/manifest.json`` records the corpora folder, the seed, the split plan (method,
test fraction, per-source cutoffs), the catalogue, every corpus problem met
(empty, unreadable, not-a-message entries, broken mbox separators) and the counts.

``OUT/injected/<technique>/NNNNN.eml`` holds the injected attacks.

:func:`iter_raw` streams ``(row, raw bytes)`` pairs, reading each archive once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from pyscore.datasets.build import INDEX_FILE, MANIFEST_FILE, BuildResult, build_dataset

__all__ = [
    "BuildResult",
    "build_dataset",
    "index_schema",
    "iter_raw",
    "load_index",
    "load_manifest",
]


def index_schema():
    """The Arrow schema of ``index.parquet``."""
    import pyarrow as pa

    s, f, b = pa.string(), pa.float64(), pa.bool_()
    return pa.schema(
        [
            ("message_id", s),
            ("header_message_id", s),
            ("source", s),
            ("ref", s),
            ("ref_base", s),
            ("folder", s),
            ("label", s),
            ("category", s),
            ("category_basis", s),
            ("technique", s),
            ("tenant", s),
            ("era", s),
            ("timestamp", f),
            ("split", s),
            ("campaign", s),
            ("body_hash", s),
            ("dup_message_id", b),
            ("dup_body", b),
            ("is_duplicate", b),
            ("sender_email", s),
            ("subject", s),
            ("defects", pa.int32()),
            ("exploits", s),
            ("exploits_timestamp", f),
        ]
    )


def load_manifest(dataset_dir: str | os.PathLike) -> dict:
    path = Path(dataset_dir) / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{dataset_dir} is not a pyscore dataset (no {MANIFEST_FILE})")
    return json.loads(path.read_text())


def load_index(dataset_dir: str | os.PathLike, split: str | None = None):
    """The index as a pyarrow Table, optionally only one split."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = Path(dataset_dir) / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{dataset_dir} is not a pyscore dataset (no {INDEX_FILE})")
    table = pq.read_table(path)
    if split is not None:
        if split not in set(table.column("split").to_pylist()):
            raise ValueError(f"no rows in split {split!r}")
        table = table.filter(pc.equal(table.column("split"), split))
    return table


def iter_raw(
    dataset_dir: str | os.PathLike,
    split: str | None = None,
    *,
    corpora_dir: str | os.PathLike | None = None,
) -> Iterator[tuple[dict, bytes]]:
    """Stream ``(row, raw bytes)`` for every row (of one split), archive by archive.

    Rows come in archive order (each archive is decompressed once), then the
    injected messages. ``corpora_dir`` overrides the folder recorded at build
    time. Raises FileNotFoundError when an archive or a referenced message is
    missing: no row is dropped silently.
    """
    from pyscore.corpus import SEP, CorpusProblem, iter_entries

    dataset_dir = Path(dataset_dir)
    manifest = load_manifest(dataset_dir)
    corpora = Path(corpora_dir) if corpora_dir is not None else Path(manifest["corpora_dir"])
    rows = load_index(dataset_dir, split).to_pylist()
    by_archive: dict[str, dict[str, dict]] = {}
    for row in rows:
        if row["ref_base"] == "corpora":
            by_archive.setdefault(row["ref"].split(SEP, 1)[0], {})[row["ref"]] = row
    for archive, wanted in sorted(by_archive.items()):
        path = corpora / archive
        if not path.is_file():
            raise FileNotFoundError(f"archive {archive} not found in {corpora}")
        prefix = str(path)
        entries = iter_entries(path)
        try:
            for entry in entries:
                if isinstance(entry, CorpusProblem):
                    continue  # problems were recorded in the manifest at build time
                row = wanted.pop(archive + entry.source_id[len(prefix) :], None)
                if row is not None:
                    yield row, entry.data
                if not wanted:
                    break
        finally:
            entries.close()
        if wanted:
            raise FileNotFoundError(
                f"{len(wanted)} indexed messages not found in {path}, e.g. {next(iter(wanted))}"
            )
    for row in rows:
        if row["ref_base"] == "dataset":
            yield row, (dataset_dir / row["ref"]).read_bytes()
