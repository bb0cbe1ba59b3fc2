"""Model registry storage: a local JSON file or an S3 object."""
