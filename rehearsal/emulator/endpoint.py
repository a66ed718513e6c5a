"""SageMaker asynchronous inference, played by a stand-in that runs the deployed model archive.

moto (5.2.x) answers ``InvokeEndpointAsync`` by writing a canned body to a random bucket: it
ignores the endpoint configuration's output and failure paths, its KMS key and its topics, and
sends no notification. Here each deployed endpoint with an ``AsyncInferenceConfig`` gets an
``AsyncEndpoint``:

* on creation it fetches the model's ``ModelDataUrl`` from S3 (the CDK asset built by
  ``constructs_lib/model/archive.py``), extracts it, and starts a ``ModelHost`` with the model's
  deployed container environment; the endpoint is ``Creating`` until the host answers, then
  ``InService`` (or ``Failed`` with the reason); it publishes SageMaker's ``TestNotification`` to
  both topics;
* ``InvokeEndpointAsync`` validates the request and queues it (202, output and failure
  locations, inference id) as SageMaker does; the endpoint's workers (instances x
  ``MaxConcurrentInvocationsPerInstance``) read the input from S3, call the host, write the
  response to ``S3OutputPath`` or the error to ``S3FailurePath`` (encrypted with ``KmsKeyId``)
  and publish the documented success or error notification.

The host is pluggable (``ModelHost``): ``MmsModelHost`` runs the real multi-model-server with
the Hugging Face toolkit, as the DLC does, on the tiny test PEGASUS; ``FastModelHost`` answers
instantly for load runs. Scaling, instance counts and CloudWatch metrics are not emulated.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import queue
import random
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.sagemakerruntime import responses as runtime_responses

from rehearsal import toolchain
from rehearsal.emulator.providers import NotEmulated
from rehearsal.emulator.state import current

START_TIMEOUT_S = 240.0
# Each model server's private temporary folder: <tempdir>/rehearsal-mms-<pid>-<random>.
MMS_TMP_PREFIX = "rehearsal-mms-"
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class ModelHost(Protocol):
    """What serves ``/invocations`` for one endpoint."""

    description: str

    def start(self, model_dir: Path, environment: Mapping[str, str], workdir: Path) -> None: ...

    def invoke(
        self, body: bytes, content_type: str, accept: str | None, custom_attributes: str | None,
        timeout_s: float,
    ) -> Answer: ...  # fmt: skip

    def stop(self) -> None: ...

    def pids(self) -> list[int]: ...


# --- the real model server ------------------------------------------------------------------


def _free_port(rng: random.Random) -> int:
    # multi-model-server refuses ports above 32767 ("Invalid port number").
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port between 20000 and 32000 on 127.0.0.1")


class MmsModelHost:
    """multi-model-server 1.1.11 + the Hugging Face inference toolkit (the DLC's serving stack)
    from ``.venv-model``, on loopback, with the deployed container environment."""

    description = "multi-model-server + Hugging Face toolkit (the DLC's stack), tiny PEGASUS"

    def __init__(self) -> None:
        self.url = ""
        self.java_pid: int | None = None
        self.workdir: Path | None = None
        self.private_tmp: Path | None = None

    def start(self, model_dir: Path, environment: Mapping[str, str], workdir: Path) -> None:
        launcher = toolchain.MODEL_VENV_PYTHON.parent / "multi-model-server"
        if not launcher.exists():
            raise RuntimeError(f"{launcher} is missing: make rehearse installs .venv-model")
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RuntimeError("multi-model-server needs a Java runtime (java on PATH)")
        self.workdir = workdir
        store = model_dir.parent
        # The worker's Unix socket lives here: its path must stay under 108 characters.
        private_tmp = Path(tempfile.mkdtemp(prefix=f"{MMS_TMP_PREFIX}{os.getpid()}-"))
        self.private_tmp = private_tmp
        rng = random.Random()
        inference_port, management_port = _free_port(rng), _free_port(rng)
        while management_port == inference_port:
            management_port = _free_port(rng)
        config = workdir / "mms.properties"
        config.write_text(
            "\n".join(
                [
                    # The DLC's default-mms.properties, and what its start adds, on loopback.
                    "enable_envvars_config=true",
                    "decode_input_request=false",
                    f"inference_address=http://127.0.0.1:{inference_port}",
                    f"management_address=http://127.0.0.1:{management_port}",
                    "default_service_handler="
                    "sagemaker_huggingface_inference_toolkit.handler_service",
                    "default_workers_per_model=1",
                    "default_response_timeout=60",
                    f"model_store={store}",
                    "",
                ]
            )
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("HF_", "SAGEMAKER_", "MMS_", "AWS_", "SUMMARIZER_"))
            and key != "PYTHONPATH"
        }
        env.update(
            TMPDIR=str(private_tmp),
            TEMP=str(private_tmp),
            PATH=f"{launcher.parent}{os.pathsep}{env.get('PATH', '')}",
            OMP_NUM_THREADS="1",
            HF_HUB_OFFLINE="1",
            **environment,
        )
        with (workdir / "launcher.log").open("wb") as log:
            subprocess.run(
                [
                    str(launcher),
                    "--start",
                    "--mms-config",
                    str(config),
                    "--model-store",
                    str(store),
                    "--models",
                    f"model={model_dir.name}",
                ],
                cwd=workdir,
                env=env,
                check=True,
                timeout=60,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.java_pid = int((private_tmp / ".model_server.pid").read_text().strip())
        self.url = f"http://127.0.0.1:{inference_port}"
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        """``/ping`` answers before the worker has loaded the model: wait for a first answer."""
        import psutil

        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.java_pid is None or not psutil.pid_exists(self.java_pid):
                raise RuntimeError(f"the model server exited while starting\n{self.logs()}")
            answer = self.invoke(b"warm up", "text/plain", None, None, 30)
            if answer.status == 200:
                return
            last = f"{answer.status} {answer.body[:300]!r}"
            time.sleep(0.5)
        raise RuntimeError(f"the model server did not answer in {START_TIMEOUT_S} s: {last}")

    def invoke(
        self,
        body: bytes,
        content_type: str,
        accept: str | None,
        custom_attributes: str | None,
        timeout_s: float,
    ) -> Answer:
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        request = urllib.request.Request(
            f"{self.url}/invocations", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return Answer(answer.status, answer.headers.get("Content-Type", ""), answer.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers.get("Content-Type", ""), error.read())
        except OSError as error:
            return Answer(503, "text/plain", str(error).encode())

    def logs(self) -> str:
        if self.workdir is None:
            return ""
        chunks = []
        for name in ("launcher.log", "logs/mms_log.log", "logs/model_log.log"):
            path = self.workdir / name
            if path.exists():
                chunks.append(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(chunks)

    def pids(self) -> list[int]:
        import psutil

        if self.java_pid is None:
            return []
        try:
            root = psutil.Process(self.java_pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop the Java frontend and its Python workers, by PID (stopping Java alone leaves
        the worker running)."""
        import psutil

        if self.private_tmp is not None:
            shutil.rmtree(self.private_tmp, ignore_errors=True)
        if self.java_pid is None:
            return
        try:
            root = psutil.Process(self.java_pid)
        except psutil.NoSuchProcess:
            return
        processes = [*root.children(recursive=True), root]
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT_S)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
        self.java_pid = None


# --- the fast stand-in for load runs ------------------------------------------------------------


class FastModelHost:
    """Answers at once, following the handler's JSON Lines contract (``model_code/README.md``):
    one output line per input line with its ``id``, a ``summary_text`` (the first words), or an
    ``error`` for a line whose parameters the real handler refuses (``num_beams`` out of 1-16).
    For load runs, where the model's speed is not the question."""

    description = "fast stand-in (first words as the summary), for load runs"

    def start(self, model_dir: Path, environment: Mapping[str, str], workdir: Path) -> None:
        if not (model_dir / "code" / "inference.py").exists():
            raise RuntimeError("the model archive has no code/inference.py")

    def _line(self, number: int, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or not isinstance(item.get("inputs"), str):
            return {"error": f"line {number}: expected an object with 'inputs' (a string)"}
        out: dict[str, Any] = {"id": item["id"]} if "id" in item else {}
        beams = (item.get("parameters") or {}).get("num_beams", 4)
        if not isinstance(beams, int) or not 1 <= beams <= 16:
            return {**out, "error": f"line {number}: parameter 'num_beams' must be between 1 "
                    f"and 16, got {beams}"}  # fmt: skip
        words = item["inputs"].split()
        return {
            **out,
            "summary_text": " ".join(words[:12]) or "-",
            "input_tokens": len(words),
            "chunks": 1,
            "rounds": 1,
        }

    def invoke(
        self,
        body: bytes,
        content_type: str,
        accept: str | None,
        custom_attributes: str | None,
        timeout_s: float,
    ) -> Answer:
        kind = content_type.split(";")[0].strip()
        try:
            text = body.decode("utf-8")
            if kind == "application/jsonlines":
                lines = [json.loads(line) for line in text.splitlines() if line.strip()]
                out = "".join(json.dumps(self._line(i + 1, x)) + "\n" for i, x in enumerate(lines))
                return Answer(200, "application/jsonlines", out.encode())
            if kind == "application/json":
                item = json.loads(text)
                inputs = item["inputs"] if isinstance(item, dict) else None
                if isinstance(inputs, str):
                    inputs = [inputs]
                if not isinstance(inputs, list):
                    raise ValueError("'inputs' must be a string or an array of strings")
                params = item.get("parameters")
                results = [self._line(1, {"inputs": x, "parameters": params}) for x in inputs]
                if any("error" in r for r in results):
                    raise ValueError(results[0].get("error", "bad request"))
                return Answer(200, "application/json", json.dumps(results).encode())
            if kind == "text/plain":
                if not text.strip():
                    raise ValueError("text/plain body is empty or whitespace-only")
                result = [self._line(1, {"inputs": text})]
                return Answer(200, "application/json", json.dumps(result).encode())
            raise ValueError(f"unsupported content type {kind!r}")
        except (ValueError, KeyError, UnicodeDecodeError) as error:
            message = json.dumps({"code": 400, "type": "BadRequest", "message": str(error)})
            return Answer(400, "application/json", message.encode())

    def stop(self) -> None:
        pass

    def pids(self) -> list[int]:
        return []


# --- one async endpoint -------------------------------------------------------------------------


def _iso(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise NotEmulated(f"only s3:// paths are emulated, got {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


@dataclass
class Request:
    inference_id: str
    input_location: str
    content_type: str
    accept: str | None
    custom_attributes: str | None
    ttl_s: int
    timeout_s: int
    output_location: str
    failure_location: str
    received: _dt.datetime


@dataclass
class EndpointStats:
    requests: int = 0
    served: int = 0
    succeeded: int = 0
    failed: int = 0
    lines: int = 0
    refused: int = 0
    throttled: int = 0
    notifications: int = 0
    host_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


class AsyncEndpoint:
    def __init__(
        self,
        *,
        name: str,
        region: str,
        account: str,
        async_config: Mapping[str, Any],
        variants: list[Mapping[str, Any]],
        model: Mapping[str, Any],
        role_arn: str,
        host: ModelHost,
        workdir: Path,
        on_ready: Callable[[str, str | None], None],
    ) -> None:
        output = async_config.get("OutputConfig") or {}
        for unsupported in ("IncludeInferenceResponseIn",):
            if unsupported in (output.get("NotificationConfig") or {}):
                raise NotEmulated(f"AsyncInferenceConfig NotificationConfig.{unsupported}")
        self.name = name
        self.region = region
        self.account = account
        self.output_path = output.get("S3OutputPath", "")
        self.failure_path = output.get("S3FailurePath") or ""
        self.kms_key = output.get("KmsKeyId")
        notification = output.get("NotificationConfig") or {}
        self.success_topic = notification.get("SuccessTopic")
        self.error_topic = notification.get("ErrorTopic")
        client = async_config.get("ClientConfig") or {}
        per_instance = int(client.get("MaxConcurrentInvocationsPerInstance") or 1)
        instances = sum(int(v.get("InitialInstanceCount") or 1) for v in variants)
        self.workers = max(1, per_instance * instances)
        self.model = model
        self.role_arn = role_arn
        self._api: Any = None
        self.host = host
        self.workdir = workdir
        self.on_ready = on_ready
        self.stats = EndpointStats()
        self.requests: queue.Queue[Request | None] = queue.Queue()
        self.ready = threading.Event()
        self.failure: str | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = False

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        starter = threading.Thread(target=self._start, name=f"endpoint-{self.name}", daemon=True)
        starter.start()
        self._threads.append(starter)

    def _model_dir(self) -> Path:
        container = self.model
        url = container.get("ModelDataUrl")
        if not url:
            raise NotEmulated(f"endpoint {self.name}: a model without ModelDataUrl")
        bucket, key = _split(url)
        archive = self.call("s3", "GetObject", Bucket=bucket, Key=key)["Body"].read()
        model_dir = self.workdir / "store" / "model"
        shutil.rmtree(model_dir.parent, ignore_errors=True)
        model_dir.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            tar.extractall(model_dir, filter="data")
        if not (model_dir / "config.json").exists():
            # The weights come from the Hub (HF_MODEL_ID) in AWS; none can be fetched here, so
            # the tiny test PEGASUS stands in for them, beside the deployed code/.
            for item in toolchain.tiny_model().iterdir():
                if item.name.startswith("."):
                    continue
                target = model_dir / item.name
                if item.is_dir():
                    shutil.copytree(item, target)
                else:
                    shutil.copy2(item, target)
        return model_dir

    def _start(self) -> None:
        try:
            model_dir = self._model_dir()
            self.host.start(model_dir, dict(self.model.get("Environment") or {}), self.workdir)
        except Exception as error:
            self.failure = f"{type(error).__name__}: {error}"
            self.on_ready(self.name, self.failure)
            self.ready.set()
            return
        for topic in {self.success_topic, self.error_topic} - {None}:
            self._publish(str(topic), {"eventName": "TestNotification"})
        for index in range(self.workers):
            worker = threading.Thread(
                target=self._work, name=f"endpoint-{self.name}-{index}", daemon=True
            )
            worker.start()
            self._threads.append(worker)
        self.on_ready(self.name, None)
        self.ready.set()

    def stop(self) -> None:
        self._stopped = True
        for _ in range(self.workers):
            self.requests.put(None)
        self.host.stop()

    # --- requests -------------------------------------------------------------------------------

    def accept(self, params: Mapping[str, str | None]) -> Request:
        """Validate and queue one InvokeEndpointAsync (what the API answers with)."""
        location = params.get("InputLocation")
        if not location:
            raise JsonRESTError("ValidationError", "InputLocation is required")
        _split(location)
        inference_id = params.get("InferenceId") or str(uuid.uuid4())
        name = uuid.uuid4()
        output_path = self.output_path.rstrip("/")
        if params.get("S3OutputPathExtension"):
            output_path += "/" + str(params["S3OutputPathExtension"]).strip("/")
        filename = params.get("Filename") or f"{name}.out"
        ttl = int(params.get("RequestTTLSeconds") or 21600)
        timeout = int(params.get("InvocationTimeoutSeconds") or 900)
        if not 60 <= ttl <= 21600:
            raise JsonRESTError("ValidationError", "RequestTTLSeconds must be 60 to 21600")
        if not 1 <= timeout <= 3600:
            raise JsonRESTError("ValidationError", "InvocationTimeoutSeconds must be 1 to 3600")
        request = Request(
            inference_id=inference_id,
            input_location=location,
            content_type=params.get("ContentType") or "application/octet-stream",
            accept=params.get("Accept"),
            custom_attributes=params.get("CustomAttributes"),
            ttl_s=ttl,
            timeout_s=timeout,
            output_location=f"{output_path}/{filename}",
            failure_location=(
                f"{self.failure_path.rstrip('/')}/{name}-error.out" if self.failure_path else ""
            ),
            received=_now(),
        )
        self.stats.requests += 1
        self.requests.put(request)
        return request

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """The endpoint acts with the model's execution role, as SageMaker does."""
        if self._api is None:
            from rehearsal.emulator import aws

            self._api = aws.as_role(current.endpoint_url, self.role_arn, "sagemaker-endpoint")
        return self._api.call(service, operation, self.region, **params)

    def _work(self) -> None:
        while not self._stopped:
            request = self.requests.get()
            if request is None:
                return
            try:
                self._serve(request)
            except Exception as error:  # the endpoint reports and serves on
                self.stats.failures.append(
                    f"{request.inference_id}: {type(error).__name__}: {error}"
                )

    def _put(self, uri: str, body: bytes, content_type: str) -> None:
        bucket, key = _split(uri)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        if content_type:
            params["ContentType"] = content_type
        if self.kms_key:
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = self.kms_key
        self.call("s3", "PutObject", **params)

    def _serve(self, request: Request) -> None:
        self.stats.served += 1
        if (_now() - request.received).total_seconds() > request.ttl_s:
            self._fail(request, "Request expired: it was not processed within RequestTTLSeconds")
            return
        bucket, key = _split(request.input_location)
        try:
            body = self.call("s3", "GetObject", Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:
            self._fail(request, f"ClientError: Failed to download the request from "
                       f"{request.input_location}: {error}")  # fmt: skip
            return
        if "jsonlines" in request.content_type:
            self.stats.lines += sum(1 for line in body.splitlines() if line.strip())
        else:
            self.stats.lines += 1
        faults = current.faults
        started = time.monotonic()
        if faults is not None and faults.take("endpoint_refuses"):
            self.stats.refused += 1
            answer = Answer(500, "application/json",
                            b'{"code": 500, "message": "injected fault: the model refused the '
                            b'whole request"}')  # fmt: skip
        else:
            answer = self.host.invoke(
                body, request.content_type, request.accept, request.custom_attributes,
                request.timeout_s,
            )  # fmt: skip
        self.stats.host_seconds += time.monotonic() - started
        if answer.status == 200:
            self._put(request.output_location, answer.body, answer.content_type)
            self.stats.succeeded += 1
            self._notify(
                request,
                self.success_topic,
                {
                    "invocationStatus": "Completed",
                    "responseParameters": {
                        "contentType": answer.content_type,
                        "outputLocation": request.output_location,
                    },
                },
            )
            return
        message = _message_of(answer.body)
        kind = "ClientError" if 400 <= answer.status < 500 else "ServerError"
        side = "client" if kind == "ClientError" else "server"
        reason = (
            f"{kind}: Received {side} error ({answer.status}) from primary with message "
            f'"{message}". See the model server logs for more information.'
        )
        if request.failure_location:
            self._put(request.failure_location, answer.body, answer.content_type)
        self._fail(request, reason, written=True)

    def _fail(self, request: Request, reason: str, *, written: bool = False) -> None:
        self.stats.failed += 1
        if request.failure_location and not written:
            self._put(request.failure_location, reason.encode(), "text/plain")
        body: dict[str, Any] = {"invocationStatus": "Failed", "failureReason": reason}
        if request.failure_location:
            body["failureLocation"] = request.failure_location
        self._notify(request, self.error_topic, body)

    def _notify(self, request: Request, topic: str | None, fields: dict[str, Any]) -> None:
        """SageMaker's async inference notification (FACTS: success and error bodies)."""
        if not topic:
            return
        message = {
            "awsRegion": self.region,
            "eventTime": _iso(_now()),
            "receivedTime": _iso(request.received),
            "invocationStatus": fields.pop("invocationStatus"),
            "requestParameters": {
                "contentType": request.content_type,
                "endpointName": self.name,
                "inputLocation": request.input_location,
            },
            **fields,
            "inferenceId": request.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        self._publish(topic, message)

    def _publish(self, topic: str, message: dict[str, Any]) -> None:
        self.call("sns", "Publish", TopicArn=topic, Message=json.dumps(message))
        self.stats.notifications += 1


def _message_of(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:1000]
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"]
    return text[:1000]


# --- the service, and moto's hooks ------------------------------------------------------------


class EndpointService:
    """The async endpoints of the emulator, created and deleted with moto's endpoints."""

    def __init__(self, *, workdir: Path, host_factory: Callable[[], ModelHost]) -> None:
        self.workdir = workdir
        self.host_factory = host_factory
        self.endpoints: dict[tuple[str, str, str], AsyncEndpoint] = {}
        self.retired: list[AsyncEndpoint] = []
        self._lock = threading.Lock()

    def created(self, backend: Any, endpoint: Any) -> None:
        config = backend.endpoint_configs[endpoint.endpoint_config_name]
        async_config = config.async_inference_config or {}
        if not async_config:
            raise NotEmulated(
                f"endpoint {endpoint.endpoint_name}: only asynchronous endpoints are emulated"
            )
        variants = config.production_variants
        if len(variants) != 1:
            raise NotEmulated(f"endpoint {endpoint.endpoint_name}: one production variant only")
        model = backend.describe_model(variants[0]["ModelName"])
        if model.containers:
            raise NotEmulated(f"endpoint {endpoint.endpoint_name}: multi-container models")
        endpoint.endpoint_status = "Creating"
        key = (backend.account_id, backend.region_name, endpoint.endpoint_name)

        def on_ready(name: str, failure: str | None) -> None:
            endpoint.endpoint_status = "Failed" if failure else "InService"
            endpoint.failure_reason = failure

        stand_in = AsyncEndpoint(
            name=endpoint.endpoint_name,
            region=backend.region_name,
            account=backend.account_id,
            async_config=async_config,
            variants=variants,
            model=model.primary_container,
            role_arn=model.execution_role_arn,
            host=self.host_factory(),
            workdir=self.workdir / "endpoints" / f"{endpoint.endpoint_name}-{uuid.uuid4().hex[:6]}",
            on_ready=on_ready,
        )
        stand_in.workdir.mkdir(parents=True)
        with self._lock:
            self.endpoints[key] = stand_in
        stand_in.start()

    def deleted(self, backend: Any, name: str) -> None:
        with self._lock:
            stand_in = self.endpoints.pop((backend.account_id, backend.region_name, name), None)
        if stand_in is not None:
            stand_in.stop()
            self.retired.append(stand_in)

    def find(self, account: str, region: str, name: str) -> AsyncEndpoint:
        with self._lock:
            stand_in = self.endpoints.get((account, region, name))
        if stand_in is None:
            raise JsonRESTError(
                "ValidationError", f"Endpoint {name} of account {account} not found."
            )
        return stand_in

    def all(self) -> list[AsyncEndpoint]:
        with self._lock:
            return [*self.endpoints.values(), *self.retired]

    def stop(self) -> None:
        with self._lock:
            endpoints = list(self.endpoints.values())
            self.endpoints.clear()
            self.retired.extend(endpoints)
        for stand_in in endpoints:
            stand_in.stop()

    def pids(self) -> list[int]:
        return [pid for e in self.all() for pid in e.host.pids()]


_HEADERS = {
    "ContentType": "X-Amzn-SageMaker-Content-Type",
    "Accept": "X-Amzn-SageMaker-Accept",
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
    "InputLocation": "X-Amzn-SageMaker-InputLocation",
    "S3OutputPathExtension": "X-Amzn-SageMaker-S3OutputPathExtension",
    "Filename": "X-Amzn-SageMaker-Filename",
    "RequestTTLSeconds": "X-Amzn-SageMaker-RequestTTLSeconds",
    "InvocationTimeoutSeconds": "X-Amzn-SageMaker-InvocationTimeoutSeconds",
}


def _invoke_endpoint_async(self: Any) -> Any:
    """``InvokeEndpointAsync`` (HTTP 202): queue the request on the endpoint's stand-in."""
    name = self.path.split("/")[2]
    service = current.endpoints
    if service is None:
        raise RuntimeError("the emulator's endpoint service is not running")
    faults = current.faults
    stand_in = service.find(self.current_account, self.region, name)
    if stand_in.failure:
        raise JsonRESTError("ValidationError", f"Endpoint {name} is Failed: {stand_in.failure}")
    if faults is not None and faults.take("invoke_throttled"):
        stand_in.stats.throttled += 1
        raise JsonRESTError("ThrottlingException", "Rate exceeded (injected fault)")
    params = {field_name: self.headers.get(header) for field_name, header in _HEADERS.items()}
    request = stand_in.accept(params)
    headers = {"X-Amzn-SageMaker-OutputLocation": request.output_location}
    if request.failure_location:
        headers["X-Amzn-SageMaker-FailureLocation"] = request.failure_location
    return 202, headers, json.dumps({"InferenceId": request.inference_id})


_moto_create_endpoint = sagemaker_models.SageMakerModelBackend.create_endpoint
_moto_delete_endpoint = sagemaker_models.SageMakerModelBackend.delete_endpoint


def _create_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
    endpoint = _moto_create_endpoint(self, endpoint_name, endpoint_config_name, tags)
    if current.endpoints is not None:
        try:
            current.endpoints.created(self, endpoint)
        except Exception:
            del self.endpoints[endpoint_name]
            raise
    return endpoint


def _delete_endpoint(self: Any, endpoint_name: str) -> None:
    _moto_delete_endpoint(self, endpoint_name)
    if current.endpoints is not None:
        current.endpoints.deleted(self, endpoint_name)


def _validate_instance_type(self: Any, instance_type: str) -> None:
    """SageMaker's current instance types, as botocore's service model lists them (moto's own
    list predates ml.g5 and later)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    allowed = model.shape_for("ProductionVariantInstanceType").enum
    if instance_type not in allowed:
        raise SageMakerValidationError(
            message=f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
            "Member must satisfy enum value set"
        )


def install() -> None:
    runtime_responses.SageMakerRuntimeResponse.invoke_endpoint_async = _invoke_endpoint_async  # type: ignore[method-assign]
    sagemaker_models.SageMakerModelBackend.create_endpoint = _create_endpoint  # type: ignore[method-assign]
    sagemaker_models.SageMakerModelBackend.delete_endpoint = _delete_endpoint  # type: ignore[method-assign]
    for cls in vars(sagemaker_models).values():
        if isinstance(cls, type) and hasattr(cls, "validate_instance_type"):
            cls.validate_instance_type = _validate_instance_type
