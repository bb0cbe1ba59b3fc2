"""`retrain.backend = "trl"` end to end: a tiny causal LM built here, datasets and artifacts in a real
MinIO, the training deployment deployed with `prefect deploy` to a real Prefect server and run by a
real process worker, `ragkeeper retrain` / `ragkeeper models` as a user runs them. CPU only, offline."""

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support import prefect_api
from tests.support.cli import run_cli
from tests.support.s3 import minio_settings
from tests.support.style_datasets import example, jsonl
from tests.support.tiny_lm import build_tiny_lm

pytestmark = [pytest.mark.ml, pytest.mark.e2e]

STYLE = "Open the vault and rotate key {n}."
WORSE = "Bananas are yellow, says the parrot {n}."
HYPERPARAMETERS = {
    "n_epochs": 3,
    "batch_size": 4,
    "learning_rate": 0.02,
    "lora_r": 8,
    "max_seq_length": 256,
    "seed": 0,
}


def dataset(count: int, start: int, answer: str) -> bytes:
    return jsonl([example(n, answer=answer.format(n=n)) for n in range(start, start + count)])


def _prefect(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "prefect"), *args]
    return subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def trainer_env(prefect_server, minio, s3_client, bucket, tmp_path) -> Iterator[dict[str, str]]:
    """The training deployment on its own work pool with a worker running; the user's environment."""
    corpus = [STYLE.format(n=n) for n in range(30)] + [WORSE.format(n=n) for n in range(30)]
    base = build_tiny_lm(tmp_path / "tiny-lm", [*corpus, "How do I rotate key number 7?"])
    for path in base.iterdir():  # the base model lives in MinIO, as a private model would
        s3_client.put_object(Bucket=bucket, Key=f"models/tiny/{path.name}", Body=path.read_bytes())
    pool = f"gpu-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **minio_settings(minio.url),
        "PREFECT_API_URL": prefect_server.url,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "RAGKEEPER_RETRAIN__BACKEND": "trl",
        "RAGKEEPER_RETRAIN__TRAINER__ARTIFACTS_URI": f"s3://{bucket}/training",
        "RAGKEEPER_RETRAIN__TRAINER__EVAL_STEPS": "4",
        "RAGKEEPER_RETRAIN__TRAINER__MAX_NEW_TOKENS": "12",
        "RAGKEEPER_RETRAIN__REGISTRY": f"s3://{bucket}/registry/models.json",
        "RAGKEEPER_RETRAIN__POLL_INTERVAL_SECONDS": "1",
        "RAGKEEPER_RETRAIN__MAX_POLL_INTERVAL_SECONDS": "2",
        "RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS": "900",
        "RAGKEEPER_RETRAIN__LEASE_SECONDS": "60",  # a SIGKILLed run holds the dataset's lease until then
        "RAGKEEPER_RETRAIN__DATASETS": json.dumps(
            [
                {
                    "name": "tone",
                    "uri": f"s3://{bucket}/styles/train.jsonl",
                    "validation_uri": f"s3://{bucket}/styles/valid.jsonl",
                    "base_model": f"s3://{bucket}/models/tiny",
                    "hyperparameters": HYPERPARAMETERS,
                    "format_check": {"kind": "regex", "pattern": "Open .*"},
                }
            ]
        ),
    }
    yaml_file = tmp_path / "prefect.yaml"
    yaml_file.write_text(
        (REPO / "prefect.yaml").read_text().replace("name: ragkeeper-gpu\n", f"name: {pool}\n")
    )
    created = _prefect("work-pool", "create", pool, "--type", "process", env=env)
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = _prefect("--no-prompt", "deploy", "--prefect-file", str(yaml_file), "--name", "gpu", env=env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", pool],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield env
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def flow_runs(api: str) -> list[dict]:
    found = prefect_api.get(f"{api}/deployments/name/train-style-model/gpu").json()
    body = {"deployments": {"id": {"any_": [found["id"]]}}}
    return prefect_api.post(f"{api}/flow_runs/filter", json=body).json()


def models(env: dict[str, str]) -> list[dict]:
    shown = run_cli("models", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["models"]


def check_first_version(env, api, s3_client, bucket) -> dict:
    """V1 trained once, promoted, its artifacts in MinIO and in Prefect; returns its registry entry."""
    (run,) = flow_runs(api)
    assert run["state"]["type"] == "COMPLETED"
    assert {"ragkeeper_dataset:tone"} <= set(run["tags"])
    (v1,) = models(env)
    assert v1["current"] and v1["status"] == "promoted" and v1["job_id"] == run["id"]
    folder = f"training/tone/{v1['fingerprint']}"
    assert v1["model_id"] == f"s3://{bucket}/{folder}/adapter"
    stored = {o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]}
    expected = ["adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/tokenizer.json"]
    expected += ["training_log.jsonl", "metrics.json", "eval.json", "loss_curve.png"]
    assert {f"{folder}/{name}" for name in expected} <= stored
    per_step = json.loads(s3_client.get_object(Bucket=bucket, Key=f"{folder}/metrics.json")["Body"].read())
    train_steps = [s["step"] for s in per_step["steps"] if "train_loss" in s]
    assert train_steps == list(range(1, len(train_steps) + 1))
    assert any("valid_loss" in s for s in per_step["steps"])
    assert v1["metrics"]["valid_loss"] < 6.0 and v1["metrics"]["format_pass_rate"] == 1.0
    print("v1 metrics", json.dumps(v1["metrics"]))
    artifacts = prefect_api.post(f"{api}/artifacts/filter", json={}, timeout=30).json()
    keys = {a["key"] for a in artifacts if a["flow_run_id"] == run["id"]}
    assert {"training-tone-loss-curve", "training-tone-metrics"} <= keys
    return v1


def check_rejected(env, api, v1: dict) -> dict:
    """V2 trained once, scored against V1 on the same file, rejected; returns its registry entry."""
    assert len(flow_runs(api)) == 2
    recorded = {m["job_id"]: m for m in models(env)}
    (v2,) = [m for m in recorded.values() if m["job_id"] != v1["job_id"]]
    assert v2["status"] == "rejected" and not v2["current"] and recorded[v1["job_id"]]["current"]
    assert v2["metrics"]["valid_loss"] > v2["metrics"]["current_valid_loss"]
    assert v2["metrics"]["current_valid_loss"] == pytest.approx(v1["metrics"]["valid_loss"], rel=1e-3)
    assert "worse than the current model" in v2["evaluation"]
    print("v2 metrics", json.dumps(v2["metrics"]))
    body = {"filter": {"resource": {"id": ["ragkeeper.dataset.tone"]}}}
    events = prefect_api.post(f"{api}/events/filter", json=body, timeout=30).json()["events"]
    assert "ragkeeper.finetune.rejected" in {e["event"] for e in events}
    return v2


def answer_with_adapter(s3_client, bucket: str, adapter_uri: str, base: Path, local: Path) -> str:
    """Download the adapter from MinIO, load it with transformers + PEFT on the CPU, answer a prompt."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    prefix = adapter_uri.removeprefix(f"s3://{bucket}/")
    for item in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        target = local / item["Key"][len(prefix) :].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    tokenizer = AutoTokenizer.from_pretrained(local)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), local).eval()
    messages = example(200)["messages"][:-1]
    prompt = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    return tokenizer.decode(output[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)


@pytest.mark.timeout(1800)  # two CPU training runs in worker subprocesses, and a killed run's lease expiring
def test_the_trl_backend_trains_evaluates_promotes_rejects_and_the_adapter_generates(
    trainer_env, prefect_server, s3_client, bucket, tmp_path
):
    env, api = trainer_env, prefect_server.url
    s3_client.put_object(Bucket=bucket, Key="styles/train.jsonl", Body=dataset(20, 0, STYLE))
    s3_client.put_object(Bucket=bucket, Key="styles/valid.jsonl", Body=dataset(4, 100, STYLE))

    # A run killed right after creating the training run: the next run attaches to it, one run in all.
    killed = run_cli("retrain", env={**env, "RAGKEEPER_FAULT_KILL_AT": "retrain-after-create"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    first = run_cli("retrain", env=env, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert "job attached -> succeeded" in first.stdout
    v1 = check_first_version(env, api, s3_client, bucket)

    # Unchanged: nothing starts.
    again = run_cli("retrain", env=env)
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert len(flow_runs(api)) == 1

    # Changed to a worse style: trained once, scored against V1 on the same file, rejected.
    s3_client.put_object(Bucket=bucket, Key="styles/train.jsonl", Body=dataset(20, 0, WORSE))
    worse = run_cli("retrain", env=env, timeout=900)
    assert worse.returncode == 1, worse.stdout + worse.stderr[-3000:]
    assert "rejected" in worse.stdout  # (the table may fold the words "by the evaluation gate")
    v2 = check_rejected(env, api, v1)
    held = run_cli("retrain", env=env)
    assert held.returncode == 0 and "held" in held.stdout and len(flow_runs(api)) == 2

    # People can overrule the gate, and roll back.
    assert run_cli("models", "promote", v2["model_id"], env=env).returncode == 0
    assert [m["job_id"] for m in models(env) if m["current"]] == [v2["job_id"]]
    assert run_cli("models", "rollback", "tone", env=env).returncode == 0
    assert [m["job_id"] for m in models(env) if m["current"]] == [v1["job_id"]]

    # The promoted adapter loads with transformers + PEFT on the CPU and answers in its style.
    answer = answer_with_adapter(s3_client, bucket, v1["model_id"], tmp_path / "tiny-lm", tmp_path / "v1")
    assert answer.startswith("Open"), answer
