"""Embedders: hashing (offline); OpenAI-compatible and local models come later."""
