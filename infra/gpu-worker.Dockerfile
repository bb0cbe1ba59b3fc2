# A Prefect worker for the `ragkeeper-gpu` work pool: runs the `train-style-model` deployment (TRL + PEFT
# LoRA) on an NVIDIA GPU. torch's PyPI wheels bundle the CUDA libraries, so a slim Python image is enough;
# the host needs the NVIDIA driver and the NVIDIA container toolkit (`docker run --gpus all`).
# Not built or run by CI here (no Docker engine, no GPU): see README, "The self-hosted trainer".
#
#   docker build -f infra/gpu-worker.Dockerfile -t ragkeeper-gpu-worker .
#   docker run --gpus all -e PREFECT_API_URL=http://prefect:4200/api \
#     -e RAGKEEPER_S3__ENDPOINT_URL=... -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... \
#     ragkeeper-gpu-worker
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    GX_ANALYTICS_ENABLED=false

WORKDIR /opt/ragkeeper
RUN pip install --no-cache-dir "uv==0.13.9"
# The ML lock: the main lock's pins plus torch, transformers, TRL, PEFT, datasets, accelerate (hashed).
COPY requirements-ml.lock pyproject.toml README.md ./
RUN uv pip sync --system --require-hashes --compile-bytecode requirements-ml.lock
COPY src ./src
RUN uv pip install --system --no-deps . && python -m ragkeeper.adapters.spacy_model

# One process worker on the training pool; each flow run is a subprocess of it, on this machine's GPU.
CMD ["prefect", "worker", "start", "--pool", "ragkeeper-gpu", "--type", "process"]
