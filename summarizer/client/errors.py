"""The client's errors, each with the exit code the command line returns for it."""

from __future__ import annotations

# Exit codes a script can rely on (documented in docs/client.md).
EXIT_OK = 0
EXIT_JOBS_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FINISHED = 3
EXIT_AWS = 4
EXIT_NOT_FOUND = 5
EXIT_INTERRUPTED = 130


class SummarizerError(Exception):
    """A problem the user can act on; its message says what and how."""

    exit_code = EXIT_AWS


class UsageError(SummarizerError):
    """Bad arguments or paths."""

    exit_code = EXIT_USAGE


class StackError(SummarizerError):
    """The stack is missing, or lacks an output the client needs."""

    exit_code = EXIT_AWS


class AwsError(SummarizerError):
    """AWS refused a call, or no credentials or region are configured."""

    exit_code = EXIT_AWS


class NotFound(SummarizerError):
    """No job or submission has this id."""

    exit_code = EXIT_NOT_FOUND


class WaitTimeout(SummarizerError):
    """The jobs were not all finished when the timeout ran out."""

    exit_code = EXIT_NOT_FINISHED
