"""Object sources: local folders and S3."""
