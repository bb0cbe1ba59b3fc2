"""ragkeeper: keep a RAG index and a fine-tuned model fresh.

`ragkeeper.search(...)` searches the index (it is `ragkeeper.retrieval.search`, imported on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "search"]

if TYPE_CHECKING:
    from ragkeeper.retrieval import search


def __getattr__(name: str) -> Any:
    # Importing the package stays cheap (worker processes import it); `search` loads the read side.
    if name == "search":
        from ragkeeper.retrieval import search

        return search
    raise AttributeError(f"module 'ragkeeper' has no attribute {name!r}")
