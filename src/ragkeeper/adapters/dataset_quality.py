"""Style-dataset checks as Great Expectations 1.x suites over one row per example.

`core.retrain.style_checks` turns every line of a dataset file into a row of figures (parse errors, message
problems, role counts, tokens, a hash of the example). Two suites judge those rows, one per file:

- `ragkeeper-style-training`: every example check, duplicates within the file, and at least
  `retrain.min_examples` examples;
- `ragkeeper-style-validation`: every example check, duplicates, and no example also in training.

Results are read with `result_format="COMPLETE"`: `unexpected_index_list` gives the failing rows,
and each row carries its line number, so every problem names its file and line. Missing system or
user messages are `warning` expectations: reported, never refusing. Like `adapters/quality.py`, the
suites are built in code on an ephemeral context (no files written).
"""

# pyright: reportPrivateImportUsage=false

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragkeeper.adapters.gx import add_validation, check_key, ephemeral_context, raised_message
from ragkeeper.adapters.tokens import count_tokens
from ragkeeper.core.retrain.style_checks import COLUMNS, Row, example_rows, first_lines_by_hash
from ragkeeper.core.retrain.style_dataset import DatasetFile
from ragkeeper.errors import ConfigError
from ragkeeper.retrain_models import DatasetCheckReport, DatasetProblem

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.expectations.expectation import Expectation

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

FILES = ("training", "validation")
NUMERIC_COLUMNS = ("line", "system_messages", "user_messages", "assistant_messages", "tokens")


@dataclass(frozen=True)
class Context:
    """What explanations may refer to besides the failing row."""

    lines_by_hash: dict[str, list[int]]
    training_lines_by_hash: dict[str, list[int]]
    max_tokens: int
    examples: int
    min_examples: int


@dataclass(frozen=True)
class StyleCheck:
    """One expectation, the files it applies to, and how a failing row reads to a person."""

    name: str
    expectation: Expectation
    explain: Callable[[Row, Context], str]
    files: tuple[str, ...] = FILES


def style_checks() -> list[StyleCheck]:
    """The checks of OpenAI's chat fine-tuning data-preparation guide, plus duplicates and overlap."""
    import great_expectations as gx
    from great_expectations.expectations.metadata_types import FailureSeverity

    e = gx.expectations
    return [
        StyleCheck(
            "valid JSON object",
            e.ExpectColumnValuesToBeNull(column="json_error"),
            lambda r, c: r["json_error"],
        ),
        StyleCheck(
            "messages list",
            e.ExpectColumnValuesToBeNull(column="messages_error"),
            lambda r, c: r["messages_error"],
        ),
        StyleCheck(
            "message format",
            e.ExpectColumnValuesToBeNull(column="message_error"),
            lambda r, c: r["message_error"],
        ),
        StyleCheck(
            "assistant message",
            e.ExpectColumnValuesToBeBetween(column="assistant_messages", min_value=1),
            lambda r, c: "no assistant message: an example needs at least one to learn from",
        ),
        StyleCheck(
            "example length",
            e.ExpectColumnValuesToBeBetween(column="tokens", max_value={"$PARAMETER": "max_tokens"}),
            lambda r, c: (
                f"{int(r['tokens']):,} tokens, above the limit of {c.max_tokens:,} tokens per example"
            ),
        ),
        StyleCheck(
            "no duplicates",
            e.ExpectColumnValuesToBeUnique(column="example_hash"),
            lambda r, c: _same_as("duplicate example: identical to", r, c.lines_by_hash),
        ),
        StyleCheck(
            "training size",
            e.ExpectTableRowCountToBeBetween(min_value={"$PARAMETER": "min_examples"}),
            lambda r, c: (
                f"{c.examples} example{'' if c.examples == 1 else 's'}; at least {c.min_examples} are needed"
            ),
            files=("training",),
        ),
        StyleCheck(
            "no overlap with training",
            e.ExpectColumnValuesToNotBeInSet(
                column="example_hash", value_set={"$PARAMETER": "training_hashes"}
            ),
            lambda r, c: _same_as(
                "also in the training file at", r, c.training_lines_by_hash, same_file=False
            ),
            files=("validation",),
        ),
        StyleCheck(
            "system message",
            e.ExpectColumnValuesToBeBetween(
                column="system_messages", min_value=1, severity=FailureSeverity.WARNING
            ),
            lambda r, c: "no system message",
        ),
        StyleCheck(
            "user message",
            e.ExpectColumnValuesToBeBetween(
                column="user_messages", min_value=1, severity=FailureSeverity.WARNING
            ),
            lambda r, c: "no user message",
        ),
    ]


def _same_as(prefix: str, row: Row, lines_by_hash: dict[str, list[int]], same_file: bool = True) -> str:
    lines = [n for n in lines_by_hash.get(row["example_hash"], []) if not same_file or n != int(row["line"])]
    more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
    return f"{prefix} line {lines[0]}{more}" if lines else prefix.split(":", 1)[0]


class GreatExpectationsDatasetChecker:
    """DatasetChecker on Great Expectations 1.x: an ephemeral context, two suites built in code."""

    def __init__(self, min_examples: int) -> None:
        self._min_examples = min_examples
        self._lock = threading.Lock()
        context = ephemeral_context()
        source = context.data_sources.add_pandas("ragkeeper-style")
        self._validations: dict[str, ValidationDefinition] = {}
        for file in FILES:
            # Fresh expectation objects per suite: a suite takes ownership of the ones added to it.
            checks = {f"style-{number}": check for number, check in enumerate(style_checks())}
            self._checks = checks  # every build has the same keys, names and explanations
            expectations = {key: check.expectation for key, check in checks.items() if file in check.files}
            self._validations[file] = add_validation(context, source, f"ragkeeper-style-{file}", expectations)

    def check(
        self, training: DatasetFile, validation: DatasetFile | None, max_tokens_per_example: int
    ) -> DatasetCheckReport:
        """Run the training suite, and the validation suite when there is a validation file."""
        rows = {"training": example_rows("training", training.lines, count_tokens)}
        if validation is not None:
            rows["validation"] = example_rows("validation", validation.lines, count_tokens)
        lines_by_hash = {file: first_lines_by_hash(file_rows) for file, file_rows in rows.items()}
        parameters = {
            "max_tokens": max_tokens_per_example,
            "min_examples": self._min_examples,
            "training_hashes": sorted(lines_by_hash["training"]),
        }
        problems: list[DatasetProblem] = []
        with self._lock:
            for file, file_rows in rows.items():
                context = Context(
                    lines_by_hash=lines_by_hash[file],
                    training_lines_by_hash=lines_by_hash["training"],
                    max_tokens=max_tokens_per_example,
                    examples=len(file_rows),
                    min_examples=self._min_examples,
                )
                problems += self._run(file, file_rows, parameters, context)
        problems.sort(key=lambda p: (FILES.index(p.file), p.line, p.severity != "error"))
        tokens = [int(r["tokens"]) for r in rows["training"] if r["tokens"] is not None]
        return DatasetCheckReport(
            training_examples=len(rows["training"]),
            validation_examples=len(rows.get("validation", [])),
            training_tokens=sum(min(n, max_tokens_per_example) for n in tokens),
            problems=tuple(problems),
        )

    def _run(
        self, file: str, rows: list[Row], parameters: dict[str, Any], context: Context
    ) -> list[DatasetProblem]:
        import pandas as pd
        from great_expectations.expectations.metadata_types import FailureSeverity

        frame = pd.DataFrame(rows, columns=pd.Index(COLUMNS))
        for column in NUMERIC_COLUMNS:  # all-null columns must still be numeric for range checks
            frame[column] = pd.Series(pd.to_numeric(frame[column]), dtype="float64")
        result = self._validations[file].run(
            batch_parameters={"dataframe": frame}, expectation_parameters=parameters, result_format="COMPLETE"
        )
        problems = []
        for item in result.results:
            check = self._check_of(item)
            if item.success:
                continue
            config = item.expectation_config
            warning = config is not None and config.severity == FailureSeverity.WARNING
            severity = "warning" if warning else "error"
            indexes = item.result.get("unexpected_index_list")
            if indexes is None:  # a table-level expectation: the file as a whole
                problems.append(DatasetProblem(file, 0, check.name, check.explain({}, context), severity))
                continue
            problems += [
                DatasetProblem(
                    file, int(rows[i]["line"]), check.name, check.explain(rows[i], context), severity
                )
                for i in indexes
            ]
        return problems

    def _check_of(self, item: ExpectationValidationResult) -> StyleCheck:
        check = self._checks[check_key(item)]
        message = raised_message(item.exception_info)
        if message is not None:
            raise ConfigError(f"dataset check {check.name!r} could not run: {message}")
        return check
