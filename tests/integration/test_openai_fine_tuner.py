"""The OpenAI fine-tuning adapter, driving the real `openai` client against our stand-in."""

import pytest
from pydantic import AnyHttpUrl, SecretStr

from ragkeeper import factory
from ragkeeper.adapters.finetuning.openai_jobs import OpenAIFineTuner
from ragkeeper.core.retrain.jobs import job_metadata
from ragkeeper.errors import ConfigError, TerminalError, TransientError
from ragkeeper.retrain_models import JobSpec
from ragkeeper.settings import OpenAISettings, load_settings
from tests.conftest import OPENAI_TEST_KEY
from tests.support.openai_finetuning import JobTiming, ManualClock
from tests.support.style_datasets import BASE_MODEL, example, jsonl, valid_dataset

pytestmark = pytest.mark.integration

KEY = OPENAI_TEST_KEY


@pytest.fixture
def clock(server) -> ManualClock:
    server.reset()
    return server.finetune.use_manual_clock(JobTiming(validating=1, queued=1, running=2, steps=2))


def tuner(server, key: str = KEY, retries: int = 2) -> OpenAIFineTuner:
    return OpenAIFineTuner(
        OpenAISettings(
            base_url=AnyHttpUrl(server.base_url),
            api_key=SecretStr(key),
            max_retries=retries,
            timeout_seconds=10,
        )
    )


def spec(fingerprint: str = "a" * 64, **changes) -> JobSpec:
    return JobSpec(**{"dataset": "tone", "fingerprint": fingerprint, "base_model": BASE_MODEL, **changes})


def test_uploads_are_found_again_by_name_and_size(server, clock):
    adapter = tuner(server)
    data = valid_dataset(12)
    file_id = adapter.upload("tone-aaaa-training.jsonl", data)
    assert adapter.find_file("tone-aaaa-training.jsonl", len(data)) == file_id
    assert adapter.find_file("tone-aaaa-training.jsonl", len(data) + 1) is None
    assert adapter.find_file("tone-bbbb-training.jsonl", len(data)) is None


def test_jobs_carry_their_version_and_are_found_by_it(server, clock):
    adapter = tuner(server)
    training = adapter.upload("t.jsonl", valid_dataset(12))
    validation = adapter.upload("v.jsonl", jsonl([example(50)]))
    first = adapter.create_job(
        spec(n_epochs=2, learning_rate_multiplier=0.5, suffix="tone"), training, validation
    )
    second = adapter.create_job(spec(), training, None)
    adapter.create_job(spec("b" * 64), training, None)

    found = adapter.find_jobs(job_metadata("tone", "a" * 64))
    assert {job.id for job in found} == {first.id, second.id}
    assert found == sorted(found, key=lambda job: (job.created_at, job.id))  # the same order for every run
    assert found[0].metadata == {"ragkeeper_dataset": "tone", "ragkeeper_fingerprint": "a" * 64}
    sent = server.finetune.jobs[first.id]
    assert sent.hyperparameters == {"n_epochs": 2, "batch_size": "auto", "learning_rate_multiplier": 0.5}
    assert (sent.suffix, sent.validation_file) == ("tone", validation)
    assert server.finetune.jobs[second.id].hyperparameters["n_epochs"] == "auto"
    assert adapter.find_jobs(job_metadata("legal", "a" * 64)) == []


def test_events_come_oldest_first_and_only_new_ones(server, clock):
    adapter = tuner(server)
    job = adapter.create_job(spec(), adapter.upload("t.jsonl", valid_dataset(12)), None)
    early = adapter.events_since(job.id, None)
    assert [e.message for e in early] == [
        f"Validating training file: {server.finetune.jobs[job.id].training_file}"
    ]

    clock.now = 10
    done = adapter.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model and done.trained_tokens
    later = adapter.events_since(job.id, early[-1].id)
    assert later[0].message == "Files validated, moving job to queued state"
    assert later[-1].message == "The job has successfully completed"
    assert [e.metrics["step"] for e in later if e.metrics] == [1.0, 2.0]
    assert adapter.events_since(job.id, later[-1].id) == []


def test_a_wrong_key_is_terminal_and_never_echoed(server, clock):
    wrong = "sk-wrong-key-do-not-print-9876"
    with pytest.raises(TerminalError) as caught:
        tuner(server, key=wrong).find_jobs(job_metadata("tone", "a" * 64))
    assert "rejected the API key" in str(caught.value)
    assert wrong not in str(caught.value) and wrong[-4:] not in str(caught.value)


def test_a_refused_job_is_terminal_with_the_apis_reason(server, clock):
    adapter = tuner(server)
    training = adapter.upload("t.jsonl", valid_dataset(12))
    with pytest.raises(
        TerminalError, match=r"refused creating the fine-tuning job \(HTTP 400.*not available for fine-tuning"
    ):
        adapter.create_job(spec(base_model="gpt-2"), training, None)


def test_creating_a_job_is_sent_once_while_reads_are_retried(server, clock):
    adapter = tuner(server, retries=2)
    training = adapter.upload("t.jsonl", valid_dataset(12))
    server.stats.reset()
    server.faults.fail_next(5, status=503)
    with pytest.raises(TransientError, match="HTTP 503"):
        adapter.create_job(spec(), training, None)
    assert server.stats.requests == 1  # never retried by the client: a lost answer could mean a second job

    server.faults.clear()
    server.faults.fail_next(2, status=503)
    server.stats.reset()
    assert adapter.find_jobs(job_metadata("tone", "a" * 64)) == []
    assert server.stats.requests == 3
    assert server.finetune.stats.jobs_created == 0


def test_settings_build_the_adapter_and_require_a_key_for_openai(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="RAGKEEPER_OPENAI__API_KEY"):
        factory.make_fine_tuner(load_settings())
    built = factory.make_fine_tuner(load_settings(openai={"base_url": server.base_url, "api_key": KEY}))
    assert isinstance(built, OpenAIFineTuner) and built.where == server.base_url.rstrip("/")
    azure = factory.make_fine_tuner(
        load_settings(
            openai={
                "base_url": "https://example.openai.azure.com",
                "api_key": KEY,
                "api_version": "2025-04-01-preview",
            }
        )
    )
    assert azure.where == "Azure OpenAI at https://example.openai.azure.com"
    proxied = factory.make_fine_tuner(
        load_settings(openai={"base_url": "https://svc:hunter2@llm.internal:8443/v1", "api_key": KEY})
    )
    assert proxied.where == "https://***@llm.internal:8443/v1"  # logged and stored: no credentials
