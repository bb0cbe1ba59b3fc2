"""The evaluation gate: decides whether a new model is good enough to become current.

Figures come from the job's metrics (both backends report them the same way):
- `valid_loss`: the candidate's loss on the dataset's validation file;
- `current_valid_loss`: the current model's loss on the same file (the self-hosted trainer computes
  it; a hosted API cannot, so it is missing there);
- `format_pass_rate` / `current_format_pass_rate`: the share of validation prompts whose generated
  answer passes the dataset's format check.
Each comparison is made only where both figures exist; a candidate worse than the current model by
more than the tolerance is rejected. Without a current model there is nothing to be worse than.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CANDIDATE_LOSS = "valid_loss"
CURRENT_LOSS = "current_valid_loss"
CANDIDATE_FORMAT = "format_pass_rate"
CURRENT_FORMAT = "current_format_pass_rate"
HOSTED_LOSS = "full_valid_loss"  # what the OpenAI API reports over the whole validation file at the end


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Promote or reject, why, and which figures were compared."""

    promote: bool
    reason: str
    compared: tuple[str, ...] = ()


def decide(
    metrics: Mapping[str, float], has_current: bool, max_loss_increase: float, max_format_drop: float
) -> GateDecision:
    """Whether the candidate with these metrics becomes current (pure; see the module docstring)."""
    if not has_current:
        return GateDecision(True, "no current model to compare with")
    compared: list[str] = []
    problems: list[str] = []
    candidate = metrics.get(CANDIDATE_LOSS, metrics.get(HOSTED_LOSS))
    current = metrics.get(CURRENT_LOSS)
    if candidate is not None and current is not None:
        compared.append("validation loss")
        limit = current * (1 + max_loss_increase)
        if candidate > limit:
            problems.append(
                f"validation loss {candidate:.4f} is worse than the current model's {current:.4f} "
                f"(limit {limit:.4f})"
            )
    candidate_format, current_format = metrics.get(CANDIDATE_FORMAT), metrics.get(CURRENT_FORMAT)
    if candidate_format is not None and current_format is not None:
        compared.append("format check")
        if candidate_format < current_format - max_format_drop:
            problems.append(
                f"{candidate_format:.0%} of answers pass the format check, the current model's "
                f"{current_format:.0%}"
            )
    if problems:
        return GateDecision(False, "; ".join(problems), tuple(compared))
    if not compared:
        return GateDecision(
            True, "not compared: the current model was not scored on the same validation file"
        )
    return GateDecision(True, f"not worse than the current model ({', '.join(compared)})", tuple(compared))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens to the model of a job that succeeded."""

    action: str  # promote | reject | superseded | restore
    reason: str
    compared: tuple[str, ...] = ()


def verdict(
    job_fingerprint: str,
    latest_fingerprint: str,
    promoted_before: bool,
    decision: GateDecision,
) -> Verdict:
    """The fate of a finished job's model (pure).

    "Latest" is the dataset's fingerprint as read when the job ends: the model of a job for any other
    version is never made current (a slow job for V1 ending after V2's model became current). A model
    already promoted for this version comes back without a new evaluation (the dataset went back to
    that version). Otherwise the gate's decision stands.
    """
    if job_fingerprint != latest_fingerprint:
        return Verdict(
            "superseded",
            f"the dataset changed (now {latest_fingerprint[:12]}) while the job for {job_fingerprint[:12]} "
            "ran; its model is not made current",
        )
    if promoted_before:
        return Verdict("restore", "the dataset is back at this version, whose model was promoted before")
    return Verdict("promote" if decision.promote else "reject", decision.reason, decision.compared)
