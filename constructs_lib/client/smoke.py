"""Smoke test of a deployed environment: two real round trips through the async endpoint.

1. A short article, sent as ``application/json``: passes when its summary is in ``results/`` and
   the data path's recorder has recorded the success notification (the jobs-table record of its
   inference id is ``succeeded``; direct invocations are recorded with ``job_id`` = inference id).
2. A malformed request (invalid JSON as ``application/json``): passes when its error is in
   ``failures/`` and the error notification was recorded (the record is ``failed``).

Both requests are uploaded under ``requests/smoke/<run id>/`` and sent with InvokeEndpointAsync
directly. The test waits for both at once, with backoff, for ``timeout`` (25 minutes by default:
a wake-up from zero instances plus the model download takes 7 to 9 minutes, and more when the Hub
is slow). It fails fast when an outcome is the wrong one (a summary for the malformed request, an
error for the article) and with the missing halves listed when time runs out.

CLI: ``python -m constructs_lib.client.smoke --env dev`` reads the stack outputs of
``PegasusSummarizer-dev`` with DescribeStacks (a workstation; ``make smoke ENV=dev``);
``--outputs-from-environment`` reads them from ``SMOKE_*`` variables instead (the pipeline's
smoke step, whose variables come from the deployed stack's outputs). With ``--role-arn`` the
outputs are read with the caller's own credentials first and only the round trips run as the
assumed role, which may not call DescribeStacks. Exit status 0: passed; 1: failed (the reason
on stderr); 2: bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .smoke_outputs import OUTPUT_ENV

STACK_PREFIX = "PegasusSummarizer-"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
REQUIRED_OUTPUTS = ("EndpointName", "OutputLocation", "FailureLocation")
DEFAULT_REQUEST_PREFIX = "requests/"
DEFAULT_TIMEOUT_MINUTES = 25
MAX_TIMEOUT_MINUTES = 480  # the longest a CodeBuild build may run
FIRST_WAIT_SECONDS = 5.0
MAX_WAIT_SECONDS = 60.0
MAX_REQUEST_TTL_SECONDS = 21_600  # InvokeEndpointAsync's limit
ARTICLE = (
    "The city council approved a plan on Tuesday to turn the disused rail yard north of the "
    "river into a public park. The project, which will take three years, includes a playground, "
    "a community garden and a footbridge that links the park to the old town. Council members "
    "said the money comes from a regional fund for urban renewal and that construction would "
    "start in the spring, once the soil has been cleaned of old industrial waste."
)
MALFORMED = b'{"inputs": "this request is deliberately not valid JSON'


class SmokeFailure(Exception):
    """The smoke test did not pass; the message says which round trip and why."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """What the smoke test needs of a deployed environment (from its stack outputs)."""

    endpoint_name: str
    bucket: str
    request_prefix: str = DEFAULT_REQUEST_PREFIX
    jobs_table: str | None = None

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str], source: str) -> Target:
        """Build from stack outputs; ``source`` names where they came from, for the message."""
        missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
        if missing:
            raise SmokeFailure(f"{source}: missing {', '.join(missing)}")
        bucket = outputs.get("DataBucketName") or _bucket_of(outputs["OutputLocation"], source)
        prefix = outputs.get("RequestPrefix") or DEFAULT_REQUEST_PREFIX
        return cls(
            endpoint_name=outputs["EndpointName"],
            bucket=bucket,
            request_prefix=prefix if prefix.endswith("/") else f"{prefix}/",
            jobs_table=outputs.get("JobsTableName") or None,
        )


def _bucket_of(uri: str, source: str) -> str:
    match = re.match(r"^s3://([^/]+)/", uri)
    if not match:
        raise SmokeFailure(
            f"{source}: OutputLocation must look like 's3://bucket/prefix/' ({uri!r})"
        )
    return match.group(1)


def outputs_from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Stack outputs from the ``SMOKE_*`` variables that the pipeline's smoke step sets."""
    return {key: environ[var] for key, var in OUTPUT_ENV.items() if environ.get(var)}


def outputs_from_stack(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Stack outputs from DescribeStacks; a missing stack is a SmokeFailure, not a traceback."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise SmokeFailure(
                f"stack {stack_name!r} does not exist in this account and region: deploy it "
                "first, or pass --region"
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@dataclasses.dataclass
class RoundTrip:
    """One request in flight and what has been seen of it so far."""

    name: str
    expect: str  # "succeeded" or "failed"
    inference_id: str
    output_location: str
    failure_location: str
    object_seen: bool = False
    status: str | None = None

    def missing(self, check_record: bool) -> list[str]:
        where = self.output_location if self.expect == "succeeded" else self.failure_location
        found: list[str] = []
        if not self.object_seen:
            found.append(f"no object at {where}")
        if check_record and self.status != self.expect:
            found.append(
                f"jobs-table record {self.inference_id!r} is {self.status or 'absent'}, "
                f"not {self.expect!r}"
            )
        return found


@dataclasses.dataclass(frozen=True, kw_only=True)
class Clock:
    """Time as the smoke test sees it; tests inject a fake to make timeouts instant."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def run_id() -> str:
    """A fresh id like ``20261201T183000Z-1a2b3c`` (UTC time + 6 hex)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_smoke(
    session: Any,
    target: Target,
    *,
    timeout_seconds: float,
    check_notifications: bool = True,
    clock: Clock | None = None,
    run: str | None = None,
    log: Callable[[str], None] = print,
) -> list[RoundTrip]:
    """Send both requests and wait for both outcomes; raise SmokeFailure unless both arrive."""
    clock = clock or Clock()
    run = run or run_id()
    if check_notifications and not target.jobs_table:
        raise SmokeFailure(
            "no JobsTableName output: the smoke test proves notifications through the data "
            "path's jobs table (data_path.enabled); pass --no-notification-check to test the "
            "S3 round trips alone"
        )
    s3 = session.client("s3")
    runtime = session.client("sagemaker-runtime")
    started = clock.now()
    ttl = int(min(MAX_REQUEST_TTL_SECONDS, max(60, timeout_seconds)))
    trips = [
        _submit(
            s3,
            runtime,
            target,
            name="summary",
            expect="succeeded",
            key=f"{target.request_prefix}smoke/{run}/article.json",
            body=json.dumps({"inputs": ARTICLE}).encode("utf-8"),
            inference_id=f"smoke-{run}-summary",
            ttl=ttl,
        ),
        _submit(
            s3,
            runtime,
            target,
            name="malformed request",
            expect="failed",
            key=f"{target.request_prefix}smoke/{run}/malformed.json",
            body=MALFORMED,
            inference_id=f"smoke-{run}-malformed",
            ttl=ttl,
        ),
    ]
    for trip in trips:
        log(f"sent the {trip.name} as {trip.inference_id} (result: {_expected_uri(trip)})")
    dynamodb = session.client("dynamodb") if check_notifications else None
    wait = FIRST_WAIT_SECONDS
    while True:
        for trip in trips:
            _observe(s3, dynamodb, target, trip)
        elapsed = clock.now() - started
        pending = [t for t in trips if t.missing(check_notifications)]
        if not pending:
            log(f"both round trips completed in {elapsed:.0f} s")
            if not check_notifications:
                log("NOTE: notifications were not verified (--no-notification-check)")
            return trips
        remaining = timeout_seconds - elapsed
        if remaining <= 0:
            details = "; ".join(
                f"{t.name} ({t.inference_id}): {', '.join(t.missing(check_notifications))}"
                for t in pending
            )
            raise SmokeFailure(
                f"timed out after {timeout_seconds / 60:g} minutes waiting for {details}"
            )
        log(
            f"{elapsed:.0f} s: waiting for {', '.join(t.name for t in pending)}; "
            f"next look in {min(wait, remaining):.0f} s"
        )
        clock.sleep(min(wait, remaining))
        wait = min(MAX_WAIT_SECONDS, wait * 1.5)


def _submit(
    s3: Any,
    runtime: Any,
    target: Target,
    *,
    name: str,
    expect: str,
    key: str,
    body: bytes,
    inference_id: str,
    ttl: int,
) -> RoundTrip:
    s3.put_object(Bucket=target.bucket, Key=key, Body=body, ContentType="application/json")
    response = runtime.invoke_endpoint_async(
        EndpointName=target.endpoint_name,
        InputLocation=f"s3://{target.bucket}/{key}",
        ContentType="application/json",
        InferenceId=inference_id,
        InvocationTimeoutSeconds=900,
        RequestTTLSeconds=ttl,
    )
    return RoundTrip(
        name=name,
        expect=expect,
        inference_id=inference_id,
        output_location=response["OutputLocation"],
        failure_location=response.get("FailureLocation", ""),
    )


def _expected_uri(trip: RoundTrip) -> str:
    return trip.output_location if trip.expect == "succeeded" else trip.failure_location


def _observe(s3: Any, dynamodb: Any, target: Target, trip: RoundTrip) -> None:
    """Look for the trip's outcome; raise at once when it is the wrong one."""
    if not trip.object_seen:
        _observe_objects(s3, trip)
    if dynamodb is None or trip.status == trip.expect:
        return
    item = dynamodb.get_item(
        TableName=target.jobs_table,
        Key={"job_id": {"S": trip.inference_id}},
        ConsistentRead=True,
    ).get("Item")
    trip.status = item.get("status", {}).get("S") if item else None
    if trip.status is not None and trip.status not in ("queued", trip.expect):
        reason = item.get("failure_reason", {}).get("S", "no reason recorded") if item else ""
        raise SmokeFailure(
            f"the {trip.name} ({trip.inference_id}) was recorded {trip.status!r}, expected "
            f"{trip.expect!r}" + (f": {reason}" if trip.status == "failed" else "")
        )


def _observe_objects(s3: Any, trip: RoundTrip) -> None:
    # SageMaker writes exactly one of the two objects, so once the expected one is seen it is
    # not read again.
    summary = _read(s3, trip.output_location)
    failure = _read(s3, trip.failure_location) if trip.failure_location else None
    if trip.expect == "succeeded":
        if failure is not None:
            raise SmokeFailure(
                f"the endpoint failed the {trip.name} ({trip.inference_id}): "
                f"{_excerpt(failure)} (at {trip.failure_location})"
            )
        if summary is not None:
            _check_summary(trip, summary)
            trip.object_seen = True
    else:
        if summary is not None:
            raise SmokeFailure(
                f"the endpoint answered the {trip.name} ({trip.inference_id}) instead of "
                f"failing it: {_excerpt(summary)} (at {trip.output_location})"
            )
        trip.object_seen = failure is not None


def _read(s3: Any, uri: str) -> bytes | None:
    """The object's bytes, or None while it is absent.

    Without s3:ListBucket (which the smoke role does not get: it would list every user's
    document names), S3 answers a missing key with 403 instead of 404, so both mean "not yet";
    the timeout message names the location, which is where to look if it never appears.
    """
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied"):
            return None
        raise
    return body


def _check_summary(trip: RoundTrip, body: bytes) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    first = parsed[0] if isinstance(parsed, list) and parsed else parsed
    text = first.get("summary_text") if isinstance(first, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise SmokeFailure(
            f"the {trip.name} ({trip.inference_id}) produced no summary_text: "
            f"{_excerpt(body)} (at {trip.output_location})"
        )


def _excerpt(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= limit else f"{text[:limit]}...")


# --- command line --------------------------------------------------------------------------------


def _environment(value: str) -> str:
    if not ENVIRONMENT_NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"must be an environment name: lowercase letters, digits and '-', starting with a "
            f"letter, at most 20 characters (got {value!r})"
        )
    return value


def _timeout(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        minutes = float("nan")
    if not 1 <= minutes <= MAX_TIMEOUT_MINUTES:
        raise argparse.ArgumentTypeError(
            f"must be a number of minutes from 1 to {MAX_TIMEOUT_MINUTES} (got {value!r})"
        )
    return minutes


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m constructs_lib.client.smoke``."""
    cli = argparse.ArgumentParser(
        prog="python -m constructs_lib.client.smoke",
        description="Prove a deployed environment summarizes: one article, one malformed request.",
    )
    cli.add_argument(
        "--env", required=True, type=_environment, help="environment, e.g. dev (stack "
        f"{STACK_PREFIX}<env>)"
    )  # fmt: skip
    cli.add_argument("--region", help="AWS region of the stack (default: the session's)")
    cli.add_argument("--profile", help="AWS profile (default: the environment's credentials)")
    cli.add_argument(
        "--outputs-from-environment",
        action="store_true",
        help=f"read the stack outputs from {', '.join(OUTPUT_ENV.values())} (the pipeline)",
    )
    cli.add_argument(
        "--role-arn", help="assume this role first (the pipeline's per-environment smoke role)"
    )
    cli.add_argument(
        "--timeout-minutes",
        type=_timeout,
        default=float(DEFAULT_TIMEOUT_MINUTES),
        help=f"budget, cold start included (default {DEFAULT_TIMEOUT_MINUTES})",
    )
    cli.add_argument(
        "--no-notification-check",
        dest="check_notifications",
        action="store_false",
        help="only check results/ and failures/ (for a stack without the data path's jobs table)",
    )
    return cli


def _assume_role(args: argparse.Namespace, session: Any, factory: Callable[..., Any]) -> Any:
    """A session of the smoke role (``--role-arn``), or ``session`` itself without one."""
    if not args.role_arn:
        return session
    credentials = session.client("sts").assume_role(
        RoleArn=args.role_arn, RoleSessionName=f"smoke-{args.env}"
    )["Credentials"]
    return factory(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    session_factory: Callable[..., Any] | None = None,
    clock: Clock | None = None,
) -> int:
    """Run the smoke test; returns the exit status (messages to stdout/stderr, no traceback)."""
    args = parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    factory = session_factory or boto3.Session
    try:
        caller = factory(profile_name=args.profile, region_name=args.region)
        stack_name = f"{STACK_PREFIX}{args.env}"
        if args.outputs_from_environment:
            outputs = outputs_from_environment(environ)
            source = "the SMOKE_* environment variables"
        else:
            # With the caller's credentials: the smoke role may only do the round trips.
            outputs = outputs_from_stack(caller.client("cloudformation"), stack_name)
            source = f"the outputs of stack {stack_name!r}"
        target = Target.from_outputs(outputs, source)
        session = _assume_role(args, caller, factory)
        print(f"smoke test of {stack_name}: endpoint {target.endpoint_name}")
        run_smoke(
            session,
            target,
            timeout_seconds=args.timeout_minutes * 60,
            check_notifications=args.check_notifications,
            clock=clock,
        )
    except SmokeFailure as failure:
        print(f"smoke test FAILED: {failure}", file=sys.stderr)
        return 1
    except ClientError as error:
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "an AWS call")
        print(
            f"smoke test FAILED: {operation} was refused: {details.get('Code', '?')}: "
            f"{details.get('Message', error)}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as error:
        print(f"smoke test FAILED: {error}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
