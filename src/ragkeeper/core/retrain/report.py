"""Turning retrain outcomes into rows and markdown, for the CLI and the Prefect artifacts."""

from __future__ import annotations

from collections.abc import Sequence

from ragkeeper.retrain_models import DatasetProblem, RetrainOutcome

STATUS_WORDS = {
    "unchanged": "unchanged",
    "invalid": "invalid",
    "over_budget": "over budget",
    "would_start": "valid; would start a job (dry run)",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "running": "still running",
    "not_retried": "not retried",
    "error": "error",
    "rejected": "rejected by the evaluation gate",
    "superseded": "succeeded, superseded by a newer version",
    "held_back": "held back (rejected or rolled back before)",
    "busy": "skipped: another run holds the dataset",
}
MAX_PROBLEMS_SHOWN = 200


def outcome_words(outcome: RetrainOutcome) -> str:
    """`job started -> succeeded`, `attached -> still running`, `invalid`, ..."""
    words = STATUS_WORDS.get(outcome.status, outcome.status)
    return f"job {outcome.job_action} -> {words}" if outcome.job_action else words


def outcome_row(outcome: RetrainOutcome) -> dict[str, str]:
    """One table row per dataset (all strings, stable columns)."""
    estimate = outcome.estimate
    return {
        "dataset": outcome.dataset,
        "outcome": outcome_words(outcome),
        "job": outcome.job_id or "",
        "model": outcome.model_id or "",
        "current model": outcome.current_model or "",
        "billed tokens (est.)": f"{estimate.billed_tokens:,}" if estimate else "",
        "cost USD (est.)": f"{estimate.cost_usd:.2f}" if estimate else "",
        "fingerprint": outcome.fingerprint[:12],
        "detail": outcome.detail,
    }


def problems_markdown(dataset: str, problems: Sequence[DatasetProblem]) -> str:
    """A markdown report of a dataset's problems: errors first, then warnings, each with its line."""
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    lines = [
        f"# Dataset `{dataset}`",
        "",
        f"{len(errors)} error(s), {len(warnings)} warning(s)."
        + (" The dataset was refused; no job was created." if errors else ""),
        "",
    ]
    for title, group in (("Errors", errors), ("Warnings", warnings)):
        if not group:
            continue
        lines += [f"## {title}", "", "| file | line | check | problem |", "|---|---|---|---|"]
        for problem in group[:MAX_PROBLEMS_SHOWN]:
            where = str(problem.line) if problem.line else "(file)"
            message = problem.message.replace("|", "/")
            lines.append(f"| {problem.file} | {where} | {problem.check} | {message} |")
        if len(group) > MAX_PROBLEMS_SHOWN:
            lines.append(f"| | | | ... and {len(group) - MAX_PROBLEMS_SHOWN} more |")
        lines.append("")
    return "\n".join(lines)
