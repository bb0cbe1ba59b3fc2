"""Scoring a causal LM (a base model, or one with a LoRA adapter) on a validation file, and its answers.

The loss is computed exactly as in training (the same chat template and assistant-turn mask), summed
over every trained token of the file and divided by their count, so the candidate and the current
model are compared on the same figure. Answers are greedy, for the format checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragkeeper.adapters.finetuning.lora_training import encode
from ragkeeper.core.retrain.chat_masks import labels, prompt_and_answer


def validation_loss(
    model: Any, tokenizer: Any, examples: Sequence[Sequence[dict[str, Any]]], max_length: int
) -> float | None:
    """Mean loss per trained token over `examples` (None when no token is trained)."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for messages in examples:
            row = encode(tokenizer, messages)
            ids = row["input_ids"][:max_length]
            targets = labels(ids, row["assistant_masks"][:max_length])
            # a causal LM predicts token i from tokens before it: the first token is never a target
            counted = sum(1 for t in targets[1:] if t >= 0)
            if counted == 0:
                continue
            output = model(
                input_ids=torch.tensor([ids], device=device), labels=torch.tensor([targets], device=device)
            )
            total += float(output.loss) * counted
            tokens += counted
    return total / tokens if tokens else None


def generate_answers(
    model: Any, tokenizer: Any, examples: Sequence[Sequence[dict[str, Any]]], max_new_tokens: int
) -> list[str]:
    """The model's greedy answer to each example's prompt (the conversation before its last answer)."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    answers = []
    with torch.no_grad():
        for messages in examples:
            split = prompt_and_answer(messages)
            if split is None:
                continue
            prompt = tokenizer.apply_chat_template(
                split[0], add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(device)
            output = model.generate(
                **prompt, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
            new_tokens = output[0][prompt["input_ids"].shape[1] :]
            answers.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
    return answers
