"""The ops view of a training run: a loss-curve PNG (matplotlib) and a per-step metrics table."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence


def loss_curve_png(steps: Sequence[Mapping[str, float]], title: str) -> bytes:
    """Train and validation loss against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4), dpi=100)
    for key, label in (("train_loss", "train"), ("valid_loss", "validation")):
        points = [(s["step"], s[key]) for s in steps if key in s]
        if points:
            axes.plot(*zip(*points, strict=True), marker="." if len(points) < 50 else None, label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def metrics_rows(steps: Sequence[Mapping[str, float]]) -> list[dict[str, float | None]]:
    """One row per step: step, train loss, validation loss (None where not measured at that step)."""
    merged: dict[int, dict[str, float | None]] = {}
    for step in steps:
        row = merged.setdefault(
            int(step["step"]), {"step": step["step"], "train_loss": None, "valid_loss": None}
        )
        row.update({k: v for k, v in step.items() if k in ("train_loss", "valid_loss")})
    return [merged[key] for key in sorted(merged)]


def report_markdown(png: bytes, metrics: Mapping[str, float], where: str) -> str:
    """Markdown with the loss curve inline and the final figures."""
    lines = [
        f"![loss curve](data:image/png;base64,{base64.b64encode(png).decode()})",
        "",
        f"Artifacts: `{where}`",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {key} | {value:.6g} |" for key, value in sorted(metrics.items())),
    ]
    return "\n".join(lines) + "\n"
