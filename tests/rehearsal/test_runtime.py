"""Lambda's execution side: functions run from their code zip, in their runtime, with only what
Lambda gives them."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rehearsal import toolchain
from rehearsal.lambdas.runtime import FunctionImage, LambdaService, Throttled

ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"
LAYER_ARN = "arn:aws:lambda:us-east-1:017000801446:layer:helper:1"

HANDLER = """
import json, os, sys, time

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    if event.get("import"):
        __import__(event["import"])
    print("hello from the function")
    return {
        "env": {k: os.environ.get(k) for k in event.get("env", [])},
        "remaining": context.get_remaining_time_in_millis(),
        "request": context.aws_request_id,
        "pid": os.getpid(),
        "path": sys.path[:4],
        "python": "%d.%d" % sys.version_info[:2],
    }
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


CODE = _zip({"probe.py": HANDLER})
LAYER = _zip({"python/helper.py": "VALUE = 'from the layer'\n"})


def image(**changes: object) -> FunctionImage:
    values: dict[str, object] = {
        "arn": ARN,
        "name": "probe",
        "runtime": "python3.12",
        "handler": "probe.handler",
        "timeout_s": 10,
        "memory_mb": 128,
        "environment": (("GREETING", "hi"),),
        "code_sha": "sha-1",
        "layers": (LAYER_ARN,),
        "log_group": "/aws/lambda/probe",
        "role": "arn:aws:iam::123456789012:role/probe",
        "reserved_concurrency": None,
    }
    values.update(changes)
    return FunctionImage(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaService]:
    toolchain.runtime_sdk()
    lambdas = LambdaService(
        endpoint_url="http://localhost:9",
        workdir=Path(tmp_path_factory.mktemp("lambda")),
        credentials=lambda role: {"AWS_ACCESS_KEY_ID": "AKIDPROBE", "AWS_SECRET_ACCESS_KEY": "s"},
        layer_zip=lambda arn: LAYER,
    )
    yield lambdas
    lambdas.stop()


def test_runs_the_handler_from_its_code_in_the_runtime_python(service: LambdaService) -> None:
    outcome = service.invoke(image(), CODE, {})
    assert outcome.error is None, outcome.log
    expected = toolchain.interpreter("python3.12")
    if expected.exact:
        assert outcome.result["python"] == "3.12"
    # Lambda's order: the function's code, the layers (/opt), the runtime's SDK.
    code, layer_packages, layer, sdk = outcome.result["path"]
    assert code.startswith(str(service.workdir / "code"))
    assert layer_packages.endswith(f"/python/lib/python{outcome.result['python']}/site-packages")
    assert layer.endswith("/python") and layer.startswith(str(service.workdir / "opt"))
    assert sdk == str(toolchain.runtime_sdk())
    assert 0 < outcome.result["remaining"] <= 10_000


def test_the_environment_is_lambdas_not_the_hosts(
    service: LambdaService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_ONLY_SECRET", "leaked")
    names = ["GREETING", "HOST_ONLY_SECRET", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION",
             "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "_HANDLER", "REHEARSAL_OPT"]  # fmt: skip
    outcome = service.invoke(image(code_sha="sha-env"), CODE, {"env": names})
    assert outcome.result["env"] == {
        "GREETING": "hi",
        "HOST_ONLY_SECRET": None,
        "AWS_LAMBDA_FUNCTION_NAME": "probe",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDPROBE",
        "AWS_ENDPOINT_URL": "http://localhost:9",
        "_HANDLER": "probe.handler",
        "REHEARSAL_OPT": None,
    }


def test_layers_are_importable_and_the_sdk_is_the_runtimes(service: LambdaService) -> None:
    assert service.invoke(image(), CODE, {"import": "helper"}).error is None
    assert service.invoke(image(), CODE, {"import": "boto3"}).error is None


def test_a_module_missing_from_the_code_fails_every_invocation(service: LambdaService) -> None:
    """The interpreter's own site-packages stay out: only code, layers and the SDK import."""
    outcome = service.invoke(image(code_sha="sha-missing"), CODE, {"import": "pytest"})
    assert outcome.error is not None
    assert outcome.error["errorType"] == "ModuleNotFoundError"
    broken = _zip({"probe.py": "import not_shipped\n" + HANDLER})
    outcome = service.invoke(image(code_sha="sha-broken"), broken, {})
    assert outcome.error == {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": "Unable to import module 'probe': No module named 'not_shipped'",
        "stackTrace": outcome.error["stackTrace"],
    }


def test_environments_stay_warm_and_are_replaced_for_new_code(service: LambdaService) -> None:
    first = service.invoke(image(code_sha="sha-warm"), CODE, {})
    second = service.invoke(image(code_sha="sha-warm"), CODE, {})
    third = service.invoke(image(code_sha="sha-warm-2"), CODE, {})
    assert first.result["pid"] == second.result["pid"] != third.result["pid"]
    assert first.result["request"] != second.result["request"]


def test_an_error_has_lambdas_shape_and_the_log_has_the_output(service: LambdaService) -> None:
    outcome = service.invoke(image(), CODE, {"fail": "no luck"})
    assert outcome.error is not None
    assert (outcome.error["errorType"], outcome.error["errorMessage"]) == ("ValueError", "no luck")
    ok = service.invoke(image(), CODE, {})
    assert ok.error is None
    logs = list((service.workdir / "logs" / "probe").glob("*.log"))
    assert any("hello from the function" in log.read_text() for log in logs)


def test_the_timeout_ends_the_environment(service: LambdaService) -> None:
    outcome = service.invoke(image(timeout_s=1, code_sha="sha-slow"), CODE, {"sleep": 5})
    assert outcome.error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 1.00 seconds",
    }
    assert 1 <= outcome.duration_s < 3


def test_reserved_concurrency_throttles(service: LambdaService) -> None:
    slow = image(reserved_concurrency=1, code_sha="sha-reserved")
    worker = threading.Thread(target=service.invoke, args=(slow, CODE, {"sleep": 2}))
    worker.start()
    time.sleep(1.0)
    with pytest.raises(Throttled, match="at its concurrency of 1"):
        service.invoke(slow, CODE, {})
    worker.join()
