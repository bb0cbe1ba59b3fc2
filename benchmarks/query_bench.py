"""Query latency per search mode, and embedding speed of the serving model, on an ingested index.

Reads the index `benchmarks/real_eval.py` built for one embedder (a Weaviate server over the same
data folder, the same settings) through the reader `query` and `eval` use: one connection and one
embedder, then every labelled question `--repeat` times per mode, each timed end to end (embedding
the question + the Weaviate search). Prints p50/p95/mean in ms per mode. `--embed N` also times the
embedder on N stored chunk texts (in batches of `embed.batch_size`, at most 64 for the local
backend) and prints chunks/s.

    .venv/bin/python benchmarks/query_bench.py --embedder hashing           # make bench-query
    .venv-ml/bin/python benchmarks/query_bench.py --embedder local --embed 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_eval import MODES, QUESTIONS, REPO, weaviate_for

from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.retrieval.query import build_request
from ragkeeper.core.retrieval.questions import parse_questions
from ragkeeper.retrieval import Reader, serving_reader
from ragkeeper.settings import Settings, settings_for_run


def main() -> None:
    """Time the queries (and the embedder), print the figures, write them as JSON beside the index."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", choices=["hashing", "local"], default="hashing")
    parser.add_argument("--work", type=Path, default=REPO / ".eval-real")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--embed", type=int, default=0, help="also time embedding this many chunk texts")
    args = parser.parse_args()
    questions = [q.question for q in parse_questions(args.questions.read_text(), str(args.questions))]
    figures: dict[str, object] = {
        "embedder": args.embedder,
        "questions": len(questions),
        "repeat": args.repeat,
    }
    with weaviate_for(args.work, args.embedder) as env:
        os.environ.update(env)
        settings = settings_for_run()
        with serving_reader(settings) as reader:
            figures["model"] = reader.model_id
            for mode in MODES:
                latency = _latencies(reader, settings, questions, mode, args.repeat)
                figures[mode] = latency
                print(f"{mode:7} " + " ".join(f"{k} {v}" for k, v in latency.items()))
            if args.embed:
                speed = _embedding_speed(reader, args.embed, args.work)
                figures["embedding"] = speed
                print("embedding " + " ".join(f"{k} {v}" for k, v in speed.items()))
    out = args.work / f"query-bench-{args.embedder}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(f"figures in {out}")


def _latencies(
    reader: Reader, settings: Settings, questions: list[str], mode: str, repeat: int
) -> dict[str, float]:
    """p50/p95/mean of one query in ms, after one untimed warm-up query."""
    search = settings.search
    reader.search(build_request(questions[0], search, mode=mode))
    times = []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            reader.search(build_request(question, search, mode=mode))
            times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return {
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(cuts[94], 1),
        "mean_ms": round(statistics.fmean(times), 1),
    }


def _embedding_speed(reader: Reader, count: int, work: Path) -> dict[str, float]:
    """Chunks/s of the generation's embedder on the first `count` stored chunk texts."""
    store = reader.store
    assert isinstance(store, WeaviateStore)
    collection = store.client.collections.get(reader.collection)
    texts = []
    for obj in collection.iterator(return_properties=["text"]):
        texts.append(str(obj.properties["text"]))
        if len(texts) >= count:
            break
    (Path(__file__).resolve().parent.parent / ".eval-real" / "chunk-sample.json").write_text(
        json.dumps(texts)
    )
    embedder = reader.embedder()
    embedder.embed(texts[:8])  # warm-up
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "mean_chars": round(statistics.fmean(len(t) for t in texts)),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(len(texts) / seconds, 1),
    }


if __name__ == "__main__":
    main()
