"""`make bench-peer`: ragkeeper against unstructured-ingest on a real corpus, in one run.

Both tools index the same folder (benchmarks/real_corpus.py: documentation shipped in Debian
packages) into one Weaviate server, with embeddings from our OpenAI-compatible stand-in
(text-embedding-3-small, 1536 dimensions, the size both can request identically; a fixed added
latency per request), with the same partitioning and chunking (fast strategy, English, by_title
1500 / 1000 / 200, sections end at page breaks). For each tool: a cold run and an unchanged re-run,
wall time end to end, peak PSS summed over the tool's process tree, the chunks it says it
produced against the objects present in Weaviate afterwards, and the embedding requests it made.
Baseline: unstructured partition + chunk alone over the same files, 1 and 2 processes.

The peer runs from its own virtualenv (`make peer-install`, .venv-peer), with 2 worker processes
and its weaviate-local connector, which reaches only localhost:8080 / gRPC 50051. Each tool gets a
Weaviate server of its own there, started fresh (bench_weaviate.py); the server's CPU seconds are
recorded per run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "infra"), str(REPO / "benchmarks")]

import devservices
import real_corpus
from bench_weaviate import WEAVIATE_GRPC_PORT, WEAVIATE_PORT, count_objects, fresh_weaviate, ports_free
from peer_report import Run, print_report
from tests.support.openai_server import OpenAITestServer, start_openai_test_server
from treemem import PeakPss, cpu_seconds

MODEL, DIMENSIONS, API_KEY = "text-embedding-3-small", 1536, "sk-bench"
PEER_COLLECTION, RAGKEEPER_COLLECTION = "PeerBench", "RagkeeperBench"
QUIET = {
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def measure(
    label: str,
    command: list[str],
    env: dict[str, str],
    log: Path,
    cwd: Path,
    *,
    server: devservices.Service | None = None,
) -> Run:
    """Run a command to its end, timing it and sampling its process tree's PSS; output goes to `log`.

    With a `server`, its CPU seconds during the run are recorded too.
    """
    print(f"-- {label}: {' '.join(command[:3])} ... (log: {log})", flush=True)
    server_before = cpu_seconds(server.process.pid) if server else 0.0
    with log.open("wb") as out:
        cpu_before = _children_cpu_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        with PeakPss(process.pid, interval=0.5) as sampler:
            code = process.wait()
        seconds = time.perf_counter() - started
        # Reaped children miss a forkserver's workers, the sampler a process's last 0.5 s: the larger.
        cpu = max(_children_cpu_seconds() - cpu_before, sampler.cpu_seconds)
    run = Run(label, round(seconds, 2), round(cpu, 1), round(sampler.peak_mib, 1), sampler.peak_processes)
    run.peak_pss_by_process = {name: round(kib / 1024, 1) for name, kib in sampler.peak_by_process.items()}
    run.exit_code, run.log = code, str(log)
    if server is not None:
        run.server_cpu_seconds = round(cpu_seconds(server.process.pid) - server_before, 1)
    print(f"   {seconds:.1f} s, {cpu:.0f} s CPU, peak PSS {sampler.peak_mib:.0f} MiB, exit {code}")
    return run


def _children_cpu_seconds() -> float:
    """User + system CPU of every descendant reaped so far (a run's whole tree, once it has ended)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def staged_chunks(work_dir: Path) -> int:
    """Records in the peer's staged upload files (what it handed its Weaviate uploader)."""
    total = 0
    for path in sorted(work_dir.glob("*stag*/**/*")):
        if path.suffix == ".ndjson":
            total += sum(1 for line in path.read_text().splitlines() if line.strip())
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            total += len(data) if isinstance(data, list) else 1
    return total


def peer_command(python: Path, corpus: Path, work_dir: Path, processes: int) -> list[str]:
    """unstructured-ingest: local folder -> partition -> chunk -> embed -> weaviate-local."""
    return [
        str(python.parent / "unstructured-ingest"),
        "local",
        *("--input-path", str(corpus), "--recursive", "--work-dir", str(work_dir)),
        *("--num-processes", str(processes), "--strategy", "fast", "--ocr-languages", "eng"),
        *("--chunking-strategy", "by_title", "--chunk-max-characters", "1500"),
        *("--chunk-new-after-n-chars", "1000", "--chunk-combine-text-under-n-chars", "200"),
        "--no-chunk-multipage-sections",
        *("--embedding-provider", "openai", "--embedding-model-name", MODEL, "--embedding-api-key", API_KEY),
        *("weaviate-local", "--collection", PEER_COLLECTION),
    ]


def ragkeeper_env(base: dict[str, str], api_url: str, work: Path) -> dict[str, str]:
    """Settings for `ragkeeper ingest`: the same Weaviate, stand-in and parse/chunk settings."""
    return {
        **base,
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": f"http://127.0.0.1:{WEAVIATE_PORT}",
        "RAGKEEPER_WEAVIATE__GRPC_PORT": str(WEAVIATE_GRPC_PORT),
        "RAGKEEPER_WEAVIATE__COLLECTION": RAGKEEPER_COLLECTION,
        "RAGKEEPER_EMBED__BACKEND": "openai",
        "RAGKEEPER_EMBED__MODEL": MODEL,
        "RAGKEEPER_EMBED__DIMENSIONS": str(DIMENSIONS),
        "RAGKEEPER_OPENAI__BASE_URL": api_url,
        "RAGKEEPER_OPENAI__API_KEY": API_KEY,
        "RAGKEEPER_PARSE__STRATEGY": "fast",
        "RAGKEEPER_PARSE__CHUNKING": "by_title",
        "RAGKEEPER_PARSE__MAX_CHARACTERS": "1500",
        "RAGKEEPER_PARSE__NEW_AFTER_N_CHARS": "1000",
        "RAGKEEPER_PARSE__COMBINE_UNDER_N_CHARS": "200",
        "RAGKEEPER_PARSE__LANGUAGES": '["eng"]',
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(work / "data_docs"),
        "COLUMNS": "4000",  # rich: one table row per line, so the summary can be read back
    }


def read_summary(log: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The figures and the quarantined objects (uri, reason) of a `ragkeeper ingest` summary."""
    figures: dict[str, str] = {}
    quarantined: list[tuple[str, str]] = []
    in_quarantine = False
    for line in log.read_text(errors="replace").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
        if "quarantined object" in line:
            in_quarantine = True
        elif len(cells) == 2 and cells[0]:
            if in_quarantine:
                quarantined.append((cells[0], cells[1]))
            else:
                figures[cells[0]] = cells[1]
    return figures, quarantined


def run_baselines(corpus: Path, work: Path, env: dict[str, str]) -> list[Run]:
    """Partition + chunk alone (unstructured), 1 and 2 processes, in ragkeeper's virtualenv."""
    runs = []
    for processes in (1, 2):
        command = [sys.executable, str(REPO / "benchmarks" / "partition_baseline.py"), str(corpus)]
        run = measure(
            f"partition+chunk, {processes} process{'es' if processes > 1 else ''}",
            [*command, "--processes", str(processes)],
            env,
            work / f"baseline-{processes}.log",
            work,
        )
        lines = Path(run.log).read_text().strip().splitlines()
        figures = json.loads(lines[-1]) if run.exit_code == 0 and lines else {}
        run.chunks_reported = figures.get("chunks")
        run.details = {"failures": figures.get("failures", {})}
        runs.append(run)
    return runs


def run_peer(
    python: Path,
    corpus: Path,
    work: Path,
    env: dict[str, str],
    *,
    api: OpenAITestServer,
    processes: int,
    server: devservices.Service,
) -> list[Run]:
    """The peer cold, then the same command again (same work dir: an unchanged re-run)."""
    work_dir = work / "peer-work"
    # The CLI has no base-URL option; the openai client reads this variable.
    peer_env = {**env, "OPENAI_BASE_URL": api.base_url}
    runs = []
    for label in ("unstructured-ingest, cold", "unstructured-ingest, re-run unchanged"):
        api.stats.reset()
        log = work / f"peer-{'cold' if label.endswith('cold') else 'rerun'}.log"
        command = peer_command(python, corpus, work_dir, processes)
        run = measure(label, command, peer_env, log, work, server=server)
        run.chunks_reported = staged_chunks(work_dir)
        run.objects_in_weaviate = count_objects(PEER_COLLECTION)
        run.embedding_requests, run.embedding_inputs = api.stats.requests, api.stats.inputs_served
        text = log.read_text(errors="replace")
        run.details = {"error_lines": sum(1 for line in text.splitlines() if " ERROR " in line)}
        runs.append(run)
    return runs


def run_ragkeeper(
    corpus: Path, work: Path, env: dict[str, str], api: OpenAITestServer, server: devservices.Service
) -> list[Run]:
    """`ragkeeper ingest` cold, then unchanged; figures and quarantine read from its summary."""
    rk_env = ragkeeper_env(env, api.base_url, work)
    runs = []
    for label in ("ragkeeper, cold", "ragkeeper, re-run unchanged"):
        api.stats.reset()
        log = work / f"ragkeeper-{'cold' if label.endswith('cold') else 'rerun'}.log"
        command = [str(REPO / ".venv" / "bin" / "ragkeeper"), "ingest", str(corpus)]
        run = measure(label, command, rk_env, log, work, server=server)
        figures, quarantined = read_summary(log)
        run.chunks_reported = int(figures["chunks written"]) if "chunks written" in figures else None
        run.objects_in_weaviate = count_objects(RAGKEEPER_COLLECTION)
        run.embedding_requests, run.embedding_inputs = api.stats.requests, api.stats.inputs_served
        run.details = {"summary": figures, "quarantined": quarantined}
        runs.append(run)
    return runs


def main() -> None:
    """Assemble the corpus, start the services, measure everything, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--peer-python", type=Path, default=REPO / ".venv-peer" / "bin" / "python")
    parser.add_argument("--corpus", type=Path, help="a folder to use instead of the Debian-docs corpus")
    parser.add_argument("--latency-ms", type=float, default=50, help="added latency per embedding request")
    parser.add_argument("--peer-processes", type=int, default=2)
    parser.add_argument(
        "--prefect",
        choices=("server", "temporary"),
        default="server",
        help="ragkeeper's Prefect: a server started for the bench (default), or a temporary one per run",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=("baseline", "peer", "ragkeeper"))
    parser.add_argument("--json", type=Path, default=REPO / ".bench" / "peer-bench.json")
    args = parser.parse_args()
    # Absolute, not resolved: the peer runs in its work folder, and a venv's python is a symlink.
    args.peer_python = args.peer_python.absolute()
    if not ports_free(WEAVIATE_PORT, WEAVIATE_GRPC_PORT):
        sys.exit("error: 127.0.0.1:8080 or :50051 is in use (the peer's weaviate-local needs both)")
    corpus = args.corpus or real_corpus.assemble(real_corpus.corpus_root())
    work = Path(tempfile.mkdtemp(prefix="ragkeeper-peer-bench-"))
    env = {**os.environ, **QUIET, "PREFECT_HOME": str(work / "prefect-home")}
    print(f"corpus: {corpus}\nwork folder (logs): {work}", flush=True)

    prefect = devservices.start_prefect(work / "prefect") if args.prefect == "server" else None
    api = start_openai_test_server(api_keys={API_KEY})
    api.faults.latency_seconds = args.latency_ms / 1000
    if prefect is not None:
        env["PREFECT_API_URL"] = prefect.url
    runs: list[Run] = []
    background: dict[str, float] = {}  # Weaviate's CPU seconds in the minute after a tool's last run
    try:
        if "baseline" not in args.skip:
            runs += run_baselines(corpus, work, env)
        if "peer" not in args.skip:
            with fresh_weaviate(work, "peer", background) as server:
                runs += run_peer(
                    args.peer_python, corpus, work, env, api=api, processes=args.peer_processes, server=server
                )
        if "ragkeeper" not in args.skip:
            with fresh_weaviate(work, "ragkeeper", background) as server:
                runs += run_ragkeeper(corpus, work, env, api, server)
    finally:
        api.stop()
        if prefect is not None:
            prefect.stop()

    files = [p for p in corpus.rglob("*") if p.is_file()]
    setup = {
        "corpus": str(corpus),
        "files": len(files),
        "megabytes": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "latency_ms": args.latency_ms,
        "embedding": f"{MODEL}, {DIMENSIONS} dimensions",
        "peer_processes": args.peer_processes,
        "prefect": args.prefect,
        "weaviate": "a fresh server per tool",
        "weaviate_cpu_seconds_in_the_minute_after": background,
        "cores": os.cpu_count(),
        "load_average_at_end": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    record = {"setup": setup, "runs": [asdict(run) for run in runs]}
    record["ratios"] = print_report(setup, runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(f"figures written to {args.json}; logs in {work}")


if __name__ == "__main__":
    main()
