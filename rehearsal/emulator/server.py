"""The emulator: moto's server in this process, with the rehearsal's extensions and services.

moto runs in a thread of this process (werkzeug, a thread per request) rather than as a separate
server: the extensions patch moto's classes, the services (Lambda's execution side, the SQS
pollers, the endpoint stand-ins) share its backends, and nothing has to be started twice. It
listens on a free loopback port; clients use ``http://localhost:<port>`` (moto reads the first
label of ``127.0.0.1`` as a bucket name in S3 template URLs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rehearsal.emulator import aws
from rehearsal.emulator.state import current

# moto reads these when it first builds a backend: AWS managed policies (our Lambda roles attach
# AWSLambdaBasicExecutionRole) must exist to be attached.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")


# Where a sampled thread is waiting, not working (left out of the profile).
BLOCKING = frozenset(
    {"wait", "select", "sleep", "recv_into", "readinto", "accept", "_wait_for_tstate_lock",
     "poll", "readline", "read", "_read_line", "get", "wait_for_messages"}
)  # fmt: skip


class _Routes:
    """The emulator's own routes in front of moto's application."""

    def __init__(self, moto_app: Any) -> None:
        self.moto_app = moto_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        from rehearsal.emulator import athena, custom_resources

        athena.translate(environ)
        if current.iam is not None:
            denied = current.iam.authorize(environ)
            if denied is not None:
                from rehearsal.emulator import iam

                status, headers, body = iam.denial(*denied)
                if denied[1].startswith("AccessDenied: "):  # S3's answer for a hidden key
                    status, headers, body = iam.denial("s3", "Access Denied")
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
        path = environ.get("PATH_INFO", "")
        if path.startswith(custom_resources.RESPONSE_PATH):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            custom_resources.wsgi_response(path[len(custom_resources.RESPONSE_PATH) :], body)
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        result: Iterable[bytes] = self.moto_app(environ, start_response)
        return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _route_faster() -> None:
    """moto's server routes each request under one global lock, listing its ~200 module
    folders on disk (``list_of_moto_modules``) and matching every backend's URL patterns: at
    load, routing became the bottleneck. Both answers are the same for the same host: cache them.
    """
    import functools

    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)  # type: ignore[assignment]
    uncached = DomainDispatcherApplication.get_backend_for_host
    if getattr(uncached, "cached", False):
        return

    @functools.lru_cache(maxsize=1024)
    def routed(self: Any, host: str | None) -> Any:
        return uncached(self, host)

    routed.cached = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = routed  # type: ignore[method-assign]


def _visible_faster() -> None:
    """moto's SQS asks every message of a queue for the time (its ``visible`` and ``delayed``
    properties each build a datetime) on each receive, and, through the queue's attributes
    (the approximate counts included), on each send: a queue of thousands of messages made every
    send and receive slow. The same filters, with the time taken once."""
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    Queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment,method-assign]


def install_extensions() -> None:
    """Patch moto once per process (idempotent)."""
    from rehearsal.emulator import cfn, custom_resources, endpoint, lambdas, s3, sns

    _route_faster()
    _visible_faster()
    cfn.install(
        s3.Bucket,
        *lambdas.PROVIDERS,
        custom_resources.CustomResource,
        native=lambdas.NATIVE_TYPES,
    )
    lambdas.install()
    s3.install()
    endpoint.install()
    sns.install()


class Emulator:
    """Start, use, stop. ``host_factory`` makes each endpoint's model host."""

    def __init__(
        self,
        workdir: Path,
        *,
        host_factory: Callable[[], Any],
        retry_after_s: float = 2.0,
        enforce_iam: bool = True,
    ) -> None:
        self.workdir = workdir
        self.host_factory = host_factory
        self.enforce_iam = enforce_iam
        self.retry_after_s = retry_after_s
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._profile_dump: Callable[[], None] | None = None

    def start(self) -> Emulator:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from rehearsal.emulator import endpoint, faults, lambdas, public
        from rehearsal.lambdas.poller import Pollers
        from rehearsal.lambdas.runtime import LambdaService

        install_extensions()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_to(self.workdir / "emulator.log")
        port = free_port()
        app = _Routes(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        # A client that hung up first (a long poll at shutdown) is not an error of ours.
        close_request = self._server.close_request

        def quiet_close(request: Any) -> None:
            with contextlib.suppress(OSError):
                close_request(request)

        self._server.close_request = quiet_close
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator", daemon=True
        )
        self._thread.start()
        self.url = f"http://localhost:{port}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.environ.get("REHEARSAL_PROFILE"):
            self._start_profiler(self.workdir / "profile.txt")

        api = aws.Api(self.url)
        current.api = api
        current.endpoint_url = self.url
        current.faults = faults.Faults()
        current.iam = None
        if self.enforce_iam:
            from rehearsal.emulator.iam import Enforcer

            current.iam = Enforcer(aws.ACCOUNT, aws.REGION)
        current.lambdas = LambdaService(
            endpoint_url=self.url,
            workdir=self.workdir / "lambda",
            credentials=self.function_credentials,
            layer_zip=lambdas.layer_zip,
            crash_after=current.faults.crash_after,
        )

        def sqs_of(function_arn: str) -> Any:
            """The event source polls with the function's execution role, as Lambda does."""
            role = lambdas.function_by_arn(function_arn).role
            return aws.as_role(self.url, role, "lambda-event-source").client("sqs")

        current.pollers = Pollers(
            sqs=sqs_of,
            admin=lambda: api.client("sqs"),
            invoke=lambda arn, event: lambdas.run(lambdas.function_by_arn(arn), event),
            concurrency_of=lambda arn: lambdas.function_by_arn(arn).reserved_concurrency,
            retry_after_s=self.retry_after_s,
        )
        current.endpoints = endpoint.EndpointService(
            workdir=self.workdir / "sagemaker", host_factory=self.host_factory
        )
        public.publish(aws.ACCOUNT, aws.REGION)
        return self

    @staticmethod
    def _log_to(path: Path) -> None:
        """Requests and server errors (werkzeug) and moto's warnings go to the run's log."""
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        for name, level in (("werkzeug", logging.INFO), ("moto", logging.WARNING)):
            logger = logging.getLogger(name)
            logger.handlers = [handler]
            logger.setLevel(level)
            logger.propagate = False

    def _start_profiler(self, path: Path) -> None:
        """REHEARSAL_PROFILE=1: sample every thread's stack every 10 ms; the busiest lines of
        moto and the rehearsal go to ``profile.txt`` when the emulator stops (for load runs)."""
        import collections
        import sys
        import time
        import traceback

        counts: collections.Counter[str] = collections.Counter()
        me = threading.get_ident()

        def sample() -> None:
            while self._server is not None:
                for ident, frame in sys._current_frames().items():
                    if ident == me or frame.f_code.co_name in BLOCKING:
                        continue
                    stack = traceback.extract_stack(frame)
                    ours = [
                        f for f in stack if "/moto/" in f.filename or "/rehearsal/" in f.filename
                    ]
                    if ours and "serve_forever" not in ours[-1].name:
                        top = ours[-1]
                        counts[
                            f"{top.filename.split('site-packages/')[-1]}:{top.lineno} {top.name}"
                        ] += 1
                time.sleep(0.01)

        def dump() -> None:
            path.write_text("\n".join(f"{n:7d} {line}" for line, n in counts.most_common(60)))

        self._profile_dump = dump
        threading.Thread(target=sample, name="profiler", daemon=True).start()

    def function_credentials(self, role_arn: str) -> dict[str, str]:
        """The credentials a function's environment gets: a session of its execution role
        (the administrator's when IAM is not enforced)."""
        if current.iam is None:
            return {"AWS_ACCESS_KEY_ID": aws.ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": aws.ADMIN_SECRET}
        return dict(current.iam.session(role_arn, role_arn.rsplit("/", 1)[1]).credentials)

    def pids(self) -> list[int]:
        """Processes the emulator started that are still running."""
        found: list[int] = []
        if current.lambdas is not None:
            found += current.lambdas.pids()
        if current.endpoints is not None:
            found += current.endpoints.pids()
        return found

    def stop(self) -> None:
        """Stop pollers, endpoints, execution environments and the server; idempotent."""
        if self._profile_dump is not None:
            self._profile_dump()
        if current.pollers is not None:
            current.pollers.stop()
        if current.endpoints is not None:
            current.endpoints.stop()
        if current.lambdas is not None:
            current.lambdas.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
