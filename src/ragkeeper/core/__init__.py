"""Pure logic: no I/O, no Prefect, no SDKs."""
