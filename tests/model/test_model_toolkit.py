"""The handler inside the toolkit's own request path (in process, no model server).

``HuggingFaceHandlerService.handle`` is what the model server calls: it finds the user module,
binds model_fn/input_fn/predict_fn/output_fn, decodes application/json (and text/csv) bodies to
str itself, rewrites a missing Accept to application/json, and turns any exception into a
``PredictionException`` with status 400. These tests pin that contract for toolkit 2.6.0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("sagemaker_huggingface_inference_toolkit")


class _RequestProcessor:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return self.headers


class _Metrics:
    def add_time(self, *_: Any, **__: Any) -> None:
        """The toolkit reports timings here; nothing to check."""


class FakeContext:
    """The parts of the model server's request context the toolkit touches."""

    def __init__(self, model_dir: Path) -> None:
        self.system_properties = {"model_dir": str(model_dir), "batch_size": 1, "gpu_id": 0}
        self.request_processor = [_RequestProcessor({})]
        self.metrics = _Metrics()
        self.response_content_type: str | None = None

    def set_response_content_type(self, index: int, content_type: str) -> None:
        assert index == 0
        self.response_content_type = content_type


@pytest.fixture(scope="module")
def service(handler: ModuleType, tiny_model_dir: Path) -> Any:
    """A toolkit handler service that loaded our module and the tiny model once."""
    from sagemaker_huggingface_inference_toolkit.handler_service import HuggingFaceHandlerService

    saved_path = list(sys.path)
    instance = HuggingFaceHandlerService()
    instance.initialize(FakeContext(tiny_model_dir))
    sys.path[:] = saved_path
    return instance


def call(service: Any, tiny_model_dir: Path, body: bytes, headers: dict[str, str]) -> Any:
    context = FakeContext(tiny_model_dir)
    context.request_processor = [_RequestProcessor(headers)]
    (response,) = service.handle([{"body": bytearray(body)}], context)
    return response, context.response_content_type


def test_the_toolkit_uses_our_functions(handler: ModuleType, service: Any) -> None:
    assert service.load is handler.model_fn
    assert service.preprocess is handler.input_fn
    assert service.predict is handler.predict_fn
    assert service.postprocess is handler.output_fn
    assert isinstance(service.model, handler.Summarizer)


def test_text_plain_request(service: Any, tiny_model_dir: Path) -> None:
    response, content_type = call(
        service, tiny_model_dir, b"The fox jumps.", {"Content-Type": "text/plain"}
    )
    (result,) = json.loads(response)
    assert set(result) == {"summary_text", "input_tokens", "chunks", "rounds"}
    assert content_type == "application/json"


def test_jsonlines_without_accept_is_answered_in_jsonlines(
    service: Any, tiny_model_dir: Path
) -> None:
    response, content_type = call(
        service, tiny_model_dir, b'"a b"\n"c d"\n', {"Content-Type": "application/jsonlines"}
    )
    assert len(response.decode().splitlines()) == 2
    # The toolkit echoes the (rewritten) Accept as Content-Type: clients should send
    # Accept: application/jsonlines with JSON Lines requests to get a matching header.
    assert content_type == "application/json"


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (
            {"Content-Type": "application/json"},
            b'{"inputs": ["ok", 7]}',
            "inputs[1] must be a string, got integer",
        ),
        (
            {"Content-Type": "text/plain", "Accept": "text/html"},
            b"The fox.",
            "unsupported accept type 'text/html': use application/json or application/jsonlines",
        ),
        (
            # The toolkit decodes application/json itself, before input_fn sees the bytes.
            {"Content-Type": "application/json"},
            b'{"inputs": "caf\xe9"}',
            "'utf-8' codec can't decode byte 0xe9 in position 15: invalid continuation byte",
        ),
    ],
    ids=["ill-typed-inputs", "unsupported-accept", "json-not-utf8"],
)
def test_errors_become_400_with_the_message(
    service: Any, tiny_model_dir: Path, headers: dict[str, str], body: bytes, message: str
) -> None:
    from mms.service import PredictionException

    with pytest.raises(PredictionException) as caught:
        call(service, tiny_model_dir, body, headers)
    assert caught.value.error_code == 400
    assert caught.value.message == message
