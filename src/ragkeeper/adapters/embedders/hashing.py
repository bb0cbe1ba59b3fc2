"""Offline embedder: signed feature hashing of content words and their bigrams. No model, no network.

Texts that share words get similar vectors, which is enough for a demo and for tests that need
real, deterministic vectors; it is no substitute for a trained model in production.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    _WORD.findall(
        """a an and are as at be by can do does for from has have how i if in into is it its my no not of
        on or our so that the their then there these this to was we what when where which who why will
        with you your"""
    )
)
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """Crude suffix stripping, so that rotate/rotated/rotating share a feature."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def features(text: str) -> list[str]:
    """The hashed features of a text: stemmed content words, then bigrams of consecutive ones."""
    words = [_stem(w) for w in (w.lower() for w in _WORD.findall(text)) if w not in _STOPWORDS]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


class HashingEmbedder:
    """Maps each text to a fixed-size, L2-normalised vector of hashed token counts."""

    def __init__(self, dimensions: int = 384) -> None:
        self._dimensions = dimensions

    @property
    def model_id(self) -> str:
        """`hashing-v2-<dimensions>`."""
        return f"hashing-v2-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        """Vector length."""
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimensions
        for feature in features(text):
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[bucket] += sign
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            return vector
        return [v / norm for v in vector]
