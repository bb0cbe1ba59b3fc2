"""Files and fine-tuning endpoints of the OpenAI-compatible test server. A stand-in, NOT the OpenAI API.

Registered into `OpenAIStandIn.routes` (tests/support/openai_server.py):

- `POST /v1/files` (multipart: `file`, `purpose`), `GET /v1/files`, `GET /v1/files/{id}`;
- `POST /v1/fine_tuning/jobs`, `GET /v1/fine_tuning/jobs` (`metadata[k]=v` filter, `after`/`limit`),
  `GET /v1/fine_tuning/jobs/{id}`, `POST /v1/fine_tuning/jobs/{id}/cancel`,
  `GET /v1/fine_tuning/jobs/{id}/events` (newest first, `after`/`limit`).

It follows the API's schemas and the validation the API documents (in `openai_finetuning_rules.py`):
an upload with purpose `fine-tune` must be JSONL whose every line is a JSON object with a `messages`
list; a job needs a fine-tunable model, an uploaded `fine-tune` file, valid hyperparameters, a suffix
of at most 64 characters and at most 16 metadata pairs. A job then walks `validating_files -> queued
-> running -> succeeded` on a clock (`timing`, `clock`, or `use_manual_clock`), checking the training
file's examples while validating (as the API does) and failing if they are malformed or fewer than 10.
Training itself is simulated: the loss figures are made up and the "fine-tuned model" is only a name.
Failures on command: `fail_next_job(reason)`. What was done: `stats`.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support import openai_finetuning_rules as rules
from tests.support.openai_server import ApiError, Reply, Request

FINE_TUNABLE_MODELS = (
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo-0125",
)
ORGANIZATION = "org-ragkeeper-stand-in"
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
DEFAULT_LIST_LIMIT = 20
JOB_LIST_MAX = 100


@dataclass(frozen=True)
class JobTiming:
    """Seconds a job spends in each state (on the stand-in's clock), and the training steps it reports."""

    validating: float = 0.2
    queued: float = 0.2
    running: float = 0.6
    steps: int = 4


FAST = JobTiming(validating=0.05, queued=0.05, running=0.3, steps=3)  # for end-to-end runs


@dataclass
class FinetuneStats:
    """What the fine-tuning endpoints did; a test reads these."""

    files_uploaded: int = 0
    uploads_rejected: int = 0
    jobs_created: int = 0
    jobs_rejected: int = 0
    jobs_cancelled: int = 0


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class _Failure:
    reason: str
    code: str
    at: str  # "validating_files" or "running"


@dataclass
class _Job:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    hyperparameters: dict[str, Any]
    suffix: str | None
    metadata: dict[str, str] | None
    seed: int
    started: float  # on the stand-in's clock
    created_at: int  # unix seconds
    timing: JobTiming
    planned_failure: _Failure | None
    status: str = "validating_files"
    events: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    trained_tokens: int | None = None
    result_files: list[str] = field(default_factory=list)
    steps_reported: int = 0


class ManualClock:
    """A clock that moves only when a test sets `now`, so a job changes state exactly when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FineTuningStandIn:
    """State and handlers of the files and fine-tuning endpoints (thread-safe)."""

    def __init__(self, encoding: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._encoding = encoding
        self._lock = threading.RLock()
        self._default_clock = clock
        self.clock = clock
        self.timing = JobTiming()
        self.reset()

    def use_manual_clock(self, timing: JobTiming) -> ManualClock:
        """Jobs created from now on follow `timing` on a clock the caller moves (until `reset`)."""
        manual = ManualClock()
        with self._lock:
            self.clock = manual
            self.timing = timing
        return manual

    def reset(self) -> None:
        """Forget every file, job, planned failure and counter; every setting back to its default."""
        with self._lock:
            self.clock = self._default_clock
            self.files: dict[str, _File] = {}
            self.jobs: dict[str, _Job] = {}
            self.stats = FinetuneStats()
            self.timing = JobTiming()
            self.drops_metadata = False  # like a provider that accepts job metadata but keeps none
            self._failures: list[_Failure] = []
            self._sequence = itertools.count(1)

    def fail_next_job(self, reason: str, code: str = "training_failed", at: str = "running") -> None:
        """The next job created fails with `reason` when it reaches `at` (`validating_files` or `running`)."""
        if at not in ("validating_files", "running"):
            raise ValueError(f"a job can be made to fail while validating_files or running, not {at}")
        with self._lock:
            self._failures.append(_Failure(reason, code, at))

    def job_statuses(self) -> dict[str, str]:
        """Every job's current status, by id (advancing the clock's effects first)."""
        with self._lock:
            for job in self.jobs.values():
                self._advance(job)
            return {job.id: job.status for job in self.jobs.values()}

    def routes(self) -> dict[tuple[str, str], Callable[[Request], Reply]]:
        """The route table entries to register into the server."""
        return {
            ("POST", "/v1/files"): self.create_file,
            ("GET", "/v1/files"): self.list_files,
            ("GET", "/v1/files/{file_id}"): self.retrieve_file,
            ("POST", "/v1/fine_tuning/jobs"): self.create_job,
            ("GET", "/v1/fine_tuning/jobs"): self.list_jobs,
            ("GET", "/v1/fine_tuning/jobs/{job_id}"): self.retrieve_job,
            ("POST", "/v1/fine_tuning/jobs/{job_id}/cancel"): self.cancel_job,
            ("GET", "/v1/fine_tuning/jobs/{job_id}/events"): self.list_events,
        }

    # --- files ------------------------------------------------------------------------------------

    def create_file(self, request: Request) -> Reply:
        """`POST /v1/files`: multipart upload; fine-tune files are checked like the API checks them."""
        fields, files = _multipart(request)
        purpose = fields.get("purpose")
        if purpose is None:
            raise ApiError(400, "'purpose' is a required property", param="purpose")
        if purpose not in FILE_PURPOSES:
            raise ApiError(
                400, f"'{purpose}' is not one of {list(FILE_PURPOSES)} - 'purpose'", param="purpose"
            )
        if "file" not in files:
            raise ApiError(400, "'file' is a required property", param="file")
        filename, content = files["file"]
        try:
            if purpose == "fine-tune":
                rules.check_fine_tune_upload(filename, content)
        except ApiError:
            with self._lock:
                self.stats.uploads_rejected += 1
            raise
        with self._lock:
            stored = _File(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, content, int(time.time()))
            self.files[stored.id] = stored
            self.stats.files_uploaded += 1
        return Reply(200, stored.body())

    def retrieve_file(self, request: Request) -> Reply:
        """`GET /v1/files/{file_id}`."""
        with self._lock:
            stored = self.files.get(request.params["file_id"])
            if stored is None:
                raise ApiError(404, f"No such File object: {request.params['file_id']}", param="id")
            return Reply(200, stored.body())

    def list_files(self, request: Request) -> Reply:
        """`GET /v1/files`: `purpose` filter, `order` (desc by default), `after`/`limit` pagination."""
        purpose = request.arg("purpose")
        order = request.arg("order") or "desc"
        limit = _limit(request.arg("limit"), default=10_000, maximum=10_000)
        with self._lock:
            items = [f for f in self.files.values() if purpose is None or f.purpose == purpose]
        if order == "desc":
            items.reverse()
        page, has_more = _page(items, request.arg("after"), limit, lambda f: f.id)
        body = [f.body() for f in page]
        return Reply(
            200,
            {
                "object": "list",
                "data": body,
                "has_more": has_more,
                "first_id": body[0]["id"] if body else None,
                "last_id": body[-1]["id"] if body else None,
            },
        )

    # --- fine-tuning jobs -------------------------------------------------------------------------

    def create_job(self, request: Request) -> Reply:
        """`POST /v1/fine_tuning/jobs`, validated like the API validates it."""
        try:
            job = self._new_job(request.json())
        except ApiError:
            with self._lock:
                self.stats.jobs_rejected += 1
            raise
        return Reply(200, self._job_body(job))

    def _new_job(self, body: dict[str, Any]) -> _Job:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "'model' is a required property", param="model")
        if model not in FINE_TUNABLE_MODELS and not model.startswith("ft:"):
            raise ApiError(
                400,
                f"Model {model} is not available for fine-tuning or does not exist.",
                param="model",
                code="model_not_available",
            )
        training_file = self._fine_tune_file(body.get("training_file"), "training_file", required=True)
        assert training_file is not None  # required=True raised otherwise
        validation_file = self._fine_tune_file(body.get("validation_file"), "validation_file", required=False)
        hyperparameters = rules.hyperparameters(body)
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or not 1 <= len(suffix) <= 64):
            raise ApiError(400, "suffix must be a string of 1 to 64 characters", param="suffix")
        metadata = rules.metadata(body.get("metadata"))
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ApiError(400, f"{seed!r} is not of type 'integer' - 'seed'", param="seed")
        with self._lock:
            job = _Job(
                id=f"ftjob-{uuid.uuid4().hex[:24]}",
                model=model,
                training_file=training_file,
                validation_file=validation_file,
                hyperparameters=hyperparameters,
                suffix=suffix,
                metadata=None if self.drops_metadata else metadata,
                seed=seed if isinstance(seed, int) else next(self._sequence) * 7919,
                started=self.clock(),
                created_at=int(time.time()),
                timing=self.timing,
                planned_failure=self._failures.pop(0) if self._failures else None,
            )
            self._event(job, 0, f"Validating training file: {training_file}")
            self.jobs[job.id] = job
            self.stats.jobs_created += 1
            return job

    def _fine_tune_file(self, file_id: object, param: str, required: bool) -> str | None:
        if file_id is None and not required:
            return None
        if not isinstance(file_id, str) or not file_id:
            raise ApiError(400, f"'{param}' is a required property", param=param)
        with self._lock:
            stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(400, f"invalid {param}: {file_id}", param=param, code="invalid_file")
        if stored.purpose != "fine-tune":
            raise ApiError(
                400,
                f"File {file_id} has purpose '{stored.purpose}'; fine-tuning needs purpose 'fine-tune'",
                param=param,
                code="invalid_file_purpose",
            )
        return file_id

    def retrieve_job(self, request: Request) -> Reply:
        """`GET /v1/fine_tuning/jobs/{job_id}`."""
        with self._lock:
            job = self._job(request.params["job_id"])
            return Reply(200, self._job_body(job))

    def list_jobs(self, request: Request) -> Reply:
        """`GET /v1/fine_tuning/jobs`: newest first, `metadata[k]=v` filters (all must hold), pages."""
        wanted = {
            name[len("metadata[") : -1]: values[0]
            for name, values in request.query.items()
            if name.startswith("metadata[") and name.endswith("]")
        }
        limit = _limit(request.arg("limit"), default=DEFAULT_LIST_LIMIT, maximum=JOB_LIST_MAX)
        with self._lock:
            jobs = [
                job
                for job in reversed(self.jobs.values())
                if all((job.metadata or {}).get(k) == v for k, v in wanted.items())
            ]
            page, has_more = _page(jobs, request.arg("after"), limit, lambda j: j.id)
            return Reply(
                200, {"object": "list", "data": [self._job_body(j) for j in page], "has_more": has_more}
            )

    def cancel_job(self, request: Request) -> Reply:
        """`POST /v1/fine_tuning/jobs/{job_id}/cancel`: only a job that has not ended can be cancelled."""
        with self._lock:
            job = self._job(request.params["job_id"])
            self._advance(job)
            if job.status in ("succeeded", "failed", "cancelled"):
                raise ApiError(400, f"Job {job.id} has already {job.status} and cannot be cancelled.")
            job.status = "cancelled"
            job.finished_at = int(time.time())
            self._event(job, self.clock() - job.started, "Job cancelled by the user", level="warn")
            self.stats.jobs_cancelled += 1
            return Reply(200, self._job_body(job))

    def list_events(self, request: Request) -> Reply:
        """`GET /v1/fine_tuning/jobs/{job_id}/events`: newest first, `after` (an event id) / `limit`."""
        limit = _limit(request.arg("limit"), default=DEFAULT_LIST_LIMIT, maximum=JOB_LIST_MAX)
        with self._lock:
            job = self._job(request.params["job_id"])
            self._advance(job)
            events = list(reversed(job.events))
        page, has_more = _page(events, request.arg("after"), limit, lambda e: e["id"])
        return Reply(200, {"object": "list", "data": page, "has_more": has_more})

    # --- the job's life ---------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, f"Could not find fine-tune: {job_id}", param="fine_tune_id", code="fine_tune_not_found"
            )
        return job

    def _job_body(self, job: _Job) -> dict[str, Any]:
        self._advance(job)
        return {
            "id": job.id,
            "object": "fine_tuning.job",
            "created_at": job.created_at,
            "error": job.error,
            "fine_tuned_model": job.fine_tuned_model,
            "finished_at": job.finished_at,
            "hyperparameters": job.hyperparameters,
            "model": job.model,
            "organization_id": ORGANIZATION,
            "result_files": job.result_files,
            "seed": job.seed,
            "status": job.status,
            "trained_tokens": job.trained_tokens,
            "training_file": job.training_file,
            "validation_file": job.validation_file,
            "estimated_finish": None,
            "integrations": [],
            "metadata": job.metadata,
            "method": {"type": "supervised", "supervised": {"hyperparameters": job.hyperparameters}},
            "user_provided_suffix": job.suffix,
        }

    def _advance(self, job: _Job) -> None:
        """Move the job along its states according to the time passed on the clock."""
        if job.status in ("succeeded", "failed", "cancelled"):
            return
        t = job.timing
        elapsed = self.clock() - job.started
        validated, queued_until = t.validating, t.validating + t.queued
        if job.status == "validating_files" and elapsed >= validated:
            failure = self._validation_failure(job)
            if failure is not None:
                self._fail(job, validated, failure)
                return
            job.status = "queued"
            self._event(job, validated, "Files validated, moving job to queued state")
        if job.status == "queued" and elapsed >= queued_until:
            job.status = "running"
            self._event(job, queued_until, "Fine-tuning job started")
        if job.status == "running":
            self._report_steps(job, elapsed - queued_until)

    def _report_steps(self, job: _Job, running_for: float) -> None:
        t = job.timing
        failure = job.planned_failure if job.planned_failure and job.planned_failure.at == "running" else None
        last_step = t.steps // 2 if failure else t.steps
        due = min(last_step, int(running_for / t.running * t.steps) if t.running > 0 else t.steps)
        start = t.validating + t.queued
        while job.steps_reported < due:
            job.steps_reported += 1
            step = job.steps_reported
            loss = round(2.0 / (1 + step), 4)
            data: dict[str, Any] = {
                "step": step,
                "total_steps": t.steps,
                "train_loss": loss,
                "train_mean_token_accuracy": round(1 - loss / 3, 4),
            }
            if job.validation_file:
                data |= {
                    "valid_loss": round(loss * 1.1, 4),
                    "valid_mean_token_accuracy": round(1 - loss / 2.5, 4),
                }
            self._event(
                job,
                start + t.running * step / t.steps,
                f"Step {step}/{t.steps}: training loss={loss}",
                type_="metrics",
                data=data,
            )
        if failure is not None and job.steps_reported >= last_step:
            self._fail(job, start + t.running / 2, failure)
        elif running_for >= t.running:
            self._succeed(job, start + t.running)

    def _succeed(self, job: _Job, at: float) -> None:
        training = self.files[job.training_file].content
        examples = [line for line in training.splitlines() if line.strip()]
        epochs = job.hyperparameters.get("n_epochs")
        if not isinstance(epochs, int):
            epochs = 3 if len(examples) * 3 >= 100 else min(25, 100 // max(len(examples), 1))
            job.hyperparameters["n_epochs"] = epochs
        for name, auto in (("batch_size", 1), ("learning_rate_multiplier", 1.8)):
            if job.hyperparameters.get(name) in (None, "auto"):
                job.hyperparameters[name] = auto
        job.trained_tokens = len(self._encoding.encode_ordinary(training.decode("utf-8"))) * epochs
        suffix = job.suffix or ""
        job.fine_tuned_model = f"ft:{job.model}:{ORGANIZATION.removeprefix('org-')}:{suffix}:{job.id[-8:]}"
        results = _File(
            f"file-{uuid.uuid4().hex[:24]}",
            "step_metrics.csv",
            "fine-tune-results",
            b"step,train_loss\n"
            + b"".join(
                f"{e['data']['step']},{e['data']['train_loss']}\n".encode()
                for e in job.events
                if e.get("type") == "metrics"
            ),
            int(time.time()),
        )
        self.files[results.id] = results
        job.result_files = [results.id]
        job.status = "succeeded"
        job.finished_at = job.created_at + int(at)
        self._event(job, at, f"New fine-tuned model created: {job.fine_tuned_model}")
        self._event(job, at, "The job has successfully completed")

    def _fail(self, job: _Job, at: float, failure: _Failure) -> None:
        job.status = "failed"
        job.finished_at = job.created_at + int(at)
        param = "training_file" if failure.code == "invalid_training_file" else None
        job.error = {"code": failure.code, "message": failure.reason, "param": param}
        self._event(job, at, f"The job failed: {failure.reason}", level="error")

    def _validation_failure(self, job: _Job) -> _Failure | None:
        if job.planned_failure is not None and job.planned_failure.at == "validating_files":
            return job.planned_failure
        for param, file_id in (("training", job.training_file), ("validation", job.validation_file)):
            if file_id is None:
                continue
            problem = rules.example_problem(
                self.files[file_id].content, minimum=rules.MIN_EXAMPLES if param == "training" else 1
            )
            if problem is not None:
                return _Failure(
                    f"The {param} file is invalid: {problem}", f"invalid_{param}_file", "validating_files"
                )
        return None

    def _event(
        self,
        job: _Job,
        offset: float,
        message: str,
        level: str = "info",
        type_: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        job.events.append(
            {
                "id": f"ftevent-{hashlib.sha256(f'{job.id}:{len(job.events)}'.encode()).hexdigest()[:24]}",
                "object": "fine_tuning.job.event",
                "created_at": job.created_at + int(offset),
                "level": level,
                "message": message,
                "data": data or {},
                "type": type_,
            }
        )


# --- validation helpers ---------------------------------------------------------------------------


def _multipart(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, "Files must be uploaded as multipart/form-data.")
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid 'limit': {raw!r} is not an integer", param="limit") from None
    if not 1 <= value <= maximum:
        raise ApiError(400, f"Invalid 'limit': must be between 1 and {maximum}", param="limit")
    return value


def _page(
    items: list[Any], after: str | None, limit: int, id_of: Callable[[Any], str]
) -> tuple[list[Any], bool]:
    start = 0
    if after is not None:
        ids = [id_of(item) for item in items]
        if after not in ids:
            raise ApiError(400, f"Invalid 'after': {after} was not found", param="after")
        start = ids.index(after) + 1
    page = items[start : start + limit]
    return page, start + limit < len(items)
