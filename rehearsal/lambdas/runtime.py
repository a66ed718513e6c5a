"""Lambda's execution side: functions run from their deployed code, as local processes.

``LambdaService.invoke`` takes a function as the emulator holds it (code zip from the assets
bucket, handler, runtime, environment, layers, timeout, reserved concurrency) and runs it in an
execution environment: a process of the runtime's local interpreter (``toolchain.interpreter``)
running ``bootstrap.py`` or ``bootstrap.js``. Environments stay warm between invocations, one
invocation at a time each, like Lambda's; a new code or configuration gets new environments. The
process sees only what Lambda would give it: the reserved ``AWS_*`` variables, the function's
own environment, credentials, and the emulator as ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import select
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal import toolchain

BOOTSTRAP_PY = Path(__file__).with_name("bootstrap.py")
BOOTSTRAP_JS = Path(__file__).with_name("bootstrap.js")
# Without reserved concurrency a function may still not run more environments than this here.
DEFAULT_CONCURRENCY = 4
STOP_TIMEOUT_S = 5.0


class Throttled(Exception):
    """The function is at its reserved concurrency (Lambda: TooManyRequestsException)."""


@dataclass(frozen=True)
class FunctionImage:
    """What an execution environment runs: a snapshot of a function's code and configuration."""

    arn: str
    name: str
    runtime: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_sha: str
    layers: tuple[str, ...]
    log_group: str
    role: str
    reserved_concurrency: int | None


@dataclass
class Outcome:
    """One invocation's result: the handler's return value, or Lambda's error shape."""

    function: str
    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_s: float = 0.0
    log: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None

    def describe(self) -> str:
        if self.error is None:
            return f"{self.function} succeeded"
        kind, message = self.error.get("errorType"), self.error.get("errorMessage")
        return f"{self.function} failed: {kind}: {message}"


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    exits: int = 0
    cold_starts: int = 0
    throttles: int = 0
    error_types: Counter[str] = field(default_factory=Counter)
    # The last few errors, for the report: "<type>: <message>".
    recent_errors: list[str] = field(default_factory=list)


class ExecutionEnvironment:
    """One warm process of a function; ``invoke`` runs one event in it."""

    def __init__(
        self,
        image: FunctionImage,
        *,
        code_dir: Path,
        opt_dir: Path,
        endpoint_url: str,
        credentials: Mapping[str, str],
        log_path: Path,
        scratch: Path,
    ) -> None:
        self.image = image
        interpreter = toolchain.interpreter(image.runtime)
        read_end, write_end = os.pipe()
        self._protocol = read_end
        self._buffer = b""
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        env = {
            **dict(image.environment),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": image.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{image.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": image.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(image.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": image.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": image.arn.split(":")[3],
            "AWS_DEFAULT_REGION": image.arn.split(":")[3],
            "AWS_ENDPOINT_URL": endpoint_url,
            **credentials,
            "REHEARSAL_PROTOCOL_FD": str(write_end),
            "REHEARSAL_ARN": image.arn,
        }
        if image.runtime.startswith("python"):
            env["REHEARSAL_OPT"] = str(opt_dir)
            env["REHEARSAL_RUNTIME_SDK"] = str(toolchain.runtime_sdk())
            command = [*interpreter.command, "-S", "-I", "-B", str(BOOTSTRAP_PY)]
        else:
            env["NODE_PATH"] = f"{opt_dir / 'nodejs' / 'node_modules'}:{toolchain.node_sdk()}"
            env["REHEARSAL_ENDPOINT"] = endpoint_url
            command = [*interpreter.command, str(BOOTSTRAP_JS)]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=code_dir,
                pass_fds=(write_end,),
            )
        os.close(write_end)

    def _read_line(self, deadline: float) -> bytes | None:
        """The next protocol line; None when the process ends or the deadline passes."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._protocol], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._protocol, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def invoke(self, event: Any, request_id: str, crash_after: str | None) -> Outcome:
        started = time.monotonic()
        deadline = started + self.image.timeout_s
        request = {
            "id": request_id,
            "event": event,
            "deadline_ms": int((time.time() + self.image.timeout_s) * 1000),
            "crash_after": crash_after,
        }
        outcome = Outcome(self.image.name, request_id)
        try:
            assert self.process.stdin is not None
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the process is gone: reported below as its exit
        line = self._read_line(deadline)
        outcome.duration_s = time.monotonic() - started
        if line is not None:
            answer = json.loads(line)
            outcome.result = answer.get("result")
            outcome.error = answer.get("error")
            return outcome
        if self.process.poll() is None and time.monotonic() >= deadline:
            self.stop()
            outcome.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.image.timeout_s:.2f} seconds",
            }
        else:
            code = self.wait_exit()
            outcome.error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {code}",
            }
        return outcome

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_exit(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        self.stop()
        return self.process.returncode

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        with contextlib.suppress(OSError):
            os.close(self._protocol)


@dataclass
class _Pool:
    idle: list[ExecutionEnvironment] = field(default_factory=list)
    busy: int = 0


class LambdaService:
    """Runs invocations in warm execution environments, per function and within its limits.

    ``credentials(role_arn)`` gives the environment variables that carry a function's
    credentials; ``layer_zip(arn)`` the content of a layer version; ``crash_after(name)`` a
    fault to inject into the next invocation of a function (see bootstrap.py), or None.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        workdir: Path,
        credentials: Callable[[str], Mapping[str, str]],
        layer_zip: Callable[[str], bytes],
        crash_after: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.workdir = workdir.resolve()
        self.credentials = credentials
        self.layer_zip = layer_zip
        self.crash_after = crash_after
        self.stats: dict[str, FunctionStats] = {}
        self.runtimes: set[str] = set()
        self._pools: dict[FunctionImage, _Pool] = {}
        self._environments: list[ExecutionEnvironment] = []
        self._lock = threading.Condition()
        self._serial = itertools.count(1)
        self._closed = False

    # --- code and layers, extracted once ---------------------------------------------------

    def _extract(self, kind: str, key: str, payloads: list[bytes]) -> Path:
        target = self.workdir / kind / hashlib.sha256(key.encode()).hexdigest()[:16]
        if not (target / ".extracted").exists():
            scratch = target.with_name(target.name + f".tmp{uuid.uuid4().hex[:6]}")
            scratch.mkdir(parents=True)
            for payload in payloads:
                with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                    archive.extractall(scratch)
            (scratch / ".extracted").touch()
            try:
                scratch.rename(target)
            except OSError:  # another thread won
                shutil.rmtree(scratch, ignore_errors=True)
        return target

    def _new_environment(self, image: FunctionImage, code: bytes) -> ExecutionEnvironment:
        code_dir = self._extract("code", image.code_sha, [code])
        opt_dir = self._extract(
            "opt", "|".join(image.layers), [self.layer_zip(arn) for arn in image.layers]
        )
        serial = next(self._serial)
        scratch = self.workdir / "tmp" / f"{image.name}-{serial}"
        scratch.mkdir(parents=True, exist_ok=True)
        self.runtimes.add(image.runtime)
        environment = ExecutionEnvironment(
            image,
            code_dir=code_dir,
            opt_dir=opt_dir,
            endpoint_url=self.endpoint_url,
            credentials=self.credentials(image.role),
            log_path=self.workdir / "logs" / image.name / f"environment-{serial}.log",
            scratch=scratch,
        )
        with self._lock:
            self._environments.append(environment)
        return environment

    # --- invocations -----------------------------------------------------------------------

    def invoke(self, image: FunctionImage, code: bytes, event: Any) -> Outcome:
        """Run ``event``; raises Throttled when the function is at its reserved concurrency."""
        stats = self.stats.setdefault(image.name, FunctionStats())
        limit = image.reserved_concurrency
        if limit is None:
            limit = DEFAULT_CONCURRENCY
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda service has stopped")
            self._retire_stale(image)
            pool = self._pools.setdefault(image, _Pool())
            if pool.busy >= limit:
                stats.throttles += 1
                raise Throttled(f"Rate Exceeded: {image.name} is at its concurrency of {limit}")
            pool.busy += 1
            environment = pool.idle.pop() if pool.idle else None
        request_id = str(uuid.uuid4())
        try:
            if environment is None or not environment.alive:
                stats.cold_starts += 1
                environment = self._new_environment(image, code)
            outcome = environment.invoke(event, request_id, self.crash_after(image.name))
        except BaseException:
            with self._lock:
                pool.busy -= 1
            raise
        stats.invocations += 1
        if outcome.error is not None:
            stats.errors += 1
            kind = str(outcome.error.get("errorType"))
            stats.error_types[kind] += 1
            stats.timeouts += kind == "Sandbox.Timedout"
            stats.exits += kind == "Runtime.ExitError"
            stats.recent_errors = [
                *stats.recent_errors[-4:],
                f"{kind}: {str(outcome.error.get('errorMessage'))[:300]}",
            ]
            outcome.log = _tail(environment.log_path)
        with self._lock:
            pool.busy -= 1
            if environment.alive and not self._closed:
                pool.idle.append(environment)
            else:
                environment.stop()
            self._lock.notify_all()
        return outcome

    def _retire_stale(self, image: FunctionImage) -> None:
        """Stop idle environments of the function's earlier code or configuration."""
        for other, pool in list(self._pools.items()):
            if other.arn == image.arn and other != image:
                for environment in pool.idle:
                    environment.stop()
                pool.idle.clear()
                if pool.busy == 0:
                    del self._pools[other]

    def forget(self, arn: str) -> None:
        """The function was deleted: stop its environments."""
        with self._lock:
            for image, pool in list(self._pools.items()):
                if image.arn == arn:
                    for environment in pool.idle:
                        environment.stop()
                    pool.idle.clear()

    def stop(self) -> None:
        """Stop every environment (waiting briefly for running invocations)."""
        with self._lock:
            self._closed = True
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while any(pool.busy for pool in self._pools.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            self._pools.clear()
            environments = list(self._environments)
        for environment in environments:
            environment.stop()

    def pids(self, name_prefix: str = "") -> list[int]:
        """Processes of environments still running (of functions named ``name_prefix...``)."""
        with self._lock:
            return [
                e.process.pid
                for e in self._environments
                if e.alive and e.image.name.startswith(name_prefix)
            ]


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]
