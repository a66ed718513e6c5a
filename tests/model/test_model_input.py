"""input_fn: every content type the handler takes, and every way a request can be wrong.

Error messages are the API a client sees (the toolkit returns them with HTTP 400), so they are
compared verbatim.
"""

from __future__ import annotations

import json
from types import ModuleType

import pytest

pytest.importorskip("transformers")

SUPPORTED = "application/json, application/jsonlines, text/plain"
ALL_PARAMETERS = (
    "early_stopping, length_penalty, max_length, min_length, no_repeat_ngram_size, num_beams, "
    "repetition_penalty"
)


# ------------------------------------------------------------------------------ good requests


def test_text_plain_is_one_article(handler: ModuleType) -> None:
    request = handler.input_fn(b"The council met on Tuesday.\n", "text/plain")
    assert request.articles == ("The council met on Tuesday.\n",)
    assert request.parameters == ({},)
    assert request.labels == ("text/plain body",)
    assert request.response_format == "json"


def test_text_plain_decodes_utf8_and_ignores_header_case(handler: ModuleType) -> None:
    body = "Café über 漢字 — naïve".encode()
    request = handler.input_fn(bytearray(body), "Text/Plain; Charset=UTF-8")
    assert request.articles == ("Café über 漢字 — naïve",)


def test_byte_order_mark_is_dropped(handler: ModuleType) -> None:
    request = handler.input_fn(b"\xef\xbb\xbfHello there", "text/plain")
    assert request.articles == ("Hello there",)


def test_json_single_string_as_the_toolkit_passes_it(handler: ModuleType) -> None:
    # The toolkit decodes application/json bodies to str before calling input_fn.
    request = handler.input_fn('{"inputs": "One article."}', "application/json")
    assert request.articles == ("One article.",)
    assert request.labels == ("'inputs'",)
    assert request.response_format == "json"


def test_json_list_with_parameters(handler: ModuleType) -> None:
    body = {
        "inputs": ["First article.", "Second article."],
        "parameters": {
            "max_length": 40,
            "min_length": 10,
            "num_beams": 4,
            "length_penalty": 1,
            "no_repeat_ngram_size": 3,
            "repetition_penalty": 1.2,
            "early_stopping": True,
        },
    }
    request = handler.input_fn(json.dumps(body).encode(), "application/json; charset=utf-8")
    assert request.articles == ("First article.", "Second article.")
    expected = dict(body["parameters"], length_penalty=1.0)
    assert request.parameters == (expected, expected)
    assert isinstance(request.parameters[0]["length_penalty"], float)
    assert request.labels == ("inputs[0]", "inputs[1]")


@pytest.mark.parametrize("content_type", ["application/jsonlines", "application/x-jsonlines"])
def test_jsonlines_strings_objects_and_blank_lines(handler: ModuleType, content_type: str) -> None:
    body = (
        '"First article."\r\n'
        "\n"
        '{"inputs": "Second article.", "parameters": {"max_length": 12}}\n'
        '{"inputs": "Third article."}\n'
    )
    request = handler.input_fn(body.encode(), content_type)
    assert request.articles == ("First article.", "Second article.", "Third article.")
    assert request.parameters == ({}, {"max_length": 12}, {})
    assert request.labels == ("line 1", "line 3", "line 4")
    assert request.response_format == "jsonlines"


def test_article_cap_is_configurable(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ARTICLES_PER_REQUEST", "3")
    request = handler.input_fn(json.dumps({"inputs": ["a", "b", "c"]}), "application/json")
    assert len(request.articles) == 3


# ------------------------------------------------------------------------------- bad requests

BAD_REQUESTS: list[tuple[str | None, str | bytes | None, str]] = [
    (None, b"text", f"missing Content-Type: use one of {SUPPORTED}"),
    ("  ", b"text", f"missing Content-Type: use one of {SUPPORTED}"),
    ("text/csv", b"a,b", f"unsupported content type 'text/csv': use one of {SUPPORTED}"),
    (
        "application/octet-stream",
        b"\x00",
        f"unsupported content type 'application/octet-stream': use one of {SUPPORTED}",
    ),
    (
        "text/plain; charset=latin-1",
        b"caf\xe9",
        "unsupported charset 'latin-1': the request body must be UTF-8",
    ),
    ("text/plain", None, "request body is empty"),
    ("text/plain", b"", "request body is empty"),
    ("application/json", b"", "request body is empty"),
    ("text/plain", b" \n\t \r\n", "text/plain body is empty or whitespace-only"),
    ("text/plain", b"caf\xe9", "request body is not valid UTF-8: invalid byte 0xe9 at offset 3"),
    (
        "application/jsonlines",
        b'"ok"\n\xff',
        "request body is not valid UTF-8: invalid byte 0xff at offset 5",
    ),
    (
        "application/json",
        '{"inputs": ',
        "request body is not valid JSON: Expecting value at line 1 column 12",
    ),
    (
        "application/json",
        '{"inputs": "a",\n "parameters": {"num_beams": 2,}}',
        "request body is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 2 column 32",
    ),
    ("application/json", '{"inputs": NaN}', "request body is not valid JSON: NaN is not allowed"),
    (
        "application/json",
        '["a"]',
        "JSON body must be an object with an 'inputs' field, got array",
    ),
    (
        "application/json",
        '{"text": "a"}',
        "unknown field 'text': expected 'inputs' and optional 'parameters'",
    ),
    (
        "application/json",
        '{"inputs": "a", "paramters": {}}',
        "unknown field 'paramters': expected 'inputs' and optional 'parameters'",
    ),
    ("application/json", "{}", "JSON body is missing the 'inputs' field"),
    (
        "application/json",
        '{"inputs": 5}',
        "'inputs' must be a string or an array of strings, got integer",
    ),
    (
        "application/json",
        '{"inputs": null}',
        "'inputs' must be a string or an array of strings, got null",
    ),
    ("application/json", '{"inputs": []}', "'inputs' must not be an empty array"),
    ("application/json", '{"inputs": ["a", 3]}', "inputs[1] must be a string, got integer"),
    ("application/json", '{"inputs": ["a", {"b": 1}]}', "inputs[1] must be a string, got object"),
    ("application/json", '{"inputs": " \\n "}', "'inputs' is empty or whitespace-only"),
    ("application/json", '{"inputs": ["a", ""]}', "inputs[1] is empty or whitespace-only"),
    (
        "application/json",
        '{"inputs": "a", "parameters": [1]}',
        "'parameters' must be an object, got array",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"temperature": 0.5}}',
        f"unknown parameter 'temperature': supported parameters are {ALL_PARAMETERS}",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"num_beams": "4"}}',
        "parameter 'num_beams' must be an integer, got string",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"num_beams": true}}',
        "parameter 'num_beams' must be an integer, got boolean",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"num_beams": 1.5}}',
        "parameter 'num_beams' must be an integer, got number",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"num_beams": 17}}',
        "parameter 'num_beams' must be between 1 and 16, got 17",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"max_length": 0}}',
        "parameter 'max_length' must be between 1 and 1024, got 0",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"min_length": -1}}',
        "parameter 'min_length' must be between 0 and 1024, got -1",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"no_repeat_ngram_size": 11}}',
        "parameter 'no_repeat_ngram_size' must be between 0 and 10, got 11",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"length_penalty": "high"}}',
        "parameter 'length_penalty' must be a number, got string",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"length_penalty": 9.5}}',
        "parameter 'length_penalty' must be between -5.0 and 5.0, got 9.5",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"repetition_penalty": 0.5}}',
        "parameter 'repetition_penalty' must be between 1.0 and 5.0, got 0.5",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"early_stopping": 1}}',
        "parameter 'early_stopping' must be a boolean, got integer",
    ),
    (
        "application/json",
        '{"inputs": "a", "parameters": {"min_length": 20, "max_length": 10}}',
        "parameter 'min_length' (20) must not exceed 'max_length' (10)",
    ),
    ("application/jsonlines", b"\n \n", "JSON Lines body has no articles: every line is blank"),
    (
        "application/jsonlines",
        b'"a"\n{bad',
        "line 2 is not valid JSON: Expecting property name enclosed in double quotes at column 2",
    ),
    (
        "application/jsonlines",
        b"5",
        "line 1 must be a JSON string or an object with 'inputs', got integer",
    ),
    (
        "application/jsonlines",
        b'{"text": "a"}',
        "line 1: unknown field 'text': expected 'inputs' and optional 'parameters' and 'id'",
    ),
    ("application/jsonlines", b'{"parameters": {}}', "line 1 is missing the 'inputs' field"),
    (
        "application/jsonlines",
        b'{"inputs": ["a"]}',
        "line 1: 'inputs' must be a string, got array",
    ),
    ("application/jsonlines", b'"a"\n\n"  "', "line 3 is empty or whitespace-only"),
    (
        "application/jsonlines",
        b'"a"\n{"inputs": "b", "parameters": {"num_beams": 0}}',
        "line 2: parameter 'num_beams' must be between 1 and 16, got 0",
    ),
    (
        "application/jsonlines",
        b'{"inputs": "b", "parameters": {"top_k": 5}}',
        f"line 1: unknown parameter 'top_k': supported parameters are {ALL_PARAMETERS}",
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    BAD_REQUESTS,
    ids=[f"{index}-{case[2][:40]}" for index, case in enumerate(BAD_REQUESTS)],
)
def test_bad_request_message(
    handler: ModuleType, content_type: str | None, body: str | bytes | None, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, content_type)
    assert str(caught.value) == message


def test_default_article_cap(handler: ModuleType) -> None:
    body = json.dumps({"inputs": ["a"] * 257})
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, "application/json")
    assert str(caught.value) == (
        "request has 257 articles, more than the limit of 256 (MAX_ARTICLES_PER_REQUEST)"
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"inputs": ["a", "b", "c"]})),
        ("application/jsonlines", '"a"\n"b"\n\n"c"\n'),
    ],
)
def test_configured_article_cap(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, content_type: str, body: str
) -> None:
    monkeypatch.setenv("MAX_ARTICLES_PER_REQUEST", "2")
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, content_type)
    assert str(caught.value) == (
        "request has 3 articles, more than the limit of 2 (MAX_ARTICLES_PER_REQUEST)"
    )


@pytest.mark.parametrize("value", ["abc", "0", "100001"])
def test_invalid_article_cap_setting(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MAX_ARTICLES_PER_REQUEST", value)
    with pytest.raises(ValueError) as caught:
        handler.input_fn('{"inputs": ["a"]}', "application/json")
    assert str(caught.value) == (
        "environment variable MAX_ARTICLES_PER_REQUEST must be an integer between 1 and 100000, "
        f"got '{value}'"
    )
