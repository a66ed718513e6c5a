"""The pinned CDK CLI and the project's client, run against the emulator as against AWS.

Every command gets the same clean environment: the emulator as ``AWS_ENDPOINT_URL``, fake
credentials, region us-east-1, no profile, config or credentials file of the machine, no instance
metadata. Its output goes to a log file of the run; a failure raises with the log's tail.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rehearsal import toolchain
from rehearsal.emulator import aws


class StepFailed(Exception):
    """A rehearsal step failed; the message says which and why."""


@dataclass
class Done:
    returncode: int
    output: str
    seconds: float


def environment(endpoint_url: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME", "PYENV_ROOT", "TERM")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID=aws.ADMIN_KEY,
        AWS_SECRET_ACCESS_KEY=aws.ADMIN_SECRET,
        AWS_REGION=aws.REGION,
        AWS_DEFAULT_REGION=aws.REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CDK_DISABLE_CLI_TELEMETRY="true",
        # The JS SDK's end-of-support notice for Node 20 on every call.
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE="1",
        NODE_NO_WARNINGS="1",
    )
    return env


def run(
    command: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str],
    timeout: float,
    check: bool = True,
    what: str,
) -> Done:
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        try:
            process = subprocess.run(
                list(command),
                cwd=toolchain.REPO,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            code = process.returncode
        except subprocess.TimeoutExpired:
            code = -1
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    if check and code != 0:
        reason = "timed out" if code == -1 else f"exit status {code}"
        raise StepFailed(f"{what} failed ({reason}); the end of {log}:\n{_tail(text)}")
    return Done(code, text, seconds)


def _tail(text: str, lines: int = 40) -> str:
    noise = ("NodeVersionSupportWarning", "node >=22", "upgrade to node", "a.co/", "--trace-warn")
    kept = [line for line in text.splitlines() if not any(n in line for n in noise)]
    return "\n".join(kept[-lines:])


def cdk(*arguments: str) -> list[str]:
    return [str(toolchain.CDK), *arguments, "--no-notices", "--no-color"]


def synth(out_dir: Path, context: Sequence[str], *, log: Path, env: Mapping[str, str]) -> Done:
    args = [item for pair in (("-c", c) for c in context) for item in pair]
    return run(
        cdk("synth", "--quiet", "-o", str(out_dir), *args),
        log=log,
        env=env,
        timeout=300,
        what="cdk synth",
    )


def bootstrap(assembly: Path, *, log: Path, env: Mapping[str, str]) -> Done:
    return run(
        cdk("bootstrap", f"aws://{aws.ACCOUNT}/{aws.REGION}", "--app", str(assembly)),
        log=log,
        env=env,
        timeout=300,
        what="cdk bootstrap",
    )


def deploy(assembly: Path, stacks: Sequence[str], *, log: Path, env: Mapping[str, str]) -> Done:
    return run(
        cdk(
            "deploy",
            "--app",
            str(assembly),
            "--method=direct",
            "--require-approval",
            "never",
            "--progress",
            "events",
            *stacks,
        ),
        log=log,
        env=env,
        timeout=600,
        what=f"cdk deploy {' '.join(stacks)}",
    )


def destroy(
    assembly: Path, stacks: Sequence[str], *, log: Path, env: Mapping[str, str], check: bool = True
) -> Done:
    return run(
        cdk("destroy", "--app", str(assembly), "--force", *stacks),
        log=log,
        env=env,
        timeout=600,
        check=check,
        what=f"cdk destroy {' '.join(stacks)}",
    )


def client(
    *arguments: str, log: Path, env: Mapping[str, str], timeout: float, check: bool = True,
    what: str,
) -> Done:  # fmt: skip
    """The project's own code, as a user runs it: ``.venv/bin/python -m <module> ...``."""
    return run(
        [str(toolchain.CLIENT_PYTHON), "-m", *arguments],
        log=log,
        env=env,
        timeout=timeout,
        check=check,
        what=what,
    )
