"""Container contract: the real model server runs the handler the way the DLC does.

multi-model-server 1.1.11 (Java frontend + Python worker) with the Hugging Face toolkit 2.6.0 as
service handler serves a model directory laid out like the extracted ``model.tar.gz``: the tiny
model's files at the root and ``code/inference.py`` copied from ``model_code/``. Everything
listens on 127.0.0.1 only, every wait is bounded, and the server's processes (Java and its
Python workers) are stopped by PID at the end.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

psutil = pytest.importorskip("psutil")
pytest.importorskip("mms")

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


@dataclass
class ModelServer:
    url: str
    work_dir: Path
    java_pid: int

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        """One HTTP call, returning 4xx/5xx answers instead of raising."""
        method = "GET" if body is None else "POST"
        request = urllib.request.Request(
            self.url + path, data=body, headers=headers or {}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                return Response(
                    answer.status, answer.headers.get("Content-Type", ""), answer.read()
                )
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers.get("Content-Type", ""), error.read())

    def logs(self, *, full: bool = False) -> str:
        """The server's own log files (their tails unless ``full``), for failure messages."""
        chunks = []
        for name in ("launcher.log", "logs/mms_log.log", "logs/model_log.log"):
            log = self.work_dir / name
            if log.exists():
                text = log.read_text(errors="replace")
                chunks.append(f"--- {name} ---\n{text if full else text[-4000:]}")
        return "\n".join(chunks)


def _free_ports(count: int) -> list[int]:
    """Free loopback ports below 32767: MMS refuses higher ones ("Invalid port number"), so the
    kernel's ephemeral range (from 32768) cannot be used."""
    rng = random.Random()
    ports: list[int] = []
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("no free port between 20000 and 32000 on 127.0.0.1")


def _stop(pid: int) -> None:
    """Terminate the Java frontend and every worker under it; kill what does not exit."""
    try:
        root = psutil.Process(pid)
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
    _, still_alive = psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
    assert not still_alive, f"model server processes survived: {still_alive}"


# A test-only entry point (SAGEMAKER_PROGRAM) beside the real handler: it imports inference.py,
# which imports the modules beside it, and sleeps on request so timeouts can be measured.
SLOW_PROGRAM = """\
import time

import inference
from inference import input_fn, model_fn, output_fn


def predict_fn(data, model):
    if data.articles[0].startswith("sleep "):
        time.sleep(float(data.articles[0].split()[1]))
    return inference.predict_fn(data, model)
"""


def _layout_model_dir(store: Path, tiny_model_dir: Path) -> None:
    """The extracted archive: weights at the root, the handler under code/."""
    model_dir = store / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    (model_dir / "code").mkdir()
    # The archive packs the whole model_code/ folder: inference.py and the modules it imports.
    for source in sorted((REPO_ROOT / "model_code").glob("*.py")):
        shutil.copy2(source, model_dir / "code" / source.name)
    (model_dir / "code" / "slow_inference.py").write_text(SLOW_PROGRAM)


@contextlib.contextmanager
def _running_server(
    tiny_model_dir: Path, work_dir: Path, extra_env: dict[str, str]
) -> Iterator[ModelServer]:
    """Start multi-model-server the way the DLC does, wait for a first answer, stop it by PID."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("java is not installed: multi-model-server needs a Java runtime")
    launcher = Path(sys.executable).parent / "multi-model-server"
    assert launcher.exists(), f"{launcher} is missing: install requirements-model.txt"

    store = work_dir / "store"
    private_tmp = work_dir / "tmp"  # pid file and worker sockets: no clash with other servers
    private_tmp.mkdir()
    _layout_model_dir(store, tiny_model_dir)
    inference_port, management_port = _free_ports(2)
    config = work_dir / "mms.properties"
    config.write_text(
        "\n".join(
            [
                # What the DLC's sagemaker-inference default-mms.properties sets ...
                "enable_envvars_config=true",
                "decode_input_request=false",
                # ... and what its start_model_server adds, on loopback instead of 0.0.0.0
                # (default_response_timeout is SAGEMAKER_MODEL_SERVER_TIMEOUT, default 60).
                f"inference_address=http://127.0.0.1:{inference_port}",
                f"management_address=http://127.0.0.1:{management_port}",
                "default_service_handler=sagemaker_huggingface_inference_toolkit.handler_service",
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
        if not key.startswith(("HF_", "SUMMARIZER_", "MAX_ARTICLES", "SAGEMAKER_", "MMS_"))
        # Nothing but the toolkit may put the handler's code/ on the path.
        and key != "PYTHONPATH"
    }
    env.update(
        TMPDIR=str(private_tmp),
        TEMP=str(private_tmp),
        PATH=f"{launcher.parent}{os.pathsep}{env.get('PATH', '')}",
        OMP_NUM_THREADS="1",
        **extra_env,
    )
    with (work_dir / "launcher.log").open("wb") as launcher_log:
        subprocess.run(
            [
                str(launcher),
                "--start",
                "--mms-config",
                str(config),
                "--model-store",
                str(store),
                "--models",
                "model=model",
            ],
            cwd=work_dir,
            env=env,
            check=True,
            timeout=60,
            stdout=launcher_log,
            stderr=subprocess.STDOUT,
        )
    java_pid = int((private_tmp / ".model_server.pid").read_text().strip())
    server = ModelServer(f"http://127.0.0.1:{inference_port}", work_dir, java_pid)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        _stop(java_pid)


@pytest.fixture(scope="module")
def model_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The handler as deployed: inference.py and its modules, the DLC's server settings."""
    work_dir = tmp_path_factory.mktemp("model-server")
    with _running_server(tiny_model_dir, work_dir, {}) as server:
        yield server


def _wait_until_ready(server: ModelServer) -> None:
    """/ping answers before the worker has loaded the model: wait for a first real answer."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if not psutil.pid_exists(server.java_pid):
            pytest.fail(f"model server exited during start\n{server.logs()}")
        try:
            answer = server.request("/invocations", b"warm up", {"Content-Type": "text/plain"})
            if answer.status == 200:
                return
            last = f"{answer.status} {answer.body[:200]!r}"
        except OSError as error:
            last = repr(error)
        time.sleep(0.5)
    pytest.fail(f"model server not ready after {START_TIMEOUT_S} s ({last})\n{server.logs()}")


def test_ping(model_server: ModelServer) -> None:
    assert model_server.request("/ping").status == 200


def test_text_plain_summary(model_server: ModelServer) -> None:
    answer = model_server.request(
        "/invocations",
        "Scientists measured the temperature of the ocean. Café über 漢字.".encode(),
        {"Content-Type": "text/plain; charset=utf-8"},
    )
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    (result,) = json.loads(answer.body.decode("utf-8"))
    assert isinstance(result["summary_text"], str) and result["summary_text"]
    assert result["chunks"] == 1 and result["input_tokens"] > 0


def test_json_batch_with_a_long_document(model_server: ModelServer) -> None:
    long_document = " ".join(
        f"The council met on day {day} to discuss the new bridge over the river."
        for day in range(60)
    )
    body = {
        "inputs": ["The quick brown fox.", long_document],
        "parameters": {"max_length": 8, "min_length": 8, "num_beams": 2},
    }
    answer = model_server.request(
        "/invocations",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert answer.status == 200, answer.body
    short, long = json.loads(answer.body)
    assert short["chunks"] == 1
    assert long["chunks"] > 10 and long["rounds"] >= 2


def test_jsonlines_in_and_out(model_server: ModelServer) -> None:
    answer = model_server.request(
        "/invocations",
        b'"The fox jumps."\n{"inputs": "The dog sleeps.", "parameters": {"max_length": 6}}\n',
        {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
    )
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/jsonlines")
    lines = answer.body.decode("utf-8").splitlines()
    assert [set(json.loads(line)) for line in lines] == [
        {"summary_text", "input_tokens", "chunks", "rounds"}
    ] * 2


def test_jsonlines_with_ids_answer_per_line(model_server: ModelServer) -> None:
    """The data path's request: one bad document fails its own line, the request is a 200."""
    body = (
        b'{"id": "3f2a", "inputs": "The fox jumps."}\n'
        b'{"id": "9b1c", "inputs": "The dog.", "parameters": {"num_beams": 0}}\n'
        b'{"id": "c0de", "inputs": "The council met."}\n'
    )
    answer = model_server.request(
        "/invocations",
        body,
        {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
    )
    assert answer.status == 200, answer.body
    results = [json.loads(line) for line in answer.body.decode("utf-8").splitlines()]
    assert [result["id"] for result in results] == ["3f2a", "9b1c", "c0de"]
    assert results[1] == {
        "id": "9b1c",
        "error": "line 2: parameter 'num_beams' must be between 1 and 16, got 0",
    }
    assert {"summary_text", "input_tokens", "chunks", "rounds"} <= set(results[0])


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (
            {"Content-Type": "application/json"},
            b'{"inputs": 5}',
            "'inputs' must be a string or an array of strings, got integer",
        ),
        (
            {"Content-Type": "text/csv"},
            b"inputs\nThe fox.",
            "unsupported content type 'text/csv': use one of application/json, "
            "application/jsonlines, text/plain",
        ),
        ({"Content-Type": "text/plain"}, b" \n ", "text/plain body is empty or whitespace-only"),
        (
            {"Content-Type": "text/plain"},
            b"caf\xe9",
            "request body is not valid UTF-8: invalid byte 0xe9 at offset 3",
        ),
        (
            {"Content-Type": "application/json"},
            b'{"inputs": "a", "parameters": {"num_beams": 99}}',
            "parameter 'num_beams' must be between 1 and 16, got 99",
        ),
        (
            {"Content-Type": "application/json"},
            b'{"inputs": "a", "parameters": {"max_length": 500}}',
            "parameter 'max_length' (500) exceeds the model's limit of 64 tokens",
        ),
        (
            {"Content-Type": "text/plain", "Accept": "text/html"},
            b"The fox.",
            "unsupported accept type 'text/html': use application/json or application/jsonlines",
        ),
    ],
    ids=[
        "ill-typed-inputs",
        "unsupported-content-type",
        "blank-text",
        "not-utf8",
        "parameter-out-of-range",
        "over-model-limit",
        "unsupported-accept",
    ],
)
def test_bad_input_is_a_400_with_the_message(
    model_server: ModelServer, headers: dict[str, str], body: bytes, message: str
) -> None:
    answer = model_server.request("/invocations", body, headers)
    assert answer.status == 400, answer.body
    assert json.loads(answer.body)["message"] == message


# ------------------------------------------------------------------ timeouts and concurrency

TIMEOUT_SECONDS = 15


@pytest.fixture(scope="module")
def slow_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One worker, a 3-second response timeout in the seconds variable, a sleeping handler."""
    work_dir = tmp_path_factory.mktemp("slow-server")
    env = {
        "SAGEMAKER_PROGRAM": "slow_inference.py",
        "MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    }
    with _running_server(tiny_model_dir, work_dir, env) as server:
        yield server


def timed(server: ModelServer, text: str) -> tuple[float, Response]:
    started = time.monotonic()
    answer = server.request("/invocations", text.encode(), {"Content-Type": "text/plain"})
    return time.monotonic() - started, answer


def test_response_timeout_is_in_seconds(slow_server: ModelServer) -> None:
    """MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS=15 cuts a hung request off after 15 s, not minutes."""
    elapsed, answer = timed(slow_server, "sleep 300")
    assert answer.status == 500, answer.body
    assert json.loads(answer.body)["message"] == "Worker died."
    assert TIMEOUT_SECONDS - 0.5 <= elapsed < TIMEOUT_SECONDS + 10
    # The server restarts the worker (and reloads the model) for the requests that follow.
    _wait_until_ready(slow_server)


def test_concurrent_requests_queue_for_the_one_worker(slow_server: ModelServer) -> None:
    """Two requests at once on one worker: the second waits for the first, then runs."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(timed, slow_server, "sleep 3") for _ in range(2)]
        results = [future.result() for future in futures]
    assert all(answer.status == 200 for _, answer in results)
    first, second = sorted(elapsed for elapsed, _ in results)
    assert 3 <= first < 5.5
    assert second >= 2 * 3 - 0.2  # serialized: its own 3 s after the other's 3 s


def test_handler_modules_load_from_the_code_dir(slow_server: ModelServer) -> None:
    """PYTHONPATH is unset: the toolkit itself puts code/ on sys.path, so the modules beside
    inference.py import (this line is logged by summarizer_loading inside the worker)."""
    assert "Inference script implementation found at `slow_inference`" in slow_server.logs(
        full=True
    )
    assert "window 63, overlap 6, batch 16 inputs or 4096 MiB" in slow_server.logs(full=True)


@pytest.fixture(scope="module")
def minutes_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The variable the first version set: MMS_DEFAULT_RESPONSE_TIMEOUT, here 1."""
    work_dir = tmp_path_factory.mktemp("minutes-server")
    env = {"SAGEMAKER_PROGRAM": "slow_inference.py", "MMS_DEFAULT_RESPONSE_TIMEOUT": "1"}
    with _running_server(tiny_model_dir, work_dir, env) as server:
        yield server


def test_the_old_variable_counts_minutes(minutes_server: ModelServer) -> None:
    """With MMS_DEFAULT_RESPONSE_TIMEOUT=1 a 5-second request succeeds: 1 means one minute
    (ConfigManager multiplies it by 60), which is why 900 meant 15 hours."""
    elapsed, answer = timed(minutes_server, "sleep 5")
    assert answer.status == 200, answer.body
    assert elapsed >= 5
