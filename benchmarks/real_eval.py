"""Retrieval quality on the real Debian-docs corpus: `ragkeeper eval` per embedder and search mode.

For each embedder (`hashing` from .venv, `local` all-MiniLM-L6-v2 from .venv-ml) this starts a
Weaviate server over that embedder's data folder under the work folder and ingests the corpus that
`benchmarks/real_corpus.py` assembles (a second run only re-lists it: the sync is incremental), then
runs the real `ragkeeper eval --json` on the labelled questions for vector, BM25 and hybrid, and
hybrid again for each `--alpha` / fusion variant asked for. One Prefect server serves every command
(servers rather than Weaviate Embedded and temporary Prefect servers, whose fixed start-up waits of
10 and 20 s a busy machine overruns). Prints one markdown table (recall@k, MRR, nDCG@10) and
writes every figure, misses included, to <work>/real-eval-<embedders>.json.

    python benchmarks/real_eval.py                                  # make eval-real
    python benchmarks/real_eval.py --embedder hashing --alpha 0.3 --alpha 0.7 --fusion ranked
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "infra")]

import devservices

CORPUS = Path.home() / ".cache" / "ragkeeper" / "corpus" / "debian-docs-1"
QUESTIONS = REPO / "benchmarks" / "questions" / "debian-docs-1.jsonl"
VENVS = {"hashing": REPO / ".venv", "local": REPO / ".venv-ml"}
MODES = ("hybrid", "vector", "bm25")


def main() -> None:
    """Ingest per embedder, evaluate per mode (and hybrid variant), print the table."""
    args = _arguments()
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus}: run `python benchmarks/real_corpus.py` first")
    rows: list[dict[str, Any]] = []
    runs: dict[str, Any] = {}
    args.work.mkdir(parents=True, exist_ok=True)
    prefect = devservices.start_prefect(args.work / "prefect")
    try:
        for embedder in args.embedder:
            with weaviate_for(args.work, embedder) as env:
                env["PREFECT_API_URL"] = prefect.url
                _evaluate(args, embedder, env, rows, runs)
    finally:
        prefect.stop()
    (args.work / f"real-eval-{'-'.join(args.embedder)}.json").write_text(
        json.dumps({"rows": rows, "runs": runs}, indent=2)
    )
    print(_table(rows))


def _evaluate(
    args: argparse.Namespace,
    embedder: str,
    env: dict[str, str],
    rows: list[dict[str, Any]],
    runs: dict[str, Any],
) -> None:
    """Ingest (unless skipped), then score the three modes and every hybrid variant."""
    if not args.skip_ingest:
        ingested, seconds = _ingest(embedder, args.corpus, env)
        runs[embedder] = {"ingest_seconds": round(seconds, 1), "summary": ingested}
        print(f"{embedder}: ingest {seconds:.0f} s, {ingested.get('chunks_planned')} chunks", file=sys.stderr)
    variants: list[tuple[str, dict[str, str]]] = [("", {})]
    variants += [
        (f"a={alpha} {fusion}", {"RAGKEEPER_SEARCH__ALPHA": str(alpha), "RAGKEEPER_SEARCH__FUSION": fusion})
        for alpha in args.alpha
        for fusion in args.fusion
    ]
    for label, extra in variants:
        report = _eval(embedder, args.questions, {**env, **extra}, MODES if not label else ("hybrid",))
        runs[f"{embedder} {label}".strip()] = report
        for score in report["scores"]:
            rows.append({**score, "embedder": embedder, "mode": f"{score['mode']} {label}".strip()})


@contextlib.contextmanager
def weaviate_for(work: Path, embedder: str) -> Iterator[dict[str, str]]:
    """A Weaviate server over the embedder's data folder, and the settings environment that reaches it."""
    server = devservices.start_weaviate(work / embedder / "weaviate-server")
    try:
        yield _environment(work / embedder, embedder, server)
    finally:
        server.stop()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--work", type=Path, default=REPO / ".eval-real")
    parser.add_argument("--embedder", action="append", choices=sorted(VENVS), help="default: both")
    parser.add_argument("--skip-ingest", action="store_true", help="evaluate the indexes as they are")
    parser.add_argument("--alpha", action="append", type=float, default=[], help="extra hybrid alphas")
    parser.add_argument(
        "--fusion", action="append", choices=["relative_score", "ranked"], help="with --alpha"
    )
    args = parser.parse_args()
    args.embedder = args.embedder or ["hashing", "local"]
    args.fusion = args.fusion or ["relative_score"]
    return args


def _environment(work: Path, embedder: str, weaviate: devservices.Service) -> dict[str, str]:
    """The commands' settings: the Weaviate server, the embedder, telemetry off."""
    return {
        **os.environ,
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": weaviate.url,
        "RAGKEEPER_WEAVIATE__GRPC_PORT": str(weaviate.ports["grpc"]),
        "RAGKEEPER_WEAVIATE__COLLECTION": "DebianDocs",
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(work / "gx"),
        "RAGKEEPER_EMBED__BACKEND": embedder,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
    }


def _ragkeeper(embedder: str, *args: str, env: dict[str, str]) -> str:
    command = [str(VENVS[embedder] / "bin" / "ragkeeper"), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def _ingest(embedder: str, corpus: Path, env: dict[str, str]) -> tuple[dict[str, object], float]:
    started = time.monotonic()
    out = _ragkeeper(embedder, "ingest", str(corpus), "--json", env=env)
    return json.loads(out), time.monotonic() - started


def _eval(embedder: str, questions: Path, env: dict[str, str], modes: tuple[str, ...]) -> dict[str, Any]:
    flags = [f for m in modes for f in ("--mode", m)]
    return json.loads(_ragkeeper(embedder, "eval", "--json", "--questions", str(questions), *flags, env=env))


def _table(rows: list[dict[str, object]]) -> str:
    recall = next((key for key in rows[0] if key.startswith("recall@")), "recall@5") if rows else "recall@5"
    lines = [
        f"| embedder | mode | questions | {recall} | MRR | nDCG@10 |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['embedder']} | {r['mode']} | {r['questions']} | {r[recall]:.3f} | {r['mrr']:.3f} | "
        f"{r['ndcg@10']:.3f} |"
        for r in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
