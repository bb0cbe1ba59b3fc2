"""Our stand-in's files and fine-tuning endpoints reject what the API documents as invalid, and walk
jobs through their states on a clock. Driven with the real `openai` client."""

import json

import openai
import pytest

from tests.conftest import OPENAI_TEST_KEY
from tests.support.openai_finetuning import JobTiming, ManualClock
from tests.support.style_datasets import BASE_MODEL, jsonl, valid_dataset

pytestmark = pytest.mark.integration

KEY = OPENAI_TEST_KEY


@pytest.fixture
def clock(server) -> ManualClock:
    return server.finetune.use_manual_clock(JobTiming(validating=1, queued=1, running=4, steps=4))


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)


def upload(client, data: bytes = valid_dataset(12), name: str = "train.jsonl", purpose: str = "fine-tune"):
    return client.files.create(file=(name, data, "application/jsonl"), purpose=purpose)  # type: ignore[arg-type]


def test_a_job_walks_through_its_states_and_reports_events_and_a_model(client, server, clock):
    training = upload(client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id, suffix="tone")
    seen = [job.status]
    for now in (1.0, 2.0, 4.0, 6.0):
        clock.now = now
        seen.append(client.fine_tuning.jobs.retrieve(job.id).status)
    assert seen == ["validating_files", "queued", "running", "running", "succeeded"]

    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.fine_tuned_model is not None and done.fine_tuned_model.startswith(f"ft:{BASE_MODEL}:")
    assert ":tone:" in done.fine_tuned_model
    assert done.trained_tokens and done.trained_tokens > 0 and done.finished_at
    (results,) = done.result_files
    assert client.files.retrieve(results).purpose == "fine-tune-results"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
    assert messages[0] == "The job has successfully completed"  # newest first
    assert messages[-1] == f"Validating training file: {training.id}"
    assert sum(1 for e in client.fine_tuning.jobs.list_events(job.id, limit=100) if e.type == "metrics") == 4


def test_a_job_fails_on_command_and_a_running_one_can_be_cancelled(client, server, clock):
    training = upload(client)
    server.finetune.fail_next_job("out of memory on step 2")
    failing = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id)
    other = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id)
    clock.now = 5.0
    failed = client.fine_tuning.jobs.retrieve(failing.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.message == "out of memory on step 2" and failed.fine_tuned_model is None

    assert client.fine_tuning.jobs.cancel(other.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="already cancelled"):
        client.fine_tuning.jobs.cancel(other.id)
    assert server.finetune.stats.jobs_cancelled == 1


def test_the_job_validates_the_examples_like_the_api(client, clock):
    too_few = upload(client, valid_dataset(5))
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=too_few.id)
    clock.now = 1.0
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "invalid_training_file"
    assert "at least 10" in failed.error.message


def test_listing_filters_by_metadata_and_pages(client, server, clock):
    training = upload(client)
    ids = [
        client.fine_tuning.jobs.create(
            model=BASE_MODEL,
            training_file=training.id,
            metadata={"team": "support" if n % 2 else "legal", "n": str(n)},
        ).id
        for n in range(5)
    ]
    support = [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "support"}, limit=1)]
    assert support == [ids[3], ids[1]]  # newest first, across pages of one
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "legal", "n": "2"})] == [ids[2]]
    assert len(list(client.fine_tuning.jobs.list(limit=2))) == 5


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (valid_dataset(3), "train.txt", "Must be .jsonl"),
        (b"{oops\n", "train.jsonl", "Line 1 is not valid JSON"),
        (
            jsonl([{"messages": []}, {"prompt": "x"}]),
            "train.jsonl",
            "Line 2: each line must be a JSON object",
        ),
        (b"\n", "train.jsonl", "File is empty"),
    ],
)
def test_uploads_are_checked_like_the_api(client, server, clock, data, name, says):
    with pytest.raises(openai.BadRequestError, match=says):
        upload(client, data, name)
    assert server.finetune.stats.uploads_rejected == 1 and server.finetune.stats.files_uploaded == 0


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"model": "gpt-2"}, "not available for fine-tuning"),
        ({"training_file": "file-missing"}, "invalid training_file"),
        ({"suffix": "x" * 65}, "suffix"),
        ({"metadata": {f"k{n}": "v" for n in range(17)}}, "at most 16"),
        ({"metadata": {"k": "v" * 513}}, "at most 512"),
        ({"hyperparameters": {"n_epochs": 0}}, "n_epochs"),
        ({"hyperparameters": {"warmup": 3}}, "Unknown hyperparameter"),
        (
            {"method": {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 1000}}}},
            "batch_size",
        ),
    ],
)
def test_job_creation_is_validated_like_the_api(client, server, clock, changes, says):
    training = upload(client)
    request = {"model": BASE_MODEL, "training_file": training.id, **changes}
    with pytest.raises(openai.BadRequestError, match=says):
        client.fine_tuning.jobs.create(**request)
    assert server.finetune.stats.jobs_created == 0 and server.finetune.stats.jobs_rejected == 1


def test_a_file_of_another_purpose_cannot_train(client, clock):
    other = upload(client, json.dumps({"custom_id": "1"}).encode() + b"\n", "batch.jsonl", purpose="batch")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=other.id)


def test_embeddings_still_work_next_to_fine_tuning(client, clock):
    assert (
        len(
            client.embeddings.create(model="text-embedding-3-small", input="hi", dimensions=8)
            .data[0]
            .embedding
        )
        == 8
    )
