"""Baseline for `make bench-peer`: unstructured partition + chunk alone over a folder, in N processes.

The least any pipeline must spend on these files with the same settings (fast strategy, English,
by_title 1500 / 1000 / 200, sections end at page breaks): no reading from a store, no validation,
no embedding, no writes. Files go to a process pool largest first (so one big PDF does not finish
alone at the end); the workers import unstructured on their first file, which is counted.
Prints one JSON object: processes, files, chunks, failures, seconds.

    python benchmarks/partition_baseline.py FOLDER --processes 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

CHUNKING = {
    "max_characters": 1500,
    "new_after_n_chars": 1000,
    "combine_text_under_n_chars": 200,
    "multipage_sections": False,
}


def partition_and_chunk(path: str) -> tuple[str, int, str | None]:
    """(path, chunks, error) for one file."""
    from unstructured.chunking.title import chunk_by_title
    from unstructured.partition.auto import partition

    try:
        elements = partition(filename=path, strategy="fast", languages=["eng"])
        chunks = chunk_by_title([e for e in elements if (e.text or "").strip()], **CHUNKING)
    except Exception as error:
        return path, 0, f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    return path, len(chunks), None


def main() -> None:
    """Partition and chunk every file of the folder; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    files = sorted((p for p in args.folder.rglob("*") if p.is_file()), key=lambda p: (-p.stat().st_size, p))
    started = time.perf_counter()
    with ProcessPoolExecutor(args.processes) as pool:
        results = list(pool.map(partition_and_chunk, [str(p) for p in files]))
    seconds = time.perf_counter() - started
    failures = {path: error for path, _, error in results if error}
    figures = {
        "processes": args.processes,
        "files": len(files),
        "chunks": sum(chunks for _, chunks, _ in results),
        "failures": failures,
        "seconds": round(seconds, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
