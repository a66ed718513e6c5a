"""output_fn: the response format for each Accept header, UTF-8 without escapes."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

pytest.importorskip("transformers")

RESULTS = [
    {"summary_text": "Café über 漢字 — naïve", "input_tokens": 12, "chunks": 1, "rounds": 1},
    {"summary_text": "Second.", "input_tokens": 700, "chunks": 13, "rounds": 3},
]


def prediction(handler: ModuleType, response_format: str) -> object:
    return handler.Prediction(
        results=[dict(result) for result in RESULTS], response_format=response_format
    )


def as_json(body: bytes) -> object:
    return json.loads(body.decode("utf-8"))


def as_jsonlines(body: bytes) -> list[object]:
    text = body.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    "accept",
    [None, "", "*/*", "application/*", "application/json", "application/json; charset=utf-8"],
)
def test_json_request_gets_a_json_array(handler: ModuleType, accept: str | None) -> None:
    body = handler.output_fn(prediction(handler, "json"), accept)
    assert isinstance(body, bytes)
    assert as_json(body) == RESULTS


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/jsonlines", "application/x-jsonlines"]
)
def test_jsonlines_request_gets_jsonlines(handler: ModuleType, accept: str | None) -> None:
    # The toolkit turns a missing Accept into application/json, so that keeps the request format.
    body = handler.output_fn(prediction(handler, "jsonlines"), accept)
    assert as_jsonlines(body) == RESULTS


def test_accept_jsonlines_turns_a_json_request_into_lines(handler: ModuleType) -> None:
    body = handler.output_fn(prediction(handler, "json"), "application/jsonlines")
    assert as_jsonlines(body) == RESULTS


def test_first_supported_entry_of_an_accept_list_wins(handler: ModuleType) -> None:
    body = handler.output_fn(
        prediction(handler, "json"), "text/csv, application/jsonlines;q=0.9, application/json"
    )
    assert as_jsonlines(body) == RESULTS


def test_output_is_raw_utf8_not_ascii_escapes(handler: ModuleType) -> None:
    for response_format in ("json", "jsonlines"):
        body = handler.output_fn(prediction(handler, response_format), None)
        assert "Café über 漢字 — naïve".encode() in body
        assert b"\\u" not in body


@pytest.mark.parametrize("accept", ["text/csv", "text/plain, application/xml"])
def test_unsupported_accept(handler: ModuleType, accept: str) -> None:
    with pytest.raises(ValueError) as caught:
        handler.output_fn(prediction(handler, "json"), accept)
    assert str(caught.value) == (
        f"unsupported accept type '{accept}': use application/json or application/jsonlines"
    )
