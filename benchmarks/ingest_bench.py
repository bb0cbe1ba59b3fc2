"""`make bench`: cold ingest, an unchanged re-run and a 1%-changed re-run, as a user runs them.

Generates a mixed corpus (md, txt, html, docx, pdf) into a MinIO started for the run, and runs the
real `ragkeeper ingest --json` command against a Weaviate server and a Prefect server started for the
run, with embeddings from our OpenAI-compatible stand-in at a fixed simulated latency. For every run
it prints wall time, docs/s, CPU seconds, peak memory as PSS summed over the command and every
process it starts (parse workers included; the services are not), chunks planned vs confirmed in
Weaviate, embedding requests and tokens, and the stage figures of the run summary.

It first prints the memory floor (`memory_floor.py`): what the run's imports and idle parse workers
cost before any document is held.

`--docs 2000,20000` repeats the cold run at each size into its own collection, to show that peak
memory does not grow with the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "infra"), str(REPO / "benchmarks")]

import devservices
import memory_floor
from tests.support.documents import make_docx, make_pdf
from tests.support.openai_server import start_openai_test_server
from tests.support.s3 import minio_client, minio_settings
from treemem import PeakPss

WORDS = [
    *("index", "vector", "chunk", "embedding", "weaviate", "prefect", "pipeline", "bucket", "object"),
    *("quality", "gate", "schedule", "incident", "runbook", "latency", "replica", "shard", "token"),
    *("budget", "model", "retrain", "dataset", "freshness", "alias"),
]


def _paragraph(rng: random.Random, words: int = 60) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def make_document(n: int, variant: int = 0) -> tuple[str, bytes]:
    """Document number n of the corpus (key, bytes); a new `variant` changes its title section only."""
    rng = random.Random(n)
    title = f"Document {n} revision {variant}"
    paragraphs = [_paragraph(rng) for _ in range(rng.randint(3, 8))]
    kind = n % 10
    if kind == 0:
        return f"{n:05d}.pdf", make_pdf([[title, p[:90], p[90:180]] for p in paragraphs[:3]])
    if kind == 1:
        return f"{n:05d}.docx", make_docx(title, paragraphs)
    if kind in (2, 3):
        body = "".join(f"<h2>Part {i}</h2><p>{p}</p>" for i, p in enumerate(paragraphs))
        return f"{n:05d}.html", f"<html><body><h1>{title}</h1>{body}</body></html>".encode()
    if kind in (4, 5):
        return f"{n:05d}.txt", (title + "\n\n" + "\n\n".join(paragraphs)).encode()
    body = "\n\n".join(f"## Part {i}\n\n{p}" for i, p in enumerate(paragraphs))
    return f"{n:05d}.md", f"# {title}\n\n{body}\n".encode()


def upload(s3, bucket: str, prefix: str, documents: list[tuple[str, bytes]]) -> None:
    """Put the documents under the prefix with a few threads."""
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(lambda item: s3.put_object(Bucket=bucket, Key=prefix + item[0], Body=item[1]), documents)
        )


def run_ingest(source: str, collection: str, env: dict[str, str]) -> dict[str, object]:
    """One `ragkeeper ingest --json`: its summary, wall and CPU seconds, and the tree's peak PSS."""
    command = [
        str(Path(sys.executable).parent / "ragkeeper"),
        "ingest",
        source,
        "--collection",
        collection,
        "--json",
    ]
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Every 0.5 s, as bench-peer: sampling every process's smaps costs CPU the run would otherwise get.
    with PeakPss(process.pid, interval=0.5) as memory:
        out, err = process.communicate()
    wall = time.perf_counter() - started
    after = os.times()
    if process.returncode != 0:
        raise SystemExit(f"ingest failed ({process.returncode}): {err.strip()[-2000:]}")
    reaped = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    cpu = max(reaped, memory.cpu_seconds)  # see peer_bench.measure: each figure alone undercounts
    return {"summary": json.loads(out), "wall": wall, "cpu": cpu, "pss_mib": memory.peak_mib}


def main() -> None:
    """Run the measurements and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", default="2000", help="corpus sizes, comma-separated (default 2000)")
    parser.add_argument("--latency-ms", type=float, default=50, help="simulated embedding API latency")
    args = parser.parse_args()
    sizes = [int(size) for size in args.docs.split(",")]
    memory_floor.report()

    work = Path(tempfile.mkdtemp(prefix="ragkeeper-bench-"))
    minio = devservices.start_minio(work / "minio")
    weaviate = devservices.start_weaviate(work / "weaviate")
    prefect = devservices.start_prefect(work / "prefect")
    api = start_openai_test_server(api_keys={"sk-bench"})
    api.faults.latency_seconds = args.latency_ms / 1000
    env = {
        **os.environ,
        **minio_settings(minio.url),
        "PREFECT_API_URL": prefect.url,
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": weaviate.url,
        "RAGKEEPER_WEAVIATE__GRPC_PORT": str(weaviate.ports["grpc"]),
        "RAGKEEPER_EMBED__BACKEND": "openai",
        "RAGKEEPER_EMBED__DIMENSIONS": "256",
        "RAGKEEPER_OPENAI__BASE_URL": api.base_url,
        "RAGKEEPER_OPENAI__API_KEY": "sk-bench",
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(work / "data_docs"),
    }
    s3 = minio_client(minio.url)
    s3.create_bucket(Bucket="bench")
    rng = random.Random(7)
    rows: list[tuple[str, int, dict[str, object], int, int]] = []
    try:
        for size in sizes:
            prefix = f"docs{size}/"
            started = time.perf_counter()
            upload(s3, "bench", prefix, [make_document(n) for n in range(size)])
            print(f"corpus: {size} documents generated and uploaded in {time.perf_counter() - started:.1f}s")
            runs = (
                ("cold ingest", "re-run, nothing changed", "re-run, 1% changed")
                if size == sizes[0]
                else ("cold ingest",)
            )
            for label in runs:
                if label.endswith("1% changed"):
                    changed = rng.sample(range(size), max(1, size // 100))
                    upload(s3, "bench", prefix, [make_document(n, variant=1) for n in changed])
                api.stats.reset()
                result = run_ingest(f"s3://bench/{prefix}", f"Bench{size}", env)
                rows.append((label, size, result, api.stats.requests, api.stats.tokens_served))
                print(f"  {label}: {result['wall']:.1f}s", flush=True)
    finally:
        api.stop()
        prefect.stop()
        weaviate.stop()
        minio.stop()
    _print(rows, args.latency_ms)


def _print(rows: list[tuple[str, int, dict[str, object], int, int]], latency_ms: float) -> None:
    columns = (
        "run",
        "docs",
        "wall s",
        "docs/s",
        "CPU s",
        "PSS MiB",
        "chunks",
        "confirmed",
        "embedded",
        "reused",
        "requests",
    )
    print(f"{columns[0]:26}" + "".join(f"{c:>10}" for c in columns[1:]))
    for label, size, result, requests, _ in rows:
        s = result["summary"]
        assert isinstance(s, dict)
        wall = float(result["wall"])  # type: ignore[arg-type]
        figures = (
            size,
            f"{wall:.1f}",
            f"{size / wall:.1f}",
            f"{float(result['cpu']):.0f}",  # type: ignore[arg-type]
            f"{float(result['pss_mib']):.0f}",  # type: ignore[arg-type]
            s["chunks_planned"],
            s["chunks_confirmed"],
            s["embeddings_computed"],
            s["embeddings_reused"],
            requests,
        )
        print(f"{label:26}" + "".join(f"{f!s:>10}" for f in figures))
        stages = " ".join(f"{k}={v:.1f}" for k, v in s["stage_seconds"].items())
        print(f"{'':26}  stages (s): {stages}")
    print(f"simulated embedding latency {latency_ms:g} ms/request")


if __name__ == "__main__":
    main()
