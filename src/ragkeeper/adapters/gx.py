"""Great Expectations 1.x plumbing shared by the document gate and the style-dataset checker.

Suites are built in code and run over pandas DataFrames in an ephemeral context (no files); each
expectation is tagged with a key so its result maps back to the check that asked for it.
"""

# great_expectations/expectations/__init__.py re-exports its classes without `__all__`, so pyright
# flags the documented `gx.expectations.ExpectColumn...` spelling as a private import.
# pyright: reportPrivateImportUsage=false

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.data_context import AbstractDataContext, EphemeralDataContext
    from great_expectations.datasource.fluent import PandasDatasource
    from great_expectations.expectations.expectation import Expectation

# Great Expectations sends usage statistics unless told not to.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

CHECK_KEY = "ragkeeper_check"  # meta key that ties a GX result back to its check


def ephemeral_context() -> EphemeralDataContext:
    """A Great Expectations context held in memory (no files written), without progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def add_validation(
    context: AbstractDataContext,
    source: PandasDatasource,
    name: str,
    expectations: Mapping[str, Expectation],
) -> ValidationDefinition:
    """A validation of a whole DataFrame by a suite of `expectations`, each tagged with its key.

    `check_key` reads the key back from the expectation's result.
    """
    import great_expectations as gx

    for key, expectation in expectations.items():
        expectation.meta = {**(expectation.meta or {}), CHECK_KEY: key}
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=list(expectations.values())))
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def check_key(item: ExpectationValidationResult) -> str:
    """The key `add_validation` tagged the result's expectation with."""
    config = item.expectation_config
    return str((config.meta or {}).get(CHECK_KEY)) if config is not None else ""


def raised_message(exception_info: dict[str, Any] | None) -> str | None:
    """The exception message of an expectation that could not run (GX nests it per metric), or None."""
    if not exception_info:
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message") or "unknown error").splitlines()[0]
    for value in exception_info.values():
        if isinstance(value, dict):
            nested = raised_message(value)
            if nested is not None:
                return nested
    return None
