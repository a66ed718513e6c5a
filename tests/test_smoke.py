"""The smoke test's logic against moto: success, wrong outcomes, timeout, and its command line.

moto's InvokeEndpointAsync writes a queued result to its own bucket at once; the recorder's part
(the jobs-table records) is played by the fake clock's sleep, so time passes only when the smoke
test waits and the timeout test is instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from constructs_lib.client import smoke

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "pegasus-data"
TABLE = "pegasus-jobs"
RUN = "20261201T183000Z-1a2b3c"
SUMMARY_ID = f"smoke-{RUN}-summary"
MALFORMED_ID = f"smoke-{RUN}-malformed"
OUTPUTS = {
    "EndpointName": "pegasus-dev",
    "OutputLocation": f"s3://{BUCKET}/results/",
    "FailureLocation": f"s3://{BUCKET}/failures/",
    "JobsTableName": TABLE,
}


class FakeClock:
    """Monotonic time that only moves when the smoke test sleeps; each sleep runs ``on_sleep``."""

    def __init__(self, on_sleep: Callable[[int], None] = lambda n: None) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        self.on_sleep(len(self.sleeps))

    def clock(self) -> smoke.Clock:
        return smoke.Clock(now=self.now, sleep=self.sleep)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        session.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield session


def endpoint_answers(*results: tuple[bool, Any]) -> None:
    """Queue moto's async results, in invocation order: (is_failure, body)."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    backend = sagemakerruntime_backends[ACCOUNT][REGION]
    for is_failure, body in results:
        backend.async_results_queue.append(
            (is_failure, body if isinstance(body, str) else json.dumps(body))
        )


def record(session: boto3.Session, job_id: str, status: str, reason: str | None = None) -> None:
    item = {"job_id": {"S": job_id}, "status": {"S": status}}
    if reason:
        item["failure_reason"] = {"S": reason}
    session.client("dynamodb").put_item(TableName=TABLE, Item=item)


def recorder(session: boto3.Session, after: int, records: dict[str, str]) -> Callable[[int], None]:
    """Records the notifications' outcomes after the ``after``-th wait (as the recorder would)."""

    def on_sleep(count: int) -> None:
        if count == after:
            for job_id, status in records.items():
                record(session, job_id, status)

    return on_sleep


GOOD = [{"summary_text": "The council approved a park.", "input_tokens": 80}]
ERROR = "Received client error (400) from primary: invalid JSON at line 1"


def target(**changes: Any) -> smoke.Target:
    return smoke.Target.from_outputs({**OUTPUTS, **changes}, "test outputs")


def test_both_round_trips_pass_once_results_and_records_arrive(aws: boto3.Session) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    clock = FakeClock(recorder(aws, 2, {SUMMARY_ID: "succeeded", MALFORMED_ID: "failed"}))
    lines: list[str] = []
    summary, malformed = smoke.run_smoke(
        aws, target(), timeout_seconds=1500, clock=clock.clock(), run=RUN, log=lines.append
    )
    assert (summary.status, malformed.status) == ("succeeded", "failed")
    assert summary.object_seen and malformed.object_seen
    assert len(clock.sleeps) == 2
    assert lines[-1] == "both round trips completed in 12 s"


def test_requests_go_under_requests_smoke_with_the_run_id(aws: boto3.Session) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    calls: list[dict[str, Any]] = []
    aws.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpointAsync",
        lambda params, **_: calls.append(dict(params)),
    )
    record(aws, SUMMARY_ID, "succeeded")
    record(aws, MALFORMED_ID, "failed")
    smoke.run_smoke(aws, target(), timeout_seconds=600, clock=FakeClock().clock(), run=RUN)
    assert [(c["InputLocation"], c["InferenceId"], c["ContentType"]) for c in calls] == [
        (f"s3://{BUCKET}/requests/smoke/{RUN}/article.json", SUMMARY_ID, "application/json"),
        (f"s3://{BUCKET}/requests/smoke/{RUN}/malformed.json", MALFORMED_ID, "application/json"),
    ]
    assert {c["RequestTTLSeconds"] for c in calls} == {600}
    s3 = aws.client("s3")
    article = s3.get_object(Bucket=BUCKET, Key=f"requests/smoke/{RUN}/article.json")
    assert json.loads(article["Body"].read())["inputs"] == smoke.ARTICLE
    malformed = s3.get_object(Bucket=BUCKET, Key=f"requests/smoke/{RUN}/malformed.json")
    with pytest.raises(ValueError):
        json.loads(malformed["Body"].read())


def test_a_failed_article_fails_at_once_with_the_endpoints_error(aws: boto3.Session) -> None:
    endpoint_answers((True, "CUDA out of memory"), (True, ERROR))
    clock = FakeClock()
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(aws, target(), timeout_seconds=1500, clock=clock.clock(), run=RUN)
    assert str(failure.value).startswith(
        f"the endpoint failed the summary ({SUMMARY_ID}): 'CUDA out of memory' (at s3://"
    )
    assert clock.sleeps == []


def test_an_answered_malformed_request_fails_the_smoke_test(aws: boto3.Session) -> None:
    endpoint_answers((False, GOOD), (False, GOOD))
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(aws, target(), timeout_seconds=1500, clock=FakeClock().clock(), run=RUN)
    assert str(failure.value).startswith(
        f"the endpoint answered the malformed request ({MALFORMED_ID}) instead of failing it: "
    )


def test_a_summary_without_summary_text_fails(aws: boto3.Session) -> None:
    endpoint_answers((False, [{"summary_text": "  "}]), (True, ERROR))
    with pytest.raises(smoke.SmokeFailure, match=r"produced no summary_text: '\[\{"):
        smoke.run_smoke(aws, target(), timeout_seconds=1500, clock=FakeClock().clock(), run=RUN)


def test_a_record_of_the_wrong_status_names_the_recorded_reason(aws: boto3.Session) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    record(aws, SUMMARY_ID, "failed", reason="ModelError: boom")
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(aws, target(), timeout_seconds=1500, clock=FakeClock().clock(), run=RUN)
    assert str(failure.value) == (
        f"the summary ({SUMMARY_ID}) was recorded 'failed', expected 'succeeded': ModelError: boom"
    )


def test_timeout_lists_every_missing_half_and_backs_off(aws: boto3.Session) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    # The summary's notification arrives, the error notification never does.
    clock = FakeClock(recorder(aws, 3, {SUMMARY_ID: "succeeded"}))
    reads: list[str] = []
    aws.events.register("before-call.s3.GetObject", lambda params, **_: reads.append("get"))
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(aws, target(), timeout_seconds=25 * 60, clock=clock.clock(), run=RUN)
    # Both objects were there at the first look (output and failure location of each request);
    # only the jobs table is polled after that.
    assert len(reads) == 4
    assert str(failure.value) == (
        f"timed out after 25 minutes waiting for malformed request ({MALFORMED_ID}): "
        f"jobs-table record '{MALFORMED_ID}' is absent, not 'failed'"
    )
    assert sum(clock.sleeps) == pytest.approx(25 * 60)
    assert clock.sleeps[:4] == [5.0, 7.5, 11.25, 16.875]
    assert max(clock.sleeps) == smoke.MAX_WAIT_SECONDS


def test_timeout_names_a_missing_result_object(aws: boto3.Session) -> None:
    # No queued results: moto answers with its default body at the output location for both.
    record(aws, SUMMARY_ID, "queued")
    clock = FakeClock()
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(
            aws,
            target(JobsTableName=""),
            timeout_seconds=300,
            check_notifications=False,
            clock=clock.clock(),
            run=RUN,
        )
    # moto's default answer is a "success" without summary_text for the article.
    assert "produced no summary_text" in str(failure.value)


def test_without_a_jobs_table_the_notification_check_must_be_turned_off(
    aws: boto3.Session,
) -> None:
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.run_smoke(aws, target(JobsTableName=""), timeout_seconds=300, run=RUN)
    assert str(failure.value) == (
        "no JobsTableName output: the smoke test proves notifications through the data path's "
        "jobs table (data_path.enabled); pass --no-notification-check to test the S3 round "
        "trips alone"
    )
    endpoint_answers((False, GOOD), (True, ERROR))
    lines: list[str] = []
    smoke.run_smoke(
        aws,
        target(JobsTableName=""),
        timeout_seconds=300,
        check_notifications=False,
        clock=FakeClock().clock(),
        run=RUN,
        log=lines.append,
    )
    assert lines[-1] == "NOTE: notifications were not verified (--no-notification-check)"


def test_targets_come_from_outputs_with_the_contracts_defaults() -> None:
    found = smoke.Target.from_outputs(OUTPUTS, "x")
    assert (found.bucket, found.request_prefix, found.jobs_table) == (BUCKET, "requests/", TABLE)
    explicit = smoke.Target.from_outputs(
        {**OUTPUTS, "DataBucketName": "other", "RequestPrefix": "req"}, "x"
    )
    assert (explicit.bucket, explicit.request_prefix) == ("other", "req/")
    with pytest.raises(smoke.SmokeFailure) as failure:
        smoke.Target.from_outputs({"OutputLocation": "results/"}, "the outputs of stack 'S'")
    assert str(failure.value) == "the outputs of stack 'S': missing EndpointName, FailureLocation"


# --- command line --------------------------------------------------------------------------------


def environ_of(outputs: dict[str, str]) -> dict[str, str]:
    return {smoke.OUTPUT_ENV[key]: value for key, value in outputs.items()}


def factory(**options: Any) -> boto3.Session:
    return boto3.Session(region_name=options.get("region_name") or REGION)


def test_cli_passes_from_environment_variables_with_an_assumed_role(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    monkeypatch.setattr(smoke, "run_id", lambda: RUN)
    clock = FakeClock(recorder(aws, 1, {SUMMARY_ID: "succeeded", MALFORMED_ID: "failed"}))
    status = smoke.main(
        [
            "--env",
            "dev",
            "--outputs-from-environment",
            "--role-arn",
            f"arn:aws:iam::{ACCOUNT}:role/PegasusSummarizer-smoke-dev",
        ],
        environ=environ_of(OUTPUTS),
        session_factory=factory,
        clock=clock.clock(),
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    assert out.out.splitlines()[0] == "smoke test of PegasusSummarizer-dev: endpoint pegasus-dev"
    assert out.out.splitlines()[-1] == "smoke test passed"


class StubbedCloudFormation:
    """A session whose CloudFormation client is stubbed: moto's CloudFormation backend needs
    moto's optional extras (it imports every service), which the test venv does not install."""

    def __init__(self, session: boto3.Session, describe: dict[str, Any] | None) -> None:
        from botocore.stub import Stubber

        self.session = session
        self.region_name = session.region_name
        self.cloudformation = session.client("cloudformation")
        self.stubber = Stubber(self.cloudformation)
        if describe is None:
            self.stubber.add_client_error(
                "describe_stacks",
                service_error_code="ValidationError",
                service_message="Stack with id PegasusSummarizer-dev does not exist",
                expected_params={"StackName": "PegasusSummarizer-dev"},
            )
        else:
            self.stubber.add_response(
                "describe_stacks", describe, expected_params={"StackName": "PegasusSummarizer-dev"}
            )
        self.stubber.activate()

    def client(self, name: str) -> Any:
        return self.cloudformation if name == "cloudformation" else self.session.client(name)


def test_cli_reads_the_stack_outputs(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    monkeypatch.setattr(smoke, "run_id", lambda: RUN)
    described = {
        "Stacks": [
            {
                "StackName": "PegasusSummarizer-dev",
                "CreationTime": "2026-12-01T18:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()],
            }
        ]
    }
    stubbed = StubbedCloudFormation(aws, described)
    clock = FakeClock(recorder(aws, 1, {SUMMARY_ID: "succeeded", MALFORMED_ID: "failed"}))
    status = smoke.main(["--env", "dev"], session_factory=lambda **_: stubbed, clock=clock.clock())
    assert status == 0, capsys.readouterr().err
    stubbed.stubber.assert_no_pending_responses()


class SmokeRoleSession:
    """The assumed smoke role: the round trips' clients, but no DescribeStacks (its policy
    does not allow it)."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.region_name = session.region_name

    def client(self, name: str) -> Any:
        if name == "cloudformation":
            raise AssertionError("the smoke role may not call cloudformation:DescribeStacks")
        return self.session.client(name)


def test_cli_reads_the_outputs_as_the_caller_before_assuming_the_smoke_role(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_answers((False, GOOD), (True, ERROR))
    monkeypatch.setattr(smoke, "run_id", lambda: RUN)
    described = {
        "Stacks": [
            {
                "StackName": "PegasusSummarizer-dev",
                "CreationTime": "2026-12-01T18:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()],
            }
        ]
    }
    caller = StubbedCloudFormation(aws, described)
    made: list[dict[str, Any]] = []

    def sessions(**options: Any) -> Any:
        made.append(options)
        return SmokeRoleSession(aws) if "aws_session_token" in options else caller

    clock = FakeClock(recorder(aws, 1, {SUMMARY_ID: "succeeded", MALFORMED_ID: "failed"}))
    status = smoke.main(
        ["--env", "dev", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/smoke-dev"],
        session_factory=sessions,
        clock=clock.clock(),
    )

    assert status == 0, capsys.readouterr().err
    caller.stubber.assert_no_pending_responses()
    assert [sorted(options) for options in made] == [
        ["profile_name", "region_name"],
        ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name"],
    ]


def test_cli_reports_a_missing_stack(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed = StubbedCloudFormation(aws, None)
    status = smoke.main(["--env", "dev"], session_factory=lambda **_: stubbed)
    assert status == 1
    assert capsys.readouterr().err == (
        "smoke test FAILED: stack 'PegasusSummarizer-dev' does not exist in this account and "
        "region: deploy it first, or pass --region\n"
    )


def test_cli_reports_missing_environment_variables(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    status = smoke.main(
        ["--env", "dev", "--outputs-from-environment"],
        environ={"SMOKE_ENDPOINT_NAME": "pegasus-dev"},
        session_factory=factory,
    )
    assert status == 1
    assert capsys.readouterr().err == (
        "smoke test FAILED: the SMOKE_* environment variables: missing OutputLocation, "
        "FailureLocation\n"
    )


def test_cli_turns_aws_errors_into_one_line(
    aws: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {**OUTPUTS, "OutputLocation": "s3://no-such-bucket/results/"}
    status = smoke.main(
        ["--env", "dev", "--outputs-from-environment"],
        environ=environ_of(outputs),
        session_factory=factory,
    )
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("smoke test FAILED: PutObject was refused: NoSuchBucket: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--env", "Dev"],
            "argument --env: must be an environment name: lowercase letters, digits and '-', "
            "starting with a letter, at most 20 characters (got 'Dev')",
        ),
        (
            ["--env", "dev", "--timeout-minutes", "0"],
            "argument --timeout-minutes: must be a number of minutes from 1 to 480 (got '0')",
        ),
        (
            ["--env", "dev", "--timeout-minutes", "soon"],
            "argument --timeout-minutes: must be a number of minutes from 1 to 480 (got 'soon')",
        ),
        ([], "the following arguments are required: --env"),
    ],
)
def test_cli_refuses_bad_arguments_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        smoke.main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")
