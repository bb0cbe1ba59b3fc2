import pytest

from ragkeeper.core.retrain.format_checks import FormatCheck, pass_rate, passes
from ragkeeper.core.retrain.gate import decide, verdict
from ragkeeper.settings import load_settings

GATE = {"max_loss_increase": 0.05, "max_format_drop": 0.1}


def test_without_a_current_model_the_candidate_is_promoted():
    decision = decide({"valid_loss": 9.0}, has_current=False, **GATE)
    assert decision.promote and decision.compared == ()


def test_a_candidate_worse_than_the_current_model_beyond_the_tolerance_is_rejected():
    within = decide({"valid_loss": 1.04, "current_valid_loss": 1.0}, has_current=True, **GATE)
    beyond = decide({"valid_loss": 1.06, "current_valid_loss": 1.0}, has_current=True, **GATE)
    assert within.promote and within.compared == ("validation loss",)
    assert not beyond.promote
    assert "1.0600" in beyond.reason and "1.0000" in beyond.reason


def test_format_checks_compare_as_shares_of_answers():
    worse = decide({"format_pass_rate": 0.5, "current_format_pass_rate": 0.9}, has_current=True, **GATE)
    assert not worse.promote and worse.compared == ("format check",)
    assert "50%" in worse.reason and "90%" in worse.reason
    ok = decide({"format_pass_rate": 0.85, "current_format_pass_rate": 0.9}, has_current=True, **GATE)
    assert ok.promote


def test_when_the_current_model_was_not_scored_on_the_same_file_nothing_is_compared_and_it_says_so():
    hosted = decide({"full_valid_loss": 0.3, "valid_loss": 0.2}, has_current=True, **GATE)
    assert hosted.promote and hosted.compared == ()
    assert "not compared" in hosted.reason


def test_the_hosted_full_validation_loss_counts_when_no_per_step_loss_is_given():
    decision = decide({"full_valid_loss": 2.0, "current_valid_loss": 1.0}, has_current=True, **GATE)
    assert not decision.promote


def test_a_job_of_an_older_version_never_becomes_current():
    promote = decide({}, has_current=False, **GATE)
    stale = verdict("v1" * 32, "v2" * 32, promoted_before=False, decision=promote)
    assert stale.action == "superseded"
    assert verdict("v1" * 32, "v1" * 32, promoted_before=False, decision=promote).action == "promote"


def test_a_version_promoted_before_comes_back_without_the_gate():
    rejected = decide({"valid_loss": 5.0, "current_valid_loss": 1.0}, has_current=True, **GATE)
    assert verdict("a", "a", promoted_before=True, decision=rejected).action == "restore"
    assert verdict("a", "a", promoted_before=False, decision=rejected).action == "reject"


@pytest.mark.parametrize(
    ("check", "answer", "expected"),
    [
        (FormatCheck("json"), '{"a": 1}', True),
        (FormatCheck("json"), "{a: 1}", False),
        (FormatCheck("json_schema", json_schema={"type": "object", "required": ["a"]}), '{"a": 1}', True),
        (FormatCheck("json_schema", json_schema={"type": "object", "required": ["a"]}), '{"b": 1}', False),
        (FormatCheck("regex", pattern=r"Open .+\."), "Open the vault.", True),
        (FormatCheck("regex", pattern=r"Open .+\."), "I open the vault.", False),  # the whole answer
    ],
)
def test_format_checks(check, answer, expected):
    assert passes(answer, check) is expected


def test_pass_rate_is_a_share_and_none_without_answers():
    assert pass_rate(['{"a": 1}', "no", "[]"], FormatCheck("json")) == pytest.approx(2 / 3)
    assert pass_rate([], FormatCheck("json")) is None


def test_format_check_settings_need_their_argument():
    with pytest.raises(Exception, match="needs pattern"):
        load_settings(
            retrain={
                "datasets": [{"name": "a", "uri": "x", "base_model": "m", "format_check": {"kind": "regex"}}]
            }
        )
