"""The config hash covers what changes what an object becomes in the index, and nothing else."""

import json

import pytest

from ragkeeper.core.sync.config_hash import (
    HASHED_QUALITY_FIELDS,
    HASHED_WHEN_SET_QUALITY_FIELDS,
    RUN_LEVEL_QUALITY_FIELDS,
    pipeline_config_hash,
)
from ragkeeper.pipeline_settings import QualitySettings
from ragkeeper.settings import Settings


def _hash(**quality) -> str:
    return pipeline_config_hash(Settings(quality=QualitySettings(**quality)), "model-a")


def test_run_level_thresholds_and_paths_do_not_change_the_hash(tmp_path):
    rules = json.dumps({"chunk": []})
    first, moved = tmp_path / "a" / "rules.json", tmp_path / "b" / "rules.json"
    for path in (first, moved):
        path.parent.mkdir()
        path.write_text(rules)
    base = _hash(suite_override_file=first)
    assert _hash(suite_override_file=first, max_failure_share=0.9) == base
    assert _hash(suite_override_file=moved) == base  # same rules, another path
    assert (
        _hash(suite_override_file=first, data_docs_dir=tmp_path / "docs", documents_per_validation=7) == base
    )


def test_content_that_changes_what_is_indexed_changes_the_hash(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"chunk": []}))
    base = _hash(suite_override_file=rules)
    assert _hash(suite_override_file=rules, min_printable_share=0.5) != base
    assert _hash(suite_override_file=rules, max_chunk_chars=100) != base
    rules.write_text(json.dumps({"chunk": [{"type": "expect_column_values_to_not_be_null"}]}))
    assert _hash(suite_override_file=rules) != base
    assert pipeline_config_hash(Settings(), "model-b") != pipeline_config_hash(Settings(), "model-a")


def test_every_quality_setting_is_classified_as_hashed_or_run_level():
    """A new quality setting must say whether it changes what an object becomes (then it is hashed)."""
    fields = set(QualitySettings.model_fields)
    hashed = HASHED_QUALITY_FIELDS | HASHED_WHEN_SET_QUALITY_FIELDS
    assert HASHED_QUALITY_FIELDS.isdisjoint(HASHED_WHEN_SET_QUALITY_FIELDS)
    assert hashed.isdisjoint(RUN_LEVEL_QUALITY_FIELDS)
    assert fields == hashed | RUN_LEVEL_QUALITY_FIELDS, fields ^ (hashed | RUN_LEVEL_QUALITY_FIELDS)


def test_chunk_headers_and_boilerplate_patterns_are_hashed_once_set_only():
    def digest(**sections):
        return pipeline_config_hash(Settings(**sections), "m")

    off = digest(embed={"chunk_header": "none"})
    assert digest(embed={"chunk_header": "title"}) != off != digest(embed={"chunk_header": "title_section"})
    assert digest(embed={"chunk_header": "title"}) != digest(embed={"chunk_header": "title_section"})
    patterns = digest(embed={"chunk_header": "none"}, quality={"boilerplate_patterns": ["^Next$"]})
    assert patterns != off
    # Unset, neither appears: an index built before they existed keeps its hash.
    assert off == digest(embed={"chunk_header": "none"}, quality={"boilerplate_min_documents": 9})


@pytest.mark.parametrize("name", ["max_failure_share"])
def test_a_run_level_threshold_is_not_hashed(name):
    assert name in RUN_LEVEL_QUALITY_FIELDS
