"""Spike: the self-hosted training recipe, on the CPU, with a tiny model built by the test.

TRL's `assistant_only_loss` needs `{% generation %}` markers in the chat template, which most real
templates lack (TRL swaps in its own patched templates only for model families it knows). So the
recipe computes the loss mask itself, for any template that renders conversations prefix by prefix:
each trained assistant message's span is the text between the rendering of the messages before it
(with the generation prompt) and the rendering through it; tokens of the full rendering whose
characters lie in such a span are trained, everything else (system, user, role headers, and
assistant messages with `weight: 0`) is not. SFTTrainer takes the pre-tokenized rows
(`input_ids` + `assistant_masks`) and turns the mask into `labels`.

The recipe lives here until the trainer backend (issue 12) moves it into the package.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

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


def trained_spans(tokenizer, messages: list[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering, and the character spans of the assistant messages that are trained."""
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    full = tokenizer.apply_chat_template(plain, tokenize=False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or message.get("weight", 1) == 0:
            continue
        before = tokenizer.apply_chat_template(plain[:i], tokenize=False, add_generation_prompt=True)
        through = tokenizer.apply_chat_template(plain[: i + 1], tokenize=False)
        assert through.startswith(before) and full.startswith(through), "template is not prefix-preserving"
        spans.append((len(before), len(through)))
    return full, spans


def encode(tokenizer, messages: list[dict[str, Any]]) -> dict[str, list[int]]:
    """`input_ids` of the full rendering and `assistant_masks` (1 = trained token)."""
    full, spans = trained_spans(tokenizer, messages)
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(start <= a and b <= end for start, end in spans)) for a, b in encoded["offset_mapping"]]
    return {"input_ids": encoded["input_ids"], "assistant_masks": mask}


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
