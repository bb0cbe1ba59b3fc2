"""A tiny causal LM built on the spot, for training tests that cannot download a model.

`build_tiny_lm(folder)` trains a byte-level BPE tokenizer with the `tokenizers` library on a small
corpus, wraps it as a transformers tokenizer with a ChatML-style chat template (the shape Qwen's and
many other real templates have, and like them WITHOUT `{% generation %}` markers), builds a randomly
initialised 2-layer Llama model sized for that vocabulary, and saves both with `save_pretrained`. The
code under test then loads it from the folder exactly as it would load a private base model.

Needs the ML virtualenv (torch, transformers, tokenizers): import it only from `ml`-marked tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

BOS = "<|begin_of_text|>"
TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"
PAD = "<|pad|>"

# ChatML as real models ship it: no generation markers, the turn end is the EOS token.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_BASE_CORPUS = [
    "Open Settings, then Keys, and press Rotate.",
    "How do I rotate my key? Where are the invoices? Can I export my data?",
    "The quick brown fox jumps over the lazy dog. Sphinx of black quartz, judge my vow.",
    '{"answer": "yes", "steps": 2} {"answer": "no", "steps": 0}',
    "system user assistant: Answer in one short, friendly sentence.",
    "0 1 2 3 4 5 6 7 8 9 . , ; : ! ? ' \" ( ) [ ] { } - _ / \\ @ # % & * + = < >",
]


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer (every string encodes) trained on `corpus` plus a fixed base corpus."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, TURN_START, TURN_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([*_BASE_CORPUS, *corpus], trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=TURN_END,
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
    )


def token_id(tokenizer, token: str) -> int:
    """The id of one special token."""
    found = tokenizer.convert_tokens_to_ids(token)
    assert isinstance(found, int)
    return found


def build_tiny_lm(folder: Path, corpus: Iterable[str] = (), seed: int = 0) -> Path:
    """Save a 2-layer Llama-style model and its chat tokenizer to `folder`; returns `folder`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(corpus)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=token_id(tokenizer, BOS),
        eos_token_id=token_id(tokenizer, TURN_END),
        pad_token_id=token_id(tokenizer, PAD),
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
