"""Adapters: one module per external system. Heavy SDK imports stay inside them."""
