"""The figures of `make bench-peer`: one measured run each, the table and the ratios printed at the end."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Run:
    """One measured command."""

    label: str
    seconds: float
    cpu_seconds: float  # user + system of the whole process tree: less affected by a busy machine
    peak_pss_mib: float
    peak_processes: int
    peak_pss_by_process: dict[str, float] = field(default_factory=dict)  # MiB at the peak, per process
    exit_code: int = 0
    log: str = ""
    chunks_reported: int | None = None
    objects_in_weaviate: int | None = None
    embedding_requests: int = 0
    embedding_inputs: int = 0
    server_cpu_seconds: float | None = None  # the Weaviate server's, during the run
    details: dict[str, object] = field(default_factory=dict)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def ratio(numerator: Run | None, denominator: Run | None, what: str = "seconds") -> float | None:
    """The ratio numerator / denominator of one figure, None when either run is missing or zero."""
    if numerator is None or denominator is None:
        return None
    top, bottom = getattr(numerator, what), getattr(denominator, what)
    return round(top / bottom, 2) if bottom else None


def ratios(runs: list[Run]) -> dict[str, float | None]:
    """Ratios: peer / ragkeeper for time and memory, and ragkeeper cold / the 2-process partition+chunk."""
    by_label = {run.label: run for run in runs}
    peer_cold, peer_rerun = (
        by_label.get("unstructured-ingest, cold"),
        by_label.get("unstructured-ingest, re-run unchanged"),
    )
    rk_cold, rk_rerun = by_label.get("ragkeeper, cold"), by_label.get("ragkeeper, re-run unchanged")
    baseline = by_label.get("partition+chunk, 2 processes")
    return {
        "peer/ragkeeper cold time": ratio(peer_cold, rk_cold),
        "peer/ragkeeper re-run time": ratio(peer_rerun, rk_rerun),
        "peer/ragkeeper cold CPU": ratio(peer_cold, rk_cold, "cpu_seconds"),
        "peer/ragkeeper cold peak PSS": ratio(peer_cold, rk_cold, "peak_pss_mib"),
        "ragkeeper cold / partition+chunk 2 processes": ratio(rk_cold, baseline),
        "ragkeeper cold CPU / partition+chunk 2 processes CPU": ratio(rk_cold, baseline, "cpu_seconds"),
    }


def print_report(setup: dict[str, object], runs: list[Run]) -> dict[str, float | None]:
    """Print the table, the ratios and ragkeeper's quarantined objects; return the ratios."""
    print(
        f"\n{setup['files']} files, {setup['megabytes']} MB; embeddings {setup['embedding']}, "
        f"{setup['latency_ms']} ms added per request; {setup['cores']} cores, "
        f"load average at the end {setup['load_average_at_end']}"
    )
    header = ("run", "wall s", "CPU s", "peak PSS MiB", "procs", "exit", "chunks said", "in Weaviate")
    print(f"{header[0]:40}" + "".join(f"{h:>13}" for h in (*header[1:], "embed reqs", "Weaviate CPU")))
    for run in runs:
        cells = (run.seconds, run.cpu_seconds, run.peak_pss_mib, run.peak_processes, run.exit_code)
        cells += (run.chunks_reported,)
        cells += (run.objects_in_weaviate, run.embedding_requests or None, run.server_cpu_seconds)
        print(f"{run.label:40}" + "".join(f"{_cell(c):>13}" for c in cells))
    figures = ratios(runs)
    print(
        f"Weaviate: {setup['weaviate']}; its CPU s in the minute after each tool's last run: "
        f"{setup['weaviate_cpu_seconds_in_the_minute_after']}"
    )
    print()
    for name, value in figures.items():
        print(f"{name:54} {_cell(value)}")
    for run in runs:
        summary = run.details.get("summary")
        if isinstance(summary, dict):
            stages = [f"{k.split()[0]} {v}" for k, v in summary.items() if k.endswith(" seconds")]
            print(f"{run.label}: stage seconds {', '.join(stages)}")
    for run in runs:
        quarantined = run.details.get("quarantined")
        if isinstance(quarantined, list) and quarantined:
            print(f"\n{run.label}: {len(quarantined)} quarantined")
            for uri, reason in quarantined:
                print(f"  {uri}\n      {reason}")
    return figures
