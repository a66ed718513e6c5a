"""The summarizer client and CLI against moto: stack outputs, uploads, status, get, failures, retry,
exit codes and messages, and that it never imports the CDK."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from constructs_lib.client import SummarizerClient
from constructs_lib.client.cli import run
from constructs_lib.client.errors import StackError
from constructs_lib.client.progress import ProgressBar
from constructs_lib.data_path.runtime import jobs
from tests.datapath_support import (
    BUCKET,
    CREDENTIALS,
    NOW,
    REGION,
    STACK,
    World,
    mocked_world,
    play_endpoint,
    s3_event,
    sqs_record,
    stack_outputs,
)

ROOT = Path(__file__).resolve().parent.parent


class StubbedSession:
    """A boto3 session whose CloudFormation client is stubbed (moto's CloudFormation needs
    extras that are not installed here); every other client is moto's."""

    def __init__(self) -> None:
        self.inner = boto3.Session(region_name=REGION)
        self.region_name = REGION
        self.cloudformation = self.inner.client("cloudformation")
        self.stubber = Stubber(self.cloudformation)
        self.stubber.activate()

    def client(self, name: str) -> Any:
        return self.cloudformation if name == "cloudformation" else self.inner.client(name)

    def expect(self, stack_name: str, outputs: dict[str, str] | None) -> None:
        """Queue DescribeStacks' answer for ``stack_name``: its outputs, or "does not exist"."""
        if outputs is None:
            self.stubber.add_client_error(
                "describe_stacks",
                service_error_code="ValidationError",
                service_message=f"Stack with id {stack_name} does not exist",
                http_status_code=400,
                expected_params={"StackName": stack_name},
            )
            return
        stack = {
            "StackName": stack_name,
            "CreationTime": NOW,
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
        }
        self.stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": stack_name})


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), mocked_world() as mocked:
        mocked.session = StubbedSession()  # type: ignore[attr-defined]
        yield mocked


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.txt").write_text("Alpha article text.")
    (folder / "nested" / "b.txt").write_text("Beta article text.")
    (folder / "bad.txt").write_text("FAIL this one.")
    (folder / ".hidden").write_text("skipped")
    return folder


def client_for(world: World, sleep: Any = None) -> SummarizerClient:
    world.session.expect(STACK, stack_outputs(world))  # type: ignore[attr-defined]
    client = SummarizerClient.for_environment("test", session=world.session)  # type: ignore[attr-defined]
    if sleep is not None:
        client.sleep = sleep
    return client


def cli(world: World, *argv: str, sleep: Any = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(
        ["--env", "test", "--region", REGION, *argv],
        factory=lambda args: client_for(world, sleep),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def run_pipeline(world: World, submission: str) -> None:
    """Dispatch every uploaded document of ``submission`` and answer as the endpoint would."""
    keys = world.keys(f"inputs/{submission}/")
    records = []
    for index, key in enumerate(keys):
        etag = world.s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
        records.append(sqs_record(s3_event(key, etag=etag), f"m{index}"))
    play_endpoint(world, world.dispatcher().process(records).requests)


def test_the_stack_outputs_are_found_by_environment_name(world: World) -> None:
    client = client_for(world)
    assert client.outputs.stack_name == "PegasusSummarizer-test"
    assert client.outputs.jobs_table == "pegasus-jobs"
    assert client.outputs.athena_workgroup == "pegasus"


def test_an_unknown_stack_and_missing_outputs_are_named(world: World) -> None:
    session = world.session  # type: ignore[attr-defined]
    session.expect("PegasusSummarizer-nope", None)
    with pytest.raises(StackError) as raised:
        SummarizerClient.for_environment("nope", session=session)
    assert str(raised.value) == (
        "stack PegasusSummarizer-nope does not exist in region us-east-1: check "
        "--env/--stack-name and --region"
    )
    outputs = stack_outputs(world)
    del outputs["JobsTableName"], outputs["DispatchQueueUrl"]
    session.expect("Partial", outputs)
    with pytest.raises(StackError) as raised:
        SummarizerClient.for_environment(stack_name="Partial", session=session)
    assert str(raised.value) == (
        "stack Partial lacks the output(s) JobsTableName, DispatchQueueUrl: is the data path "
        "deployed (data_path.enabled) and the stack up to date?"
    )


def test_submit_uploads_under_the_submission_and_predicts_the_dispatchers_job_ids(
    world: World, docs: Path
) -> None:
    client = client_for(world)
    seen: list[tuple[int, int]] = []
    submission = client.submit_paths([docs], progress=lambda f, b: seen.append((f, b)))

    assert jobs.SUBMISSION_ID_PATTERN.match(submission.submission_id)
    prefix = f"inputs/{submission.submission_id}/"
    assert world.keys(prefix) == [f"{prefix}a.txt", f"{prefix}bad.txt", f"{prefix}nested/b.txt"]
    assert len(seen) == 3
    run_pipeline(world, submission.submission_id)
    assert {world.job(job)["source_key"] for job in submission.job_ids} == set(world.keys(prefix))


def colliding(tmp: Path) -> list[str]:
    (tmp / "x").mkdir()
    (tmp / "x" / "a.txt").write_text("1")
    (tmp / "a.txt").write_text("2")
    return [str(tmp / "x" / "a.txt"), str(tmp / "a.txt")]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: [str(tmp / "missing.txt")], "no such file or folder: {tmp}/missing.txt"),
        (lambda tmp: [str(tmp)], "folder {tmp} has no files to submit"),
        (
            colliding,
            "{tmp}/x/a.txt and {tmp}/a.txt would both be uploaded as a.txt: submit them separately",
        ),
    ],
)
def test_bad_paths_are_usage_errors(world: World, tmp_path: Path, make: Any, message: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli(world, "submit", *make(empty))
    assert code == 2
    assert err == f"summarizer: error: {message.format(tmp=empty)}\n"


def test_status_get_failures_and_retry_of_a_submission(world: World, docs: Path) -> None:
    code, out, err = cli(world, "submit", "--no-progress", str(docs))
    assert code == 0
    submission = out.strip()
    assert "follow them with: summarizer status" in err
    assert cli(world, "status", submission)[0] == 5  # nothing recorded yet

    run_pipeline(world, submission)

    code, out, _ = cli(world, "status", submission)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"submission {submission}: 2 succeeded, 1 failed, 0 waiting (of 3)"
    assert lines[1].endswith("bad.txt  line 1: the article could not be summarized")

    code, out, err = cli(world, "get", submission)
    assert code == 1
    assert "== a.txt (" in out and "Summary of Alpha" in out
    assert "== nested/b.txt (" in out and "Summary of Beta" in out
    assert err == "not every job has a summary: 2 succeeded, 1 failed, 0 waiting (of 3)\n"

    code, out, _ = cli(world, "failures", submission)
    (failed_job, name, reason) = out.strip().split("\t")
    assert (code, name, reason) == (1, "bad.txt", "line 1: the article could not be summarized")
    assert cli(world, "failures")[1] == out

    code, _, err = cli(world, "retry", submission)
    assert (code, err) == (0, f"re-dispatched 1 failed or overdue job(s) of {submission}\n")
    assert world.dispatch_messages() == [
        {"action": "dispatch", "job_ids": [failed_job], "single": True}
    ]


def test_status_and_get_of_one_job(world: World, docs: Path, tmp_path: Path) -> None:
    submission = client_for(world).submit_paths([docs / "a.txt"])
    (job,) = submission.job_ids
    code, out, _ = cli(world, "status", job)
    assert code == 5
    run_pipeline(world, submission.submission_id)

    code, out, _ = cli(world, "status", job)
    assert code == 0
    assert f"job_id: {job}\nstatus: succeeded\nattempt: 1\n" in out
    assert cli(world, "get", job)[1] == "Summary of Alpha\n"

    code, _, err = cli(world, "get", job, "-o", str(tmp_path / "out"))
    assert code == 0
    assert (tmp_path / "out" / "a.txt.summary.txt").read_text() == "Summary of Alpha\n"
    assert err == f"wrote {tmp_path / 'out' / 'a.txt.summary.txt'}\n"


def test_submit_wait_shows_counts_as_they_arrive_and_exits_by_outcome(
    world: World, docs: Path
) -> None:
    def sleep(_: float) -> None:
        (submission,) = {key.split("/")[1] for key in world.keys("inputs/")}
        run_pipeline(world, submission)

    code, _, err = cli(
        world, "submit", "--no-progress", "--wait", "--poll", "1", str(docs), sleep=sleep
    )

    assert code == 1
    assert err.splitlines() == [
        "jobs: 0 succeeded, 0 failed, 3 waiting (of 3)",
        "jobs: 2 succeeded, 1 failed, 0 waiting (of 3)",
    ]


def test_submit_wait_times_out_with_exit_code_3(world: World, docs: Path) -> None:
    code, _, err = cli(
        world,
        "submit",
        "--no-progress",
        "--wait",
        "--timeout",
        "0.01",
        str(docs / "a.txt"),
        sleep=lambda s: None,
    )
    assert code == 3
    assert err.splitlines()[-1] == (
        "summarizer: error: timed out after 0.01 s: 0 succeeded, 0 failed, 1 waiting (of 1)"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["status", "nope"],
            "'nope' is neither a job id (32 hex characters) nor a submission id "
            "(like 20261201T183000Z-1a2b3c)",
        ),
        (
            ["submit", "--timeout", "-5", "x"],
            "argument --timeout: must be a positive number of "
            "seconds, got '-5' (see summarizer --help)",
        ),
        (
            ["failures", "0" * 32],
            f"'{'0' * 32}' is not a submission id (like 20261201T183000Z-1a2b3c)",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    world: World, argv: list[str], message: str
) -> None:
    code, out, err = cli(world, *argv)
    assert (code, out) == (2, "")
    assert err == f"summarizer: error: {message}\n"


def test_an_unknown_command_lists_the_commands(world: World) -> None:
    code, _, err = cli(world, "launch")
    assert code == 2
    # argparse's quoting of the choices differs between Python versions.
    assert err.startswith("summarizer: error: argument COMMAND: invalid choice: 'launch'")
    assert all(name in err for name in ("submit", "status", "get", "failures", "retry"))
    assert err.endswith(" (see summarizer --help)\n")


def test_no_environment_and_no_credentials_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    err = io.StringIO()
    assert run(["status", "0" * 32], err=err) == 2
    assert err.getvalue() == (
        "summarizer: error: give an environment (--env NAME) or a stack name (--stack-name)\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    err = io.StringIO()
    assert run(["--env", "dev", "--region", REGION, "status", "0" * 32], err=err) == 4
    assert err.getvalue() == (
        "summarizer: error: no AWS credentials found while trying to describe stack "
        "PegasusSummarizer-dev: configure them (aws configure, AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile\n"
    )
    err = io.StringIO()
    assert run(["--env", "dev", "--profile", "ghost", "status", "0" * 32], err=err) == 4
    assert err.getvalue() == (
        "summarizer: error: The config profile (ghost) could not be found: check --profile or "
        "AWS_PROFILE\n"
    )


def test_submit_texts_and_invoke_direct(world: World) -> None:
    client = client_for(world)
    submission = client.submit_texts({"one.txt": "First text.", "two.txt": "Second text."})
    assert world.keys(f"inputs/{submission.submission_id}/") == [
        f"inputs/{submission.submission_id}/one.txt",
        f"inputs/{submission.submission_id}/two.txt",
    ]
    direct = client.invoke_direct(json.dumps({"inputs": "x"}), "application/json")
    assert jobs.JOB_ID_PATTERN.match(direct.inference_id)
    # Under requests/direct/, the only part of requests/ a client may write.
    assert direct.input_location == f"s3://{BUCKET}/requests/direct/{direct.inference_id}.json"
    assert world.text(f"requests/direct/{direct.inference_id}.json") == '{"inputs": "x"}'
    assert direct.output_location.startswith("s3://")


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, 2, 2_000_000, interactive=True, width=10)
    bar.update(1, 1_000_000)
    bar.update(1, 1_000_000)
    bar.close()
    assert stream.getvalue().endswith("\ruploading [##########] 2/2 files  2.0 MB/2.0 MB\n")
    assert "\ruploading [#####.....] 1/2 files  1.0 MB/2.0 MB" in stream.getvalue()


def test_the_client_never_imports_the_cdk() -> None:
    check = (
        "import sys, runpy\n"
        "sys.argv = ['summarizer', '--help']\n"
        "try:\n"
        "    runpy.run_module('constructs_lib.client.cli', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aws_cdk', 'jsii', 'constructs', 'aws_lambda_powertools'))\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "usage: summarizer" in result.stdout
    assert result.stdout.splitlines()[-1] == "LOADED []"


# --- hardening: hostile keys, direct retries, local checks first --------------------------------


def test_get_into_a_folder_never_writes_outside_it(world: World, tmp_path: Path) -> None:
    submission = "20261201T182900Z-abcdef"
    outside = tmp_path / "outside"
    hostile = {
        "escape": "../../escape.txt",
        "absolute": f"{outside}/abs.txt",  # after the submission's '/': an empty segment
        "dot": "./dot.txt",
        "double": "a//b.txt",
    }
    for name, rest in hostile.items():
        world.s3.put_object(
            Bucket=BUCKET, Key=f"inputs/{submission}/{rest}", Body=f"{name} text".encode()
        )
    world.s3.put_object(Bucket=BUCKET, Key=f"inputs/{submission}/ok/fine.txt", Body=b"Fine text")
    run_pipeline(world, submission)
    target = tmp_path / "out" / "here"

    code, _, err = cli(world, "get", submission, "-o", str(target))

    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["out/here/ok/fine.txt.summary.txt"]
    assert code == 2
    lines = err.splitlines()
    assert f"wrote {target / 'ok' / 'fine.txt.summary.txt'}" in lines
    escape = world_job(world, submission, hostile["escape"])
    assert (
        f"summarizer: not written: '../../escape.txt' ({escape}): its document key has '..', "
        f"which could write outside {target}"
    ) in lines
    absolute = world_job(world, submission, hostile["absolute"])
    assert (
        f"summarizer: not written: '{outside}/abs.txt' ({absolute}): its document key has an "
        f"empty segment ('//' or a leading '/'), which could write outside {target}"
    ) in lines
    assert lines[-1].startswith(
        f"summarizer: error: 4 summary file(s) not written because their document keys would "
        f"leave {target}; print them with: summarizer get JOB_ID ("
    )


def world_job(world: World, submission: str, rest: str) -> str:
    key = f"inputs/{submission}/{rest}"
    etag = world.s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    return jobs.job_id(BUCKET, key, etag)


def test_a_symbolic_link_inside_the_folder_does_not_lead_outside(
    world: World, tmp_path: Path
) -> None:
    submission = "20261201T182900Z-abcdef"
    world.s3.put_object(Bucket=BUCKET, Key=f"inputs/{submission}/link/a.txt", Body=b"Link text")
    run_pipeline(world, submission)
    target = tmp_path / "out"
    target.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (target / "link").symlink_to(tmp_path / "elsewhere")

    code, _, err = cli(world, "get", submission, "-o", str(target))

    assert code == 2
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert f"{target / 'link' / 'a.txt.summary.txt'} resolves outside {target}" in err


def test_retrying_a_direct_request_is_refused_with_how_to_send_it_again(world: World) -> None:
    direct = "d" * 32
    key = f"requests/direct-{direct}.json"
    world.dynamodb.put_item(
        TableName="pegasus-jobs",
        Item=jobs.to_item(
            {
                "job_id": direct,
                "status": "failed",
                "attempt": 1,
                "inference_id": direct,
                "source_bucket": BUCKET,
                "source_key": key,
                "failure_reason": "ClientError: bad request",
            }
        ),
    )

    code, _, err = cli(world, "retry", direct)

    assert code == 2
    assert err == (
        f"summarizer: error: job {direct} is a direct request (its input is s3://{BUCKET}/"
        f"{key}), not a document uploaded under inputs/: the dispatcher reads only that "
        "prefix, so it cannot retry it; send the request again with invoke_direct (or "
        "InvokeEndpointAsync)\n"
    )
    assert world.dispatch_messages() == []


def no_aws(args: Any) -> SummarizerClient:
    raise AssertionError("no AWS client may be built before the local arguments are checked")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit", "/no/such/path"], "no such file or folder: /no/such/path"),
        (
            ["submit", "--submission-id", "today", "{docs}"],
            "submission id 'today' must look like 20261201T183000Z-1a2b3c (UTC time and 6 hex "
            "characters)",
        ),
        (
            ["submit", "--timeout", "5", "{docs}"],
            "--timeout needs --wait (it bounds the wait for the jobs)",
        ),
        (
            ["failures", "0" * 32],
            f"'{'0' * 32}' is not a submission id (like 20261201T183000Z-1a2b3c)",
        ),
        (["get", "0" * 32, "-o", "{docs}/a.txt"], "-o {docs}/a.txt: exists and is not a folder"),
    ],
)
def test_local_arguments_are_checked_before_any_aws_call(
    docs: Path, argv: list[str], message: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = [a.format(docs=docs) for a in argv]
    code = run(["--env", "dev", *argv], factory=no_aws, out=out, err=err)
    assert (code, out.getvalue()) == (2, "")
    assert err.getvalue() == f"summarizer: error: {message.format(docs=docs)}\n"


def test_submit_of_a_missing_path_without_credentials_names_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    err = io.StringIO()
    assert run(["--env", "dev", "--region", REGION, "submit", "/no/such/path"], err=err) == 2
    assert err.getvalue() == "summarizer: error: no such file or folder: /no/such/path\n"


def test_an_overdue_job_is_shown_and_retried(world: World, docs: Path) -> None:
    """Sent, but still queued after SageMaker can no longer answer: its notification was lost.
    Without retry picking it up it would stay queued until its TTL."""
    submission = client_for(world).submit_paths([docs / "a.txt"])
    (job,) = submission.job_ids
    keys = world.keys(f"inputs/{submission.submission_id}/")
    etag = world.s3.head_object(Bucket=BUCKET, Key=keys[0])["ETag"].strip('"')
    world.dispatcher().process([sqs_record(s3_event(keys[0], etag=etag), "m")])
    overdue_at = world.job(job)["overdue_at"]

    def at(moment: dt.datetime, command: str = "retry") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()

        def factory(args: Any) -> SummarizerClient:
            client = client_for(world)
            client.clock = lambda: moment
            return client

        code = run(
            ["--env", "test", command, submission.submission_id], factory=factory, err=err, out=out
        )
        return code, out.getvalue(), err.getvalue()

    assert (
        at(NOW)[2]
        == f"nothing to retry: {submission.submission_id} has no failed or overdue jobs\n"
    )
    assert world.dispatch_messages() == []

    later = jobs.parse_iso(overdue_at) + dt.timedelta(seconds=1)
    code, out, _ = at(later, "status")
    assert (code, out.splitlines()[1]) == (
        3,
        f"overdue  {job}  a.txt  no outcome since 2026-12-01T18:30:00.000Z: summarizer retry "
        "sends it again",
    )
    assert (
        at(later)[2] == f"re-dispatched 1 failed or overdue job(s) of {submission.submission_id}\n"
    )
    (message,) = world.dispatch_messages()
    world.clock[0] = later
    outcome = world.dispatcher().process([sqs_record(message, "retry")])
    assert [r["job_ids"] for r in outcome.requests] == [[job]]
    assert world.job(job)["attempt"] == 2
