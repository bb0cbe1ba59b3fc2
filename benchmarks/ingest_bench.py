"""`make bench`: time cold ingest, an unchanged re-run and a 1%-changed re-run on real services.

Generates a mixed corpus (md, txt, html, docx, pdf) into a MinIO started for the run, indexes it
into a Weaviate server started for the run, with embeddings served by our OpenAI-compatible test
server at a fixed simulated latency, and prints docs/s, stage times, embedding requests and tokens,
and peak memory (RSS high-water mark of this process, which runs the flow and its tasks).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "infra")]
os.environ.update(
    {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    }
)

import devservices
from tests.support.documents import make_docx, make_pdf
from tests.support.openai_server import start_openai_test_server
from tests.support.s3 import minio_client, minio_settings

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
        return f"docs/{n:05d}.pdf", make_pdf([[title, p[:90], p[90:180]] for p in paragraphs[:3]])
    if kind == 1:
        return f"docs/{n:05d}.docx", make_docx(title, paragraphs)
    if kind in (2, 3):
        body = "".join(f"<h2>Part {i}</h2><p>{p}</p>" for i, p in enumerate(paragraphs))
        return f"docs/{n:05d}.html", f"<html><body><h1>{title}</h1>{body}</body></html>".encode()
    if kind in (4, 5):
        return f"docs/{n:05d}.txt", (title + "\n\n" + "\n\n".join(paragraphs)).encode()
    body = "\n\n".join(f"## Part {i}\n\n{p}" for i, p in enumerate(paragraphs))
    return f"docs/{n:05d}.md", f"# {title}\n\n{body}\n".encode()


def upload(s3, bucket: str, documents: list[tuple[str, bytes]]) -> None:
    """Put the documents into the bucket with a few threads."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), documents))


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_overhead_seconds(samples: int = 200) -> float:
    """Seconds Prefect adds per task run (submit, state changes, result), from a no-op task."""
    from prefect import flow, task

    @task
    def nothing(n: int) -> int:
        return n

    @flow
    def many() -> None:
        for future in [nothing.submit(n) for n in range(samples)]:
            future.result()

    many()  # warm up
    started = time.perf_counter()
    many()
    return (time.perf_counter() - started) / samples


def task_runs_of_last_flow_run() -> int:
    """How many task runs the most recent ingest flow run made."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["ingest"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[runs[0].id]))
        total, page = 0, 200
        while True:
            found = len(client.read_task_runs(flow_run_filter=only_this_run, limit=page, offset=total))
            total += found
            if found < page:
                return total


def main() -> None:
    """Run the three measurements and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=2000, help="corpus size (default 2000)")
    parser.add_argument("--latency-ms", type=float, default=50, help="simulated embedding API latency")
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    work = Path(tempfile.mkdtemp(prefix="ragkeeper-bench-"))
    minio = devservices.start_minio(work / "minio")
    weaviate = devservices.start_weaviate(work / "weaviate")
    api = start_openai_test_server(api_keys={"sk-bench"})
    api.faults.latency_seconds = args.latency_ms / 1000
    os.environ.update(
        {
            **minio_settings(minio.url),
            "RAGKEEPER_WEAVIATE__MODE": "local",
            "RAGKEEPER_WEAVIATE__URL": weaviate.url,
            "RAGKEEPER_WEAVIATE__GRPC_PORT": str(weaviate.ports["grpc"]),
            "RAGKEEPER_WEAVIATE__COLLECTION": "Bench",
            "RAGKEEPER_EMBED__BACKEND": "openai",
            "RAGKEEPER_EMBED__DIMENSIONS": "256",
            "RAGKEEPER_OPENAI__BASE_URL": api.base_url,
            "RAGKEEPER_OPENAI__API_KEY": "sk-bench",
            "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(work / "data_docs"),
        }
    )
    from ragkeeper.flows.ingest import ingest

    s3 = minio_client(minio.url)
    s3.create_bucket(Bucket="bench")
    rng = random.Random(7)
    started = time.perf_counter()
    upload(s3, "bench", [make_document(n) for n in range(args.docs)])
    print(f"corpus: {args.docs} documents generated and uploaded in {time.perf_counter() - started:.1f}s")

    rows = []
    task_runs: list[int] = []
    try:
        with prefect_test_harness(server_startup_timeout=120):
            for label in ("cold ingest", "re-run, nothing changed", "re-run, 1% changed"):
                if label.endswith("1% changed"):
                    changed = rng.sample(range(args.docs), max(1, args.docs // 100))
                    upload(s3, "bench", [make_document(n, variant=1) for n in changed])
                api.stats.reset()
                started = time.perf_counter()
                summary = ingest(source="s3://bench/docs/")
                elapsed = time.perf_counter() - started
                rows.append(
                    (label, elapsed, summary, api.stats.requests, api.stats.tokens_served, peak_rss_mib())
                )
                task_runs.append(task_runs_of_last_flow_run())
            per_task = task_overhead_seconds()
    finally:
        api.stop()
        weaviate.stop()
        minio.stop()

    columns = ("run", "wall s", "docs/s", "parsed", "embedded", "reused", "requests", "tokens", "peak MiB")
    print(f"{columns[0]:26}" + "".join(f"{c:>9}" for c in columns[1:]) + "  stages (s)")
    for label, elapsed, s, requests, tokens, rss in rows:
        stages = " ".join(f"{k}={v:.1f}" for k, v in s.stage_seconds.items())
        figures = (
            f"{elapsed:.1f}",
            f"{s.objects_seen / elapsed:.1f}",
            s.objects_parsed,
            s.embeddings_computed,
        )
        figures += (s.embeddings_reused, requests, tokens, f"{rss:.0f}")
        print(f"{label:26}" + "".join(f"{f:>9}" for f in figures) + f"  {stages}")
    quarantined = len(rows[0][2].quarantined)
    print(f"simulated embedding latency {args.latency_ms:g} ms/request; cold-run quarantine: {quarantined}")
    for (label, elapsed, *_), count in zip(rows, task_runs, strict=True):
        overhead = count * per_task
        print(
            f"orchestration, {label}: {count} task runs x {per_task * 1000:.1f} ms = {overhead:.1f} s "
            f"({overhead / elapsed:.1%} of the run)"
        )


if __name__ == "__main__":
    main()
