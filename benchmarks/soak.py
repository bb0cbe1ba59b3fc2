"""`make soak`: SIGKILL a real ingest at random moments, repair, and count the exact convergences.

A Weaviate and a Prefect server are started for the soak. The corpus (generated documents by default,
or `--corpus FOLDER`, e.g. the Debian documentation that benchmarks/real_corpus.py assembles) is
ingested once without a fault into a reference collection. Then each of `--kills` collections gets a
`ragkeeper ingest` of the same folder in a process of its own, SIGKILLed (with its parse workers) at a
random moment of the ingest; a repairing ingest follows (it waits for the killed run's write lease to
expire), and the collection is compared with the reference (tests/support/index.py assert_same_index:
chunk ids, vectors and their owners, state records). Prints "N of K converged exactly".
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "infra")]

import devservices
from tests.support import fault_runs
from tests.support.corpus import mixed
from tests.support.index import assert_same_index, snapshot

FAST_LEASE_SWEEP = {"PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1"}


def _settings(weaviate: devservices.Service, collection: str, data_docs: Path) -> dict[str, str]:
    return {
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": weaviate.url,
        "RAGKEEPER_WEAVIATE__GRPC_PORT": str(weaviate.ports["grpc"]),
        "RAGKEEPER_WEAVIATE__COLLECTION": collection,
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(data_docs),
        "RAGKEEPER_SYNC__LEASE_SECONDS": "60",
        "RAGKEEPER_SYNC__MAX_WAIT_SECONDS": "180",
    }


def _generated(folder: Path, count: int) -> Path:
    for key, body in mixed(count).items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return folder


def main() -> int:
    """Run the soak; exit 0 only when every killed collection converged exactly."""
    parser = argparse.ArgumentParser(
        description="SIGKILL an ingest at random moments, repair, count exact convergences"
    )
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--docs", type=int, default=300, help="generated documents (without --corpus)")
    parser.add_argument("--corpus", type=Path, help="a folder of real documents to ingest instead")
    parser.add_argument("--parallel", type=int, default=2, help="killed runs side by side")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="ragkeeper-soak-"))
    corpus = args.corpus.resolve() if args.corpus else _generated(work / "corpus", args.docs)
    documents = sum(1 for p in corpus.rglob("*") if p.is_file())
    print(f"soak: {documents} documents in {corpus}, {args.kills} kills, seed {seed}, work in {work}")
    weaviate = devservices.start_weaviate(work / "weaviate")
    prefect = devservices.start_prefect(work / "prefect", extra_env=FAST_LEASE_SWEEP)
    try:
        return _soak(args, rng, corpus, weaviate=weaviate, prefect=prefect, work=work)
    finally:
        prefect.stop()
        weaviate.stop()


def _soak(
    args: argparse.Namespace,
    rng: random.Random,
    corpus: Path,
    *,
    weaviate: devservices.Service,
    prefect: devservices.Service,
    work: Path,
) -> int:
    def in_process(collection: str) -> fault_runs.RunOutcome:
        env = _settings(weaviate, collection, work / "data_docs")
        return fault_runs.run_in_process("ingest", str(corpus), env=env, prefect_api=prefect.url)

    def index(collection: str):
        import weaviate as weaviate_client

        client = weaviate_client.connect_to_local(
            host="127.0.0.1", port=weaviate.ports["http"], grpc_port=weaviate.ports["grpc"]
        )
        try:
            return snapshot(client, collection)
        finally:
            client.close()

    # A first ingest warms this process (parse pool, models); the measured one sets the kill window.
    reference = fault_runs.spawn(
        "ingest",
        str(corpus),
        env={"PREFECT_API_URL": prefect.url, **_settings(weaviate, "SoakRef", work / "data_docs")},
        logs=work / "runs",
    ).wait(3600)
    reference.assert_completed()
    window = reference.seconds
    print(f"reference ingest (own process): {window:.1f} s, {len(index('SoakRef').chunks)} chunks")
    expected = index("SoakRef")

    def killed_run(n: int) -> tuple[int, float, bool]:
        delay = rng.uniform(0.05, 0.8) * window  # side by side, runs take longer than alone
        run = fault_runs.spawn(
            "ingest",
            str(corpus),
            env={"PREFECT_API_URL": prefect.url, **_settings(weaviate, f"Soak{n}", work / "data_docs")},
            logs=work / "runs",
        )
        time.sleep(delay)
        was_running = run.running()
        run.kill()
        return n, delay, was_running

    with ThreadPoolExecutor(args.parallel) as pool:
        kills = list(pool.map(killed_run, range(1, args.kills + 1)))
    converged = 0
    mid_run = sum(1 for _, _, was_running in kills if was_running)
    for n, delay, was_running in kills:
        repair = in_process(f"Soak{n}")
        try:
            repair.assert_completed()
            assert_same_index(index(f"Soak{n}"), expected)
            verdict = "converged exactly"
            converged += 1
        except AssertionError as error:
            verdict = f"DIFFERS: {str(error).splitlines()[0][:300]}"
        state = "killed" if was_running else "had already finished when killed"
        print(f"kill {n}: at {delay:.1f} s ({state}); repair {repair.seconds:.1f} s; {verdict}")
    print(f"{converged} of {args.kills} converged exactly ({mid_run} of them killed mid-run)")
    return 0 if converged == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
