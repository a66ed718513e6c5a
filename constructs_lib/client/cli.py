"""``summarizer``: submit documents to a deployed environment and follow them to their summaries.

Exit codes (scripts may rely on them): 0 everything asked for succeeded, 1 at least one job
failed, 2 usage error (bad arguments or paths), 3 not finished (timed out, or still running),
4 AWS or stack error (credentials, region, unknown stack, missing outputs, refused calls),
5 no such job or submission, 130 interrupted. No traceback is ever shown.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ..data_path.runtime import jobs
from .api import (
    Counts,
    Job,
    Submission,
    SummarizerClient,
    check_submission_id,
    plan_uploads,
    target_kind,
)
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_JOBS_FAILED,
    EXIT_NOT_FINISHED,
    EXIT_OK,
    SummarizerError,
    UsageError,
)
from .progress import ProgressBar

ClientFactory = Callable[[argparse.Namespace], SummarizerClient]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code and message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see summarizer --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="summarizer",
        description="Summarize documents with a deployed PEGASUS async endpoint.",
        epilog="Exit codes: 0 ok, 1 some jobs failed, 2 usage error, 3 not finished, "
        "4 AWS or stack error, 5 not found. See docs/client.md.",
    )
    where = parser.add_argument_group("which deployment")
    where.add_argument(
        "--env",
        default=os.environ.get("SUMMARIZER_ENV"),
        help="environment name: reads stack PegasusSummarizer-NAME (default: $SUMMARIZER_ENV)",
    )
    where.add_argument("--stack-name", help="the stack's full name, instead of --env")
    where.add_argument("--region", help="AWS region (default: the profile's or $AWS_REGION)")
    where.add_argument("--profile", help="AWS profile (default: $AWS_PROFILE or the default)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    submit = commands.add_parser("submit", help="upload files or folders for summarization")
    submit.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    submit.add_argument("--wait", action="store_true", help="wait until every job is done")
    submit.add_argument(
        "--timeout", type=_seconds, help="with --wait: give up after this many seconds"
    )
    submit.add_argument(
        "--poll", type=_seconds, default=5.0, help="with --wait: seconds between checks (5)"
    )
    submit.add_argument(
        "--submission-id", help="reuse this id (like 20261201T183000Z-1a2b3c) instead of a new one"
    )
    submit.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    status = commands.add_parser("status", help="status of a job or of a whole submission")
    status.add_argument("target", metavar="JOB_ID|SUBMISSION_ID")

    get = commands.add_parser("get", help="print or save the summaries of a job or submission")
    get.add_argument("target", metavar="JOB_ID|SUBMISSION_ID")
    get.add_argument("-o", "--output", type=Path, metavar="DIR", help="write files into DIR")

    failures = commands.add_parser("failures", help="failed jobs and why they failed")
    failures.add_argument("submission", nargs="?", metavar="SUBMISSION_ID")

    retry = commands.add_parser("retry", help="send failed jobs to the endpoint again")
    retry.add_argument("target", metavar="JOB_ID|SUBMISSION_ID")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _default_factory(args: argparse.Namespace) -> SummarizerClient:
    return SummarizerClient.for_environment(
        args.env, stack_name=args.stack_name, region=args.region, profile=args.profile
    )


def _exit_for(counts: Counts) -> int:
    if counts.failed:
        return EXIT_JOBS_FAILED
    return EXIT_OK if counts.done else EXIT_NOT_FINISHED


def _relative(job: Job, client: SummarizerClient) -> str:
    """The document's path inside its submission (what the user uploaded), else the job id."""
    key = job.source_key
    prefix = client.outputs.input_prefix
    if key.startswith(prefix):
        head, _, rest = key.removeprefix(prefix).partition("/")
        return rest or head
    return job.job_id


def _submit(args: argparse.Namespace, client: SummarizerClient, out: TextIO, err: TextIO) -> int:
    uploads = plan_uploads(args.paths)
    bar = None
    if not args.no_progress:
        bar = ProgressBar(err, len(uploads), sum(u.size for u in uploads))
    submission = client.submit_paths(
        args.paths, submission_id=args.submission_id, progress=bar.update if bar else None
    )
    if bar is not None:
        bar.close()
    print(submission.submission_id, file=out, flush=True)
    if not args.wait:
        print(
            f"submitted {len(submission.documents)} document(s); follow them with: "
            f"summarizer status {submission.submission_id}",
            file=err,
        )
        return EXIT_OK
    counts = client.wait(
        submission,
        timeout=args.timeout,
        poll_seconds=args.poll,
        on_update=lambda c: print(f"jobs: {c}", file=err, flush=True),
    )
    return _exit_for(counts)


def _status(args: argparse.Namespace, client: SummarizerClient, out: TextIO) -> int:
    listed = client.jobs(args.target)
    if target_kind(args.target) == "job":
        (job,) = listed
        for name in (
            "job_id",
            "status",
            "attempt",
            "submission",
            "source_key",
            "source",
            "submitted_at",
            "started_at",
            "finished_at",
            "output_location",
            "failure_reason",
            "failure_location",
            "overdue_at",
        ):
            if name in job.record:
                print(f"{name}: {job.record[name]}", file=out)
        return _exit_for(_count(listed))
    counts = _count(listed)
    print(f"submission {args.target}: {counts}", file=out)
    now = client.clock()
    for job in listed:
        if job.status == "failed":
            print(f"failed  {job.job_id}  {_relative(job, client)}  {job.failure_reason}", file=out)
        elif jobs.is_overdue(job.record, now):
            print(
                f"overdue  {job.job_id}  {_relative(job, client)}  no outcome since "
                f"{job.record.get('started_at')}: summarizer retry sends it again",
                file=out,
            )
    return _exit_for(counts)


def _count(listed: Sequence[Job]) -> Counts:
    return Counts(
        total=len(listed),
        succeeded=sum(job.status == "succeeded" for job in listed),
        failed=sum(job.status == "failed" for job in listed),
    )


def _output_path(directory: Path, relative: str) -> tuple[Path | None, str]:
    """Where ``relative``'s summary goes inside ``directory``, or None and why it may not.

    Document keys are S3 keys, which may hold ``..``, ``.``, empty segments (``//``) or start
    with ``/``: joined as they are, they would put the file outside ``directory`` or at an
    absolute path. Such names are refused (not rewritten, so two keys never share a file), and
    the final path must still resolve inside ``directory`` (a symbolic link inside it could
    point elsewhere).
    """
    name = f"{relative}.summary.txt"
    parts = name.split("/")
    bad = [part for part in parts if part in ("", ".", "..") or "\\" in part or "\0" in part]
    if bad:
        shown = "an empty segment ('//' or a leading '/')" if bad[0] == "" else repr(bad[0])
        return None, f"its document key has {shown}, which could write outside {directory}"
    path = directory.joinpath(*parts)
    if not path.resolve().is_relative_to(directory.resolve()):
        return None, f"{path} resolves outside {directory} (a symbolic link?)"
    return path, ""


def _get(args: argparse.Namespace, client: SummarizerClient, out: TextIO, err: TextIO) -> int:
    listed = client.jobs(args.target)
    results = client.summaries(args.target)
    single = target_kind(args.target) == "job"
    refused = []
    for job, text in results:
        if args.output is not None:
            relative = _relative(job, client)
            path, why = _output_path(args.output, relative)
            if path is None:
                refused.append(job.job_id)
                print(f"summarizer: not written: {relative!r} ({job.job_id}): {why}", file=err)
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text + "\n", encoding="utf-8")
            except OSError as error:
                raise UsageError(f"cannot write {path}: {error.strerror}") from None
            print(f"wrote {path}", file=err)
        elif single:
            print(text, file=out)
        else:
            print(f"== {_relative(job, client)} ({job.job_id})\n{text}\n", file=out)
    if refused:
        raise UsageError(
            f"{len(refused)} summary file(s) not written because their document keys would "
            f"leave {args.output}; print them with: summarizer get JOB_ID "
            f"({', '.join(refused)})"
        )
    counts = _count(listed)
    if not counts.done or counts.failed:
        print(f"not every job has a summary: {counts}", file=err)
    return _exit_for(counts)


def _failures(args: argparse.Namespace, client: SummarizerClient, out: TextIO) -> int:
    failed = client.failures(args.submission)
    for job in failed:
        print(f"{job.job_id}\t{_relative(job, client)}\t{job.failure_reason}", file=out)
    return EXIT_JOBS_FAILED if failed else EXIT_OK


def _retry(args: argparse.Namespace, client: SummarizerClient, err: TextIO) -> int:
    target_kind(args.target)
    sent = client.retry(args.target)
    if sent:
        print(f"re-dispatched {len(sent)} failed or overdue job(s) of {args.target}", file=err)
    else:
        print(f"nothing to retry: {args.target} has no failed or overdue jobs", file=err)
    return EXIT_OK


def check_arguments(args: argparse.Namespace) -> None:
    """Every check that needs no AWS call, so that a bad path or id is reported as such, and
    before any missing credentials or stack."""
    target = getattr(args, "target", None)
    if target is not None:
        target_kind(target)
    if args.command == "submit":
        plan_uploads(args.paths)
        if args.submission_id is not None:
            check_submission_id(args.submission_id)
        if args.timeout is not None and not args.wait:
            raise UsageError("--timeout needs --wait (it bounds the wait for the jobs)")
    elif args.command == "failures":
        if args.submission is not None and target_kind(args.submission) != "submission":
            raise UsageError(
                f"{args.submission!r} is not a submission id (like 20261201T183000Z-1a2b3c)"
            )
    elif (
        args.command == "get"
        and args.output is not None
        and args.output.exists()
        and not args.output.is_dir()
    ):
        raise UsageError(f"-o {args.output}: exists and is not a folder")


def run(
    argv: Sequence[str] | None = None,
    *,
    factory: ClientFactory = _default_factory,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one command; returns the exit code (``main`` exits with it)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        check_arguments(args)
        client = factory(args)
        if args.command == "submit":
            return _submit(args, client, out, err)
        if args.command == "status":
            return _status(args, client, out)
        if args.command == "get":
            return _get(args, client, out, err)
        if args.command == "failures":
            return _failures(args, client, out)
        return _retry(args, client, err)
    except SummarizerError as error:
        print(f"summarizer: error: {error}", file=err)
        return error.exit_code
    except KeyboardInterrupt:
        print("summarizer: interrupted", file=err)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug of ours: still no traceback for the user
        print(f"summarizer: unexpected error: {type(error).__name__}: {error}", file=err)
        return SummarizerError.exit_code


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point (``summarizer``)."""
    sys.exit(run(argv))


__all__ = ["Submission", "build_parser", "main", "run"]


if __name__ == "__main__":
    main()
