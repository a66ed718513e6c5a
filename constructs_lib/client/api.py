"""The summarizer's Python API: submit documents, follow their jobs, read summaries, retry failures.

boto3 only (never the CDK): this is what the ``summarizer`` command and the pipeline's smoke test
use. Everything the client needs it finds in the stack's outputs
(``SummarizerClient.for_environment("dev")`` reads stack ``PegasusSummarizer-dev``).

A job id is computed from the uploaded object exactly as the dispatcher computes it (bucket, key
and version id or ETag), so the client follows a submission's jobs from the moment they are
uploaded, before the dispatcher has recorded them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data_path.runtime import jobs
from .errors import AwsError, NotFound, StackError, UsageError, WaitTimeout

STACK_PREFIX = "PegasusSummarizer-"
OUTPUT_NAMES = {
    "endpoint_name": "EndpointName",
    "data_bucket": "DataBucketName",
    "input_prefix": "InputPrefix",
    "request_prefix": "RequestPrefix",
    "direct_request_prefix": "DirectRequestPrefix",
    "output_location": "OutputLocation",
    "failure_location": "FailureLocation",
    "jobs_table": "JobsTableName",
    "dispatch_queue_url": "DispatchQueueUrl",
    "athena_workgroup": "AthenaWorkGroup",
    "glue_database": "GlueDatabase",
    "glue_table": "GlueTable",
    "success_topic_arn": "SuccessTopicArn",
    "error_topic_arn": "ErrorTopicArn",
}
CONTENT_EXTENSIONS = {
    "application/json": ".json",
    "application/jsonlines": ".jsonl",
    "application/x-jsonlines": ".jsonl",
    "text/plain": ".txt",
}


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore's exceptions into one clear AwsError naming what was being done."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except NoCredentialsError:
        raise AwsError(
            f"no AWS credentials found while trying to {action}: configure them (aws configure, "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile"
        ) from None
    except NoRegionError:
        raise AwsError(
            f"no AWS region configured while trying to {action}: pass --region or set AWS_REGION"
        ) from None
    except ProfileNotFound as error:
        raise AwsError(f"{error}: check --profile or AWS_PROFILE") from None
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsError(
            f"AWS refused to {action}: {details.get('Code', 'Error')}: "
            f"{details.get('Message', str(error))}"
        ) from None
    except BotoCoreError as error:
        raise AwsError(f"could not {action}: {error}") from None


@dataclass(frozen=True)
class StackOutputs:
    """The stack outputs the client reads (see the data path contract)."""

    stack_name: str
    endpoint_name: str
    data_bucket: str
    input_prefix: str
    request_prefix: str
    output_location: str
    failure_location: str
    jobs_table: str
    dispatch_queue_url: str
    athena_workgroup: str = ""
    glue_database: str = ""
    glue_table: str = ""
    success_topic_arn: str = ""
    error_topic_arn: str = ""
    # Stacks from before it had this output: the contract's requests/direct/.
    direct_request_prefix: str = ""

    # What the client cannot work without; the rest are for people and queries.
    REQUIRED = (
        "endpoint_name",
        "data_bucket",
        "input_prefix",
        "request_prefix",
        "output_location",
        "failure_location",
        "jobs_table",
        "dispatch_queue_url",
    )

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: Mapping[str, str]) -> StackOutputs:
        """Build from a ``{OutputKey: OutputValue}`` map, naming every missing output."""
        missing = [
            OUTPUT_NAMES[name] for name in cls.REQUIRED if not outputs.get(OUTPUT_NAMES[name])
        ]
        if missing:
            raise StackError(
                f"stack {stack_name} lacks the output(s) {', '.join(missing)}: is the data path "
                "deployed (data_path.enabled) and the stack up to date?"
            )
        values = {name: outputs.get(key, "") for name, key in OUTPUT_NAMES.items()}
        return cls(stack_name=stack_name, **values)


@dataclass(frozen=True)
class Job:
    """One document's job as the jobs table holds it (``record`` has every attribute)."""

    record: Mapping[str, Any]

    @property
    def job_id(self) -> str:
        return str(self.record.get(jobs.JOB_ID, ""))

    @property
    def status(self) -> str:
        return str(self.record.get(jobs.STATUS, jobs.STATUS_QUEUED))

    @property
    def source_key(self) -> str:
        return str(self.record.get(jobs.SOURCE_KEY, ""))

    @property
    def failure_reason(self) -> str:
        return str(self.record.get(jobs.FAILURE_REASON, ""))

    @property
    def done(self) -> bool:
        return self.status in jobs.TERMINAL_STATUSES


@dataclass(frozen=True)
class Submission:
    """What ``submit_*`` uploaded: the submission id and each document's key and job id."""

    submission_id: str
    documents: Mapping[str, str]  # S3 key -> job id

    @property
    def job_ids(self) -> list[str]:
        return list(self.documents.values())


@dataclass
class Counts:
    """How many jobs are waiting (queued or not yet recorded), succeeded and failed."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0

    @property
    def waiting(self) -> int:
        return self.total - self.succeeded - self.failed

    @property
    def done(self) -> bool:
        return self.waiting == 0

    def __str__(self) -> str:
        return (
            f"{self.succeeded} succeeded, {self.failed} failed, {self.waiting} waiting "
            f"(of {self.total})"
        )


@dataclass(frozen=True)
class DirectInvocation:
    """A request sent straight to the endpoint (``invoke_direct``); its job id is its id."""

    inference_id: str
    input_location: str
    output_location: str
    failure_location: str


@dataclass
class _Upload:
    path: Path
    relative: str
    size: int


@dataclass
class SummarizerClient:
    """Submit documents to one deployed environment and follow their jobs."""

    outputs: StackOutputs
    session: Any
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    sleep: Callable[[float], Any] = time.sleep
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def for_environment(
        cls,
        environment: str | None = None,
        *,
        stack_name: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        session: Any = None,
    ) -> SummarizerClient:
        """Read the outputs of stack ``PegasusSummarizer-<environment>`` (or ``stack_name``)."""
        if not stack_name:
            if not environment:
                raise UsageError("give an environment (--env NAME) or a stack name (--stack-name)")
            stack_name = f"{STACK_PREFIX}{environment}"
        with aws_errors("open an AWS session"):
            if session is None:
                import boto3

                session = boto3.Session(profile_name=profile, region_name=region)
        from botocore.exceptions import ClientError

        with aws_errors(f"describe stack {stack_name}"):
            try:
                stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)
            except ClientError as error:
                message = str(error.response.get("Error", {}).get("Message", ""))
                if "does not exist" not in message:
                    raise
                raise StackError(
                    f"stack {stack_name} does not exist in region {session.region_name}: "
                    "check --env/--stack-name and --region"
                ) from None
        outputs = {
            item["OutputKey"]: item["OutputValue"]
            for item in stacks["Stacks"][0].get("Outputs", [])
        }
        return cls(StackOutputs.from_outputs(stack_name, outputs), session)

    # ---------------------------------------------------------------- clients

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self.session.client(name)
        return self._clients[name]

    # ---------------------------------------------------------------- submitting

    def new_submission_id(self) -> str:
        return jobs.new_submission_id(self.clock(), secrets.token_hex(3))

    def _key(self, submission_id: str, relative: str) -> str:
        return f"{self.outputs.input_prefix}{submission_id}/{relative}"

    def _put(self, key: str, body: bytes) -> str:
        """Upload one document and return its job id (computed as the dispatcher does)."""
        with aws_errors(f"upload s3://{self.outputs.data_bucket}/{key}"):
            response = self._client("s3").put_object(
                Bucket=self.outputs.data_bucket, Key=key, Body=body
            )
        version = response.get("VersionId") or response["ETag"].strip('"')
        return jobs.job_id(self.outputs.data_bucket, key, version)

    def plan_uploads(self, paths: Sequence[str | os.PathLike[str]]) -> list[_Upload]:
        """The files under ``paths`` with their relative names (see ``plan_uploads``)."""
        return plan_uploads(paths)

    def submit_paths(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        submission_id: str | None = None,
        progress: Callable[[int, int], Any] | None = None,
    ) -> Submission:
        """Upload files and folders to ``inputs/<submission>/``; ``progress(files, bytes)``."""
        uploads = self.plan_uploads(paths)
        submission = self._submission_id(submission_id)
        documents: dict[str, str] = {}
        for upload in uploads:
            try:
                body = upload.path.read_bytes()
            except OSError as error:
                raise UsageError(f"cannot read {upload.path}: {error.strerror}") from None
            key = self._key(submission, upload.relative)
            documents[key] = self._put(key, body)
            if progress is not None:
                progress(1, upload.size)
        return Submission(submission, documents)

    def submit_texts(
        self, texts: Mapping[str, str] | Sequence[str], *, submission_id: str | None = None
    ) -> Submission:
        """Upload texts as documents: a mapping names them, a list numbers them ``0001.txt``."""
        named = (
            dict(texts)
            if isinstance(texts, Mapping)
            else {f"{index:04d}.txt": text for index, text in enumerate(texts, start=1)}
        )
        if not named:
            raise UsageError("give at least one text to submit")
        submission = self._submission_id(submission_id)
        documents = {}
        for name, text in named.items():
            key = self._key(submission, name)
            documents[key] = self._put(key, text.encode("utf-8"))
        return Submission(submission, documents)

    def _submission_id(self, submission_id: str | None) -> str:
        if submission_id is None:
            return self.new_submission_id()
        return check_submission_id(submission_id)

    # ---------------------------------------------------------------- following jobs

    def _get_jobs(self, job_ids: Sequence[str]) -> dict[str, Job]:
        found: dict[str, Job] = {}
        table = self.outputs.jobs_table
        unique = list(dict.fromkeys(job_ids))
        with aws_errors(f"read the jobs table {table}"):
            for start in range(0, len(unique), 100):
                keys = [{jobs.JOB_ID: {"S": job}} for job in unique[start : start + 100]]
                request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
                while request:
                    response = self._client("dynamodb").batch_get_item(RequestItems=request)
                    for item in response.get("Responses", {}).get(table, []):
                        job = Job(jobs.from_item(item))
                        found[job.job_id] = job
                    request = response.get("UnprocessedKeys") or {}
        return found

    def _query(self, index: str, key: str, value: str, forward: bool = True) -> list[Job]:
        found: list[Job] = []
        table = self.outputs.jobs_table
        arguments: dict[str, Any] = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": {"S": value}},
            "ScanIndexForward": forward,
        }
        with aws_errors(f"query the jobs table {table}"):
            while True:
                response = self._client("dynamodb").query(**arguments)
                found.extend(Job(jobs.from_item(item)) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found
                arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def jobs(self, target: str | Submission) -> list[Job]:
        """The jobs of a job id, a submission id or a ``Submission`` (not-yet-recorded ones
        of a ``Submission`` appear as ``queued``)."""
        if isinstance(target, Submission):
            found = self._get_jobs(target.job_ids)
            return [
                found.get(job)
                or Job({jobs.JOB_ID: job, jobs.STATUS: jobs.STATUS_QUEUED, jobs.SOURCE_KEY: key})
                for key, job in target.documents.items()
            ]
        kind = target_kind(target)
        if kind == "submission":
            found_jobs = self._query(jobs.BY_SUBMISSION_INDEX, jobs.SUBMISSION, target)
            if not found_jobs:
                raise NotFound(f"no jobs recorded for submission {target} (yet?)")
            return found_jobs
        job = self._get_jobs([target]).get(target)
        if job is None:
            raise NotFound(f"no job {target}: check the id (the dispatcher may not have run yet)")
        return [job]

    def counts(self, target: str | Submission) -> Counts:
        listed = self.jobs(target)
        return Counts(
            total=len(listed),
            succeeded=sum(job.status == jobs.STATUS_SUCCEEDED for job in listed),
            failed=sum(job.status == jobs.STATUS_FAILED for job in listed),
        )

    def wait(
        self,
        target: str | Submission,
        *,
        timeout: float | None = None,
        poll_seconds: float = 5.0,
        on_update: Callable[[Counts], Any] | None = None,
    ) -> Counts:
        """Poll until every job is done; ``on_update`` sees each change. Raises WaitTimeout."""
        started = time.monotonic()
        last: tuple[int, int, int] | None = None
        while True:
            try:
                counts = self.counts(target)
            except NotFound:
                counts = Counts()
            snapshot = (counts.total, counts.succeeded, counts.failed)
            if on_update is not None and snapshot != last:
                on_update(counts)
            last = snapshot
            if counts.total and counts.done:
                return counts
            if timeout is not None and time.monotonic() - started >= timeout:
                raise WaitTimeout(f"timed out after {timeout:g} s: {counts}")
            self.sleep(poll_seconds)

    # ---------------------------------------------------------------- results

    def summaries(self, target: str | Submission) -> list[tuple[Job, str]]:
        """(job, summary) of every succeeded job of ``target``, read from the endpoint's output."""
        bodies: dict[str, bytes] = {}
        result = []
        for job in self.jobs(target):
            if job.status != jobs.STATUS_SUCCEEDED:
                continue
            location = str(job.record.get(jobs.OUTPUT_LOCATION, ""))
            if location not in bodies:
                bucket, key = jobs.parse_s3_uri(location)
                with aws_errors(f"read {location}"):
                    bodies[location] = (
                        self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
                    )
            result.append((job, summary_of(bodies[location], job)))
        return result

    def failures(self, submission: str | None = None) -> list[Job]:
        """Failed jobs of a submission, or every failed job (newest first) without one."""
        if submission is None:
            return self._query(jobs.BY_STATUS_INDEX, jobs.STATUS, jobs.STATUS_FAILED, False)
        return [job for job in self.jobs(submission) if job.status == jobs.STATUS_FAILED]

    def retry(self, target: str | Submission) -> list[str]:
        """Re-dispatch the failed and overdue jobs of ``target``, each alone; returns their ids.

        Overdue: sent to the endpoint, still ``queued`` after SageMaker can no longer answer
        (the record's ``overdue_at``), so its notification was lost; a late one is ignored.

        Only documents uploaded under the input prefix can be sent again: the dispatcher reads
        nothing else. A direct request, or a job whose record was re-created without its
        document, is refused with a usage error that says how to send it again.
        """
        now = self.clock()
        failed_jobs = [
            job
            for job in self.jobs(target)
            if job.status == jobs.STATUS_FAILED or jobs.is_overdue(job.record, now)
        ]
        refused = [self._not_retryable(job) for job in failed_jobs]
        if any(refused):
            raise UsageError("; ".join(reason for reason in refused if reason))
        failed = [job.job_id for job in failed_jobs]
        with aws_errors("send re-dispatch messages"):
            for message in jobs.dispatch_messages(failed, single=True):
                self._client("sqs").send_message(
                    QueueUrl=self.outputs.dispatch_queue_url, MessageBody=message
                )
        return failed

    def _not_retryable(self, job: Job) -> str | None:
        """Why the dispatcher cannot send ``job`` again, or None when it can."""
        bucket = job.record.get(jobs.SOURCE_BUCKET)
        key = job.source_key
        if bucket == self.outputs.data_bucket and key.startswith(self.outputs.input_prefix):
            return None
        if not key:
            return (
                f"job {job.job_id} cannot be retried: its record does not name its document "
                "(it was re-created from its request); submit the document again"
            )
        return (
            f"job {job.job_id} is a direct request (its input is s3://{bucket}/{key}), not a "
            f"document uploaded under {self.outputs.input_prefix}: the dispatcher reads only "
            "that prefix, so it cannot retry it; send the request again with invoke_direct "
            "(or InvokeEndpointAsync)"
        )

    def invoke_direct(
        self, body: bytes | str, content_type: str, *, inference_id: str | None = None
    ) -> DirectInvocation:
        """Write ``body`` under ``requests/direct/`` and call InvokeEndpointAsync directly.

        The recorder records such a request as a job whose id is the inference id (the rest of
        ``requests/`` is the dispatcher's, and a client may not write there).
        """
        media = content_type.split(";")[0].strip().lower()
        extension = CONTENT_EXTENSIONS.get(media, ".bin")
        inference = inference_id or uuid.uuid4().hex
        prefix = self.outputs.direct_request_prefix or f"{self.outputs.request_prefix}direct/"
        key = f"{prefix}{inference}{extension}"
        data = body.encode("utf-8") if isinstance(body, str) else body
        location = jobs.s3_uri(self.outputs.data_bucket, key)
        with aws_errors(f"upload {location}"):
            self._client("s3").put_object(
                Bucket=self.outputs.data_bucket, Key=key, Body=data, ContentType=content_type
            )
        with aws_errors(f"invoke endpoint {self.outputs.endpoint_name}"):
            response = self._client("sagemaker-runtime").invoke_endpoint_async(
                EndpointName=self.outputs.endpoint_name,
                InputLocation=location,
                ContentType=content_type,
                InferenceId=inference,
            )
        return DirectInvocation(
            inference_id=inference,
            input_location=location,
            output_location=str(response.get("OutputLocation", "")),
            failure_location=str(response.get("FailureLocation", "")),
        )


def plan_uploads(paths: Sequence[str | os.PathLike[str]]) -> list[_Upload]:
    """The files under ``paths`` with their relative names; bad paths are usage errors.

    Local only (no AWS call), so the command line checks its arguments before it looks for
    credentials or the stack.
    """
    if not paths:
        raise UsageError("give at least one file or folder to submit")
    uploads: list[_Upload] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            uploads.append(_Upload(path, path.name, path.stat().st_size))
        elif path.is_dir():
            found = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            if not found:
                raise UsageError(f"folder {raw} has no files to submit")
            uploads.extend(
                _Upload(p, p.relative_to(path).as_posix(), p.stat().st_size) for p in found
            )
        elif path.exists():
            raise UsageError(f"{raw} is neither a file nor a folder")
        else:
            raise UsageError(f"no such file or folder: {raw}")
    seen: dict[str, Path] = {}
    for upload in uploads:
        if upload.relative in seen:
            raise UsageError(
                f"{seen[upload.relative]} and {upload.path} would both be uploaded as "
                f"{upload.relative}: submit them separately"
            )
        seen[upload.relative] = upload.path
    return uploads


def check_submission_id(submission_id: str) -> str:
    """``submission_id`` if it has the shape of one; a usage error otherwise."""
    if not jobs.SUBMISSION_ID_PATTERN.match(submission_id):
        raise UsageError(
            f"submission id {submission_id!r} must look like 20261201T183000Z-1a2b3c "
            "(UTC time and 6 hex characters)"
        )
    return submission_id


def target_kind(target: str) -> str:
    """``submission`` or ``job``, from the id's shape; anything else is a usage error."""
    if jobs.SUBMISSION_ID_PATTERN.match(target):
        return "submission"
    if jobs.JOB_ID_PATTERN.match(target):
        return "job"
    raise UsageError(
        f"{target!r} is neither a job id (32 hex characters) nor a submission id "
        "(like 20261201T183000Z-1a2b3c)"
    )


def summary_of(body: bytes, job: Job) -> str:
    """The summary of ``job`` in an endpoint output: its line, or every summary of a direct one."""
    text = body.decode("utf-8", errors="replace")
    line = job.record.get(jobs.OUTPUT_LINE)
    if isinstance(line, int) and line > 0:
        lines = [item for item in text.splitlines() if item.strip()]
        if line <= len(lines):
            return str(json.loads(lines[line - 1]).get("summary_text", ""))
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = [json.loads(item) for item in text.splitlines() if item.strip()]
    items = parsed if isinstance(parsed, list) else [parsed]
    return "\n".join(str(item.get("summary_text", "")) for item in items if isinstance(item, dict))
