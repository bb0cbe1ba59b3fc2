"""ragkeeper: keep a RAG index and a fine-tuned model fresh."""

__version__ = "0.1.0"
