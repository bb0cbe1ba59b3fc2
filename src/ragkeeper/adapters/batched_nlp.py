"""unstructured's language heuristics answered from one batched spaCy pass per document.

unstructured decides what each text element is (a title, narrative text, ...) by counting its
sentences and looking for verbs with spaCy's `en_core_web_sm`, one short text at a time. On HTML
and plain text that is about three quarters of the time partitioning takes, and most of it is the
per-call overhead: spaCy answers the same texts about three times faster in one batch
(`nlp.pipe`). So such a document is partitioned twice: first with the heuristics only noting the
texts they ask about (and getting throwaway answers), then, once spaCy has read all those texts in
one batch, for real, with each answer looked up. The elements are the ones a single pass gives:
spaCy's batched and one-by-one analyses are the same, and a text the first pass did not note is
answered by unstructured as usual (tests/integration/test_batched_nlp.py compares both on real
documents).

The switch is per thread, so parsing in several threads of one process stays correct; unstructured's
own caches are never filled with the throwaway answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Answers:
    """What unstructured's heuristics read from spaCy's analysis of one text."""

    sentences: list[str]
    tags: list[tuple[str, str]]  # (word, tag) per token: the words too


# The throwaway answer of the noting pass (any answer will do: it is never used).
_NOTED = _Answers(sentences=[], tags=[])

_BATCH_SIZE = 256
_MAX_BATCHED_CHARACTERS = 2000

_state = threading.local()  # .noting: set[str] | None, .answers: dict[str, _Answers] | None
_install_lock = threading.Lock()
_originals: dict[str, Callable[[str], Any]] = {}


def partition_twice(partition: Callable[[], T]) -> T:
    """`partition()`'s result, with unstructured's spaCy questions answered in one batch.

    If the noting pass fails, the document is partitioned once the usual way, so an error is the
    one unstructured itself raises.
    """
    _install()
    noted: set[str] | None = set()
    _state.noting = noted
    try:
        partition()
    except Exception:
        noted = None
    finally:
        _state.noting = None
    if noted is None:
        return partition()  # the usual single pass: its own error, or its result
    _state.answers = _analyse(noted)
    try:
        return partition()
    finally:
        _state.answers = None


def _analyse(texts: set[str]) -> dict[str, _Answers]:
    """Each text's sentences, words and tags, from one batched spaCy pass (only these are kept).

    A spaCy Doc holds its token vectors: keeping thousands of them for a large page would cost
    far more memory than the two short lists unstructured's three questions read from each.
    """
    from unstructured.nlp.tokenize import _get_nlp  # pyright: ignore[reportPrivateUsage]

    nlp = _get_nlp()
    # Element texts are short; a long one (a plain-text file without blank lines) is left to
    # unstructured, so that a batch's working memory stays small whatever the document.
    wanted = sorted(t for t in texts if len(t) <= _MAX_BATCHED_CHARACTERS)
    return {
        text: _Answers(
            sentences=[sentence.text for sentence in doc.sents],
            tags=[(token.text, token.tag_) for token in doc],
        )
        for text, doc in zip(wanted, nlp.pipe(wanted, batch_size=_BATCH_SIZE), strict=True)
    }


def _install() -> None:
    """Put the per-thread switch in front of the three spaCy questions unstructured's heuristics ask."""
    with _install_lock:
        if _originals:
            return
        from unstructured.partition import text_type

        for name, answer in (
            ("sent_tokenize", _sentences),
            ("word_tokenize", _words),
            ("pos_tag", _tags),
        ):
            _originals[name] = getattr(text_type, name)
            setattr(text_type, name, answer)


def _lookup(text: str) -> _Answers | None:
    """A noted document's answers for `text`, None to ask unstructured; notes the text while noting."""
    noting: set[str] | None = getattr(_state, "noting", None)
    if noting is not None:
        noting.add(text)
        if text.isupper():  # contains_verb asks about the lower-cased text
            noting.add(text.lower())
        return _NOTED
    answers: dict[str, _Answers] | None = getattr(_state, "answers", None)
    return answers.get(text) if answers is not None else None


def _sentences(text: str) -> list[str]:
    answers = _lookup(text)
    if answers is None:
        return _originals["sent_tokenize"](text)
    return list(answers.sentences) if answers is not _NOTED else [text]


def _words(text: str) -> list[str]:
    answers = _lookup(text)
    if answers is None:
        return _originals["word_tokenize"](text)
    return [word for word, _ in answers.tags] if answers is not _NOTED else [text]


def _tags(text: str) -> list[tuple[str, str]]:
    answers = _lookup(text)
    if answers is None:
        return _originals["pos_tag"](text)
    return list(answers.tags) if answers is not _NOTED else [(text, "")]
