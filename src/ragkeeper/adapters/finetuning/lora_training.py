"""LoRA fine-tuning with TRL's SFTTrainer and PEFT (the `ragkeeper[train]` extra), on CUDA or the CPU.

The chat template is applied here and the loss mask computed by `core.retrain.chat_masks` (assistant
turns only, without `{% generation %}` markers; `weight: 0` messages skipped): SFTTrainer receives
`input_ids` + `assistant_masks` and turns them into labels. CUDA trains in bf16 where the GPU has it,
fp16 otherwise; without CUDA it trains on the CPU in fp32. torch, transformers, TRL and PEFT are
imported inside the functions, so ragkeeper imports without them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragkeeper.core.retrain.chat_masks import token_mask, trained_spans
from ragkeeper.core.retrain.lora_config import resolve, target_modules
from ragkeeper.errors import ModelMissing, TerminalError

INSTALL_HINT = "pip install 'ragkeeper[train]'"
StepCallback = Callable[[dict[str, float]], None]

# TRL and the Hugging Face Hub send usage telemetry unless told not to.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass
class TrainingRun:
    """What one training run produced: per-step losses, the final figures and the trainer's log."""

    steps: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    log_history: list[dict[str, Any]] = field(default_factory=list)


def conversations(jsonl: bytes) -> list[list[dict[str, Any]]]:
    """The `messages` of each line of a (validated, normalised) chat JSONL file."""
    return [json.loads(line)["messages"] for line in jsonl.decode("utf-8").splitlines() if line.strip()]


def precision() -> tuple[bool, bool, bool]:
    """(use_cpu, bf16, fp16): bf16 on a GPU that has it, fp16 on other GPUs, fp32 on the CPU."""
    import torch

    if not torch.cuda.is_available():
        return True, False, False
    bf16 = bool(torch.cuda.is_bf16_supported())
    return False, bf16, not bf16


def load_tokenizer(base: str) -> Any:
    """The base model's tokenizer; it must have a chat template."""
    try:
        from transformers import AutoTokenizer
    except ImportError as error:
        raise ModelMissing(f"training needs {error.name}: {INSTALL_HINT}") from None
    tokenizer = AutoTokenizer.from_pretrained(base)
    if not tokenizer.chat_template:
        raise TerminalError(f"the tokenizer of {base} has no chat template; use an instruction-tuned model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def encode(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """`input_ids` of the rendered conversation and `assistant_masks` (1 = trained token)."""

    def render(chat: list[dict[str, str]], generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=generation_prompt)

    text, spans = trained_spans(render, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return {
        "input_ids": encoded["input_ids"],
        "assistant_masks": token_mask(encoded["offset_mapping"], spans),
    }


def load_model(base: str, adapter: Path | None = None) -> Any:
    """The base model (a Hub id or a folder), with a LoRA adapter applied when given."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    if adapter is None:
        return model
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter))


def _step_logger(run: TrainingRun, on_step: StepCallback) -> Any:
    """A TrainerCallback that collects the train and validation loss of each step."""
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any):
            figures = {"train_loss": (logs or {}).get("loss"), "valid_loss": (logs or {}).get("eval_loss")}
            kept = {k: float(v) for k, v in figures.items() if v is not None}
            if kept:
                step = {"step": float(state.global_step), "total_steps": float(state.max_steps), **kept}
                run.steps.append(step)
                on_step(step)

    return StepLog()


def train(
    base: str,
    training: bytes,
    validation: bytes | None,
    *,
    hyperparameters: dict[str, Any],
    output: Path,
    eval_steps: int,
    on_step: StepCallback,
) -> tuple[TrainingRun, Any, Any]:
    """Train a LoRA adapter on `training` (evaluating on `validation`) and save it with the tokenizer.

    Returns the run's figures, the trained (PEFT) model and the tokenizer, for evaluation.
    """
    try:
        from datasets import Dataset
        from peft import LoraConfig
        from trl.trainer.sft_config import SFTConfig
        from trl.trainer.sft_trainer import SFTTrainer
    except ImportError as error:
        raise ModelMissing(f"training needs {error.name}: {INSTALL_HINT}") from None

    h = resolve(hyperparameters)
    tokenizer = load_tokenizer(base)
    encoded = [encode(tokenizer, c) for c in conversations(training)]
    train_rows = Dataset.from_list(encoded)
    valid_rows = (
        Dataset.from_list([encode(tokenizer, c) for c in conversations(validation)]) if validation else None
    )
    use_cpu, bf16, fp16 = precision()
    config = SFTConfig(
        output_dir=str(output / "checkpoints"),
        num_train_epochs=h["n_epochs"],
        learning_rate=h["learning_rate"],
        per_device_train_batch_size=h["batch_size"],
        per_device_eval_batch_size=h["batch_size"],
        max_length=h["max_seq_length"],
        seed=h["seed"],
        eval_strategy="steps" if valid_rows is not None else "no",
        eval_steps=eval_steps,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        assistant_only_loss=False,  # the mask comes with the rows (see the module docstring)
        use_cpu=use_cpu,
        bf16=bf16,
        fp16=fp16,
    )
    lora = LoraConfig(
        r=h["lora_r"],
        lora_alpha=h["lora_alpha"],
        lora_dropout=h["lora_dropout"],
        target_modules=target_modules(h["lora_target_modules"]),
        task_type="CAUSAL_LM",
    )
    run = TrainingRun()
    trainer = SFTTrainer(
        model=load_model(base),
        args=config,
        train_dataset=train_rows,
        eval_dataset=valid_rows,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_step_logger(run, on_step)],
    )
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # each step's losses are logged once, by the step logger
    started = time.monotonic()
    trainer.train()
    run.metrics["train_seconds"] = round(time.monotonic() - started, 3)
    if valid_rows is not None and (not run.steps or "valid_loss" not in run.steps[-1]):
        trainer.evaluate()  # the last step's validation loss, when eval_steps did not land on it
    run.log_history = list(trainer.state.log_history)
    train_losses = [s["train_loss"] for s in run.steps if "train_loss" in s]
    if train_losses:
        run.metrics["train_loss"] = train_losses[-1]
    run.metrics["trained_tokens"] = float(sum(len(row["input_ids"]) for row in encoded) * h["n_epochs"])
    trainer.save_model(str(output / "adapter"))
    return run, trainer.model, tokenizer
