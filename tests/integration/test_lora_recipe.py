"""The training recipe of the self-hosted trainer, on the CPU, with a tiny model built by the test.

TRL's `assistant_only_loss` needs `{% generation %}` markers in the chat template, which most real
templates lack (TRL swaps in its own patched templates only for model families it knows). So
`lora_training.encode` computes the loss mask itself (`core.retrain.chat_masks`), and SFTTrainer
takes the pre-tokenized rows (`input_ids` + `assistant_masks`) and turns the mask into `labels`.
These tests drive TRL + PEFT directly with that encoding (the first began as the stage-1 spike),
then the package's own `train` and evaluation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ragkeeper.adapters.finetuning.lora_training import encode
from tests.support.tiny_lm import build_tiny_lm

pytestmark = [pytest.mark.ml, pytest.mark.integration]

SYSTEM = "Answer in one short, friendly sentence."


def conversation(n: int, *, skipped_first_answer: bool = False) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"How do I rotate key number {n}?"},
        {"role": "assistant", "content": f"Open the vault and rotate key {n}."},
    ]
    if skipped_first_answer:
        messages[-1] = {"role": "assistant", "content": f"WRONG ANSWER {n} NOT TRAINED", "weight": 0}
        messages += [
            {"role": "user", "content": "Are you sure?"},
            {"role": "assistant", "content": f"Yes: open the vault and rotate key {n}."},
        ]
    return messages


TRAIN = [conversation(n, skipped_first_answer=n % 4 == 0) for n in range(16)]
VALID = [conversation(n) for n in range(100, 104)]


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = [m["content"] for c in TRAIN + VALID for m in c]
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"), corpus)


def make_trainer(base: Path, output: Path):
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(base)
    config = SFTConfig(
        output_dir=str(output),
        num_train_epochs=3,
        learning_rate=2e-2,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        max_length=256,
        eval_strategy="steps",
        eval_steps=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        assistant_only_loss=False,  # our own mask instead: the template has no generation markers
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    return SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(base),
        args=config,
        train_dataset=Dataset.from_list([encode(tokenizer, c) for c in TRAIN]),
        eval_dataset=Dataset.from_list([encode(tokenizer, c) for c in VALID]),
        processing_class=tokenizer,
        peft_config=lora,
    )


def rows(dataset: Any) -> list[dict[str, Any]]:
    return list(dataset)


def trained_text(tokenizer, row: dict[str, Any]) -> str:
    return tokenizer.decode([token for token in row["labels"] if token != -100])


def test_loss_mask_covers_only_trained_assistant_turns_without_generation_markers(base_model: Path, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    assert "{% generation %}" not in tokenizer.chat_template

    trainer = make_trainer(base_model, tmp_path)
    train, valid = rows(trainer.train_dataset), rows(trainer.eval_dataset)
    # TRAIN[0]'s first answer has weight 0: only the second one is trained
    assert train[0]["input_ids"] == encode(tokenizer, TRAIN[0])["input_ids"]
    assert trained_text(tokenizer, train[0]) == "Yes: open the vault and rotate key 0.<|im_end|>\n"
    assert trained_text(tokenizer, train[1]) == "Open the vault and rotate key 1.<|im_end|>\n"
    assert trained_text(tokenizer, valid[0]) == "Open the vault and rotate key 100.<|im_end|>\n"


def test_lora_trains_on_cpu_reports_validation_loss_per_step_saves_loads_and_generates(
    base_model: Path, tmp_path: Path
):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    trainer = make_trainer(base_model, tmp_path / "run")
    started = time.monotonic()
    trainer.train()
    seconds = time.monotonic() - started

    history = trainer.state.log_history
    train_loss = {h["step"]: h["loss"] for h in history if "loss" in h}
    eval_loss = {h["step"]: h["eval_loss"] for h in history if "eval_loss" in h}
    steps = trainer.state.max_steps
    assert sorted(train_loss) == sorted(eval_loss) == list(range(1, steps + 1))
    assert eval_loss[steps] < eval_loss[1] - 0.3, eval_loss
    print(json.dumps({"train_seconds": round(seconds, 1), "steps": steps, "eval_loss": eval_loss}))

    adapter = tmp_path / "adapter"
    trainer.save_model(str(adapter))
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in adapter.iterdir()}

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model), adapter).eval()
    # the adapter that was saved is the one that was trained: same validation loss on reload
    batch = trainer.get_eval_dataloader()
    with torch.no_grad():
        losses = [model(**{k: v for k, v in b.items() if k in ("input_ids", "labels")}).loss for b in batch]
    assert abs(float(torch.stack(losses).mean()) - eval_loss[steps]) < 1e-3

    prompt = tokenizer.apply_chat_template(
        VALID[0][:2], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        output = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(output[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    assert answer.strip()
    assert answer.split()[0] == "Open", answer  # the trained style, not the base model's noise


def test_the_packaged_trainer_saves_an_adapter_whose_validation_loss_it_reports(
    base_model: Path, tmp_path: Path
):
    from ragkeeper.adapters.finetuning import lora_evaluation, lora_training

    def jsonl(conversations) -> bytes:
        return "\n".join(json.dumps({"messages": c}) for c in conversations).encode()

    steps: list[dict[str, float]] = []
    hyperparameters = {"n_epochs": 3, "batch_size": 4, "learning_rate": 2e-2, "lora_r": 8, "seed": 0}
    run, model, tokenizer = lora_training.train(
        str(base_model),
        jsonl(TRAIN),
        jsonl(VALID),
        hyperparameters={**hyperparameters, "max_seq_length": 256},
        output=tmp_path,
        eval_steps=4,
        on_step=steps.append,
    )
    assert steps == run.steps and [s["step"] for s in steps if "train_loss" in s] == list(range(1, 13))
    assert [s["step"] for s in steps if "valid_loss" in s] == [4, 8, 12]
    trained = lora_evaluation.validation_loss(model, tokenizer, VALID, 256)
    base = lora_evaluation.validation_loss(lora_training.load_model(str(base_model)), tokenizer, VALID, 256)
    reloaded = lora_training.load_model(str(base_model), tmp_path / "adapter")
    assert trained is not None and base is not None and trained < base - 0.3
    assert lora_evaluation.validation_loss(reloaded, tokenizer, VALID, 256) == pytest.approx(
        trained, rel=1e-4
    )
    answers = lora_evaluation.generate_answers(reloaded, tokenizer, VALID, max_new_tokens=6)
    assert len(answers) == len(VALID) and all(a.startswith("Open") for a in answers), answers
