"""``python -m rehearsal`` (``make rehearse``): run a rehearsal and print its report.

The command supervises itself: the rehearsal runs in a child process of its own process group,
and whatever that group still holds when the child ends (a model server, an execution
environment) is killed and reported, so nothing is left behind, also when the rehearsal fails
or is interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Deploy the app into a local AWS emulator with the real CDK CLI, run a "
        "round trip, update, tear down, and report.",
    )
    cli.add_argument(
        "--env",
        default="dev",
        help="environment to rehearse (a key of cdk.json's summarizer.environments), or 'all'",
    )
    cli.add_argument(
        "--documents", type=int, default=50, help="documents in the round trip (default 50)"
    )
    cli.add_argument(
        "--host",
        choices=("mms", "fast"),
        default=None,
        help="the endpoint's model host: the real model server (mms) or a fast stand-in",
    )
    cli.add_argument(
        "--load", type=int, default=0, help="also a burst of this many documents (e.g. 10000)"
    )
    cli.add_argument(
        "--faults",
        type=int,
        default=0,
        metavar="DOCUMENTS",
        help="also inject each fault, one at a time, on this many documents (e.g. 50)",
    )
    cli.add_argument(
        "--no-iam",
        dest="iam",
        action="store_false",
        help="let the functions and the endpoint act as the administrator (IAM not enforced)",
    )
    cli.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="more CDK context for the synthesis, e.g. summarizer.data_path.batching_window_"
        "seconds=2 (repeatable)",
    )
    cli.add_argument("--workdir", type=Path, help="where logs go (default build/rehearsal/run)")
    cli.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    return cli


def _validate(args: argparse.Namespace) -> str | None:
    if args.env != "all" and not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", args.env):
        return f"--env must be an environment name or 'all' (got {args.env!r})"
    for item in args.context:
        if "=" not in item or not item.startswith("summarizer."):
            return f"--context takes summarizer.<key>=<value> (got {item!r})"
    for name in ("documents", "load", "faults"):
        value = getattr(args, name)
        low = 1 if name == "documents" else 0
        if not low <= value <= 100_000:
            return f"--{name} must be between {low} and 100000 (got {value})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_USAGE
    problem = _validate(args)
    if problem:
        print(f"rehearsal: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.inner:
        return _inner(args)
    return _supervise(argv)


# --- the supervisor -----------------------------------------------------------------------------


def _group_members(pgid: int) -> list[Any]:
    import psutil

    members = []
    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == pgid and process.pid != os.getpid():
                members.append(process)
    return members


def _clear_group(pgid: int) -> list[str]:
    """Terminate, then kill, whatever the rehearsal's process group still holds."""
    import psutil

    left = _group_members(pgid)
    names = []
    for process in left:
        with contextlib.suppress(psutil.Error):
            names.append(f"{process.pid} {' '.join(process.cmdline()[:3])}")
            process.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)
    return names


def _supervise(argv: list[str]) -> int:
    child = subprocess.Popen(
        [sys.executable, "-m", "rehearsal", "--inner", *argv], start_new_session=True
    )

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    left = _clear_group(child.pid)
    from rehearsal.emulator.endpoint import MMS_TMP_PREFIX

    for folder in Path(tempfile.gettempdir()).glob(f"{MMS_TMP_PREFIX}{child.pid}-*"):
        shutil.rmtree(folder, ignore_errors=True)
    if left:
        print(f"rehearsal: stopped {len(left)} process(es) it left behind:", file=sys.stderr)
        for name in left:
            print(f"  {name}", file=sys.stderr)
        return EXIT_FAILED
    print("processes left behind: none")
    return code


# --- the rehearsal ------------------------------------------------------------------------------


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _inner(args: argparse.Namespace) -> int:
    from rehearsal import report, toolchain
    from rehearsal.cdk import StepFailed
    from rehearsal.run import Options, Rehearsal

    signal.signal(signal.SIGTERM, _terminate)
    workdir = (args.workdir or toolchain.BUILD / "run").resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    # Load and fault runs are about the data path, not the model: the fast stand-in serves them
    # unless --host says otherwise.
    host = args.host or ("fast" if args.load or args.faults else "mms")
    options = Options(
        environment=args.env,
        documents=args.documents,
        host=host,
        workdir=workdir,
        load=args.load,
        faults=args.faults,
        context=tuple(args.context),
        iam=args.iam,
    )
    rehearsal = Rehearsal(options, log=lambda line: print(line, flush=True))
    started = time.monotonic()
    outcome = rehearsal.report
    try:
        outcome = rehearsal.run()
    except StepFailed as failure:
        outcome.failure = str(failure)
    except KeyboardInterrupt as interrupt:
        outcome.failure = f"interrupted ({interrupt})"
    except Exception as error:
        outcome.failure = f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    finally:
        try:
            rehearsal.close()
        except Exception as error:
            outcome.notes.append(f"stopping the emulator: {type(error).__name__}: {error}")
    outcome.timings["total"] = time.monotonic() - started
    text = report.render(outcome, options)
    print(text, flush=True)
    (workdir / "report.txt").write_text(text + "\n")
    (workdir / "report.json").write_text(json.dumps(report.as_json(outcome), indent=2) + "\n")
    return EXIT_OK if outcome.passed else EXIT_FAILED
