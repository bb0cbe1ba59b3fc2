"""Fine-tuning backends."""
