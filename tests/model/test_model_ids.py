"""JSON Lines with an ``id`` on every line: each document succeeds or fails on its own.

This is the data path's contract (the dispatcher groups documents into one request, one line
each): a bad document yields ``{"id": ..., "error": ...}`` in its place, the others are still
summarized, and still batched together. Requests without ids keep failing as a whole.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import summarizer_engine as engine  # noqa: E402

SUMMARY_FIELDS = ["id", "summary_text", "input_tokens", "chunks", "rounds"]


def lines(*items: dict[str, Any] | str) -> bytes:
    return "".join(
        (item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items
    ).encode()


def run(handler: ModuleType, summarizer: Any, body: bytes, accept: str | None = None) -> Any:
    request = handler.input_fn(body, "application/jsonlines")
    output = handler.output_fn(handler.predict_fn(request, summarizer), accept)
    return [json.loads(line) for line in output.decode().splitlines()]


@pytest.fixture
def generate_rows(summarizer: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = summarizer.model.generate

    def counting(**kwargs: Any) -> Any:
        calls.append(int(kwargs["input_ids"].shape[0]))
        return original(**kwargs)

    monkeypatch.setattr(summarizer.model, "generate", counting)
    return calls


def test_bad_documents_fail_only_their_own_line(
    handler: ModuleType,
    summarizer: Any,
    long_document: str,
    monkeypatch: pytest.MonkeyPatch,
    generate_rows: list[int],
) -> None:
    n_long = len(summarizer.tokenizer(long_document, add_special_tokens=False).input_ids)
    monkeypatch.setenv("SUMMARIZER_MAX_INPUT_TOKENS", str(n_long - 1))
    body = lines(
        {"id": "job-1", "inputs": "The council met on Tuesday."},
        {"id": "job-2", "inputs": "The fox.", "parameters": {"num_beams": 99}},
        {"id": "job-3", "inputs": "   "},
        {"id": "job-4", "inputs": 7},
        {"id": "job-5", "inputs": long_document},
        {"id": "job-6", "inputs": "x", "parameters": {"max_length": 65}},
        {"id": "job-7", "text": "misspelt field"},
        {"id": "job-8", "inputs": "ab\ud800"},  # json.dumps writes it as the escape \ud800
        {"id": "job-9", "inputs": "Scientists measured the ocean."},
    )
    results = run(handler, summarizer, body, "application/jsonlines")

    assert [result["id"] for result in results] == [f"job-{n}" for n in range(1, 10)]
    assert [list(results[i]) for i in (0, 8)] == [SUMMARY_FIELDS] * 2
    assert {result["id"]: result.get("error") for result in results[1:8]} == {
        "job-2": "line 2: parameter 'num_beams' must be between 1 and 16, got 99",
        "job-3": "line 3 is empty or whitespace-only",
        "job-4": "line 4: 'inputs' must be a string, got integer",
        "job-5": f"line 5 has {n_long} tokens, more than the limit of {n_long - 1} tokens "
        "(SUMMARIZER_MAX_INPUT_TOKENS); split the document",
        "job-6": "line 6: parameter 'max_length' (65) exceeds the model's limit of 64 tokens",
        "job-7": "line 7: unknown field 'text': expected 'inputs' and optional 'parameters' "
        "and 'id'",
        "job-8": "line 8 contains a lone surrogate U+D800 at character 2: text must be valid "
        "Unicode (a surrogate needs its pair)",
    }
    assert all(list(result) == ["id", "error"] for result in results[1:8])
    # The two good documents still share one generate call: grouping is the point of the path.
    assert generate_rows == [2]


def test_results_match_a_request_without_the_bad_lines(
    handler: ModuleType, summarizer: Any
) -> None:
    good = [
        {"id": "a", "inputs": "The council met on Tuesday.", "parameters": {"num_beams": 2}},
        {"id": "c", "inputs": "The dog sleeps in the sun."},
    ]
    alone = run(handler, summarizer, lines(*good))
    mixed = run(handler, summarizer, lines(good[0], {"id": "b", "inputs": 3.5}, good[1]))
    assert [mixed[0], mixed[2]] == alone
    assert mixed[1] == {"id": "b", "error": "line 2: 'inputs' must be a string, got number"}


def test_a_summarization_failure_fails_only_its_line(
    handler: ModuleType, summarizer: Any, long_document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verbose = "The quick brown fox jumps over the lazy dog. " * 3

    def verbose_generate(_: Any, work: list[Any], __: Any) -> list[str]:
        return [verbose for _ in work]

    monkeypatch.setattr(engine, "_generate", verbose_generate)
    results = run(
        handler,
        summarizer,
        lines({"id": "short", "inputs": "The fox."}, {"id": "long", "inputs": long_document}),
    )
    assert results[0] == {
        "id": "short",
        "summary_text": verbose,
        "input_tokens": results[0]["input_tokens"],
        "chunks": 1,
        "rounds": 1,
    }
    assert results[1]["id"] == "long"
    assert results[1]["error"].startswith("line 2 cannot be summarized: round 1 turned ")


def test_every_line_failing_is_still_an_answer(handler: ModuleType, summarizer: Any) -> None:
    results = run(handler, summarizer, lines({"id": "x", "inputs": ""}, {"id": "y"}))
    assert results == [
        {"id": "x", "error": "line 1 is empty or whitespace-only"},
        {"id": "y", "error": "line 2 is missing the 'inputs' field"},
    ]


def test_an_id_of_128_characters_is_echoed(handler: ModuleType, summarizer: Any) -> None:
    document_id = "f" * 128
    (result,) = run(handler, summarizer, lines({"id": document_id, "inputs": "The fox."}))
    assert result["id"] == document_id


REQUEST_ERRORS = [
    (
        lines({"id": "a", "inputs": "x"}, {"inputs": "y"}),
        "line 2 has no 'id' but line 1 has one: either every line carries an 'id' or none does",
    ),
    (
        lines('"plain string"', {"id": "a", "inputs": "x"}),
        "line 1 has no 'id' but line 2 has one: either every line carries an 'id' or none does",
    ),
    (
        lines({"id": "a", "inputs": "x"}, {"id": "b", "inputs": "y"}, {"id": "a", "inputs": "z"}),
        "line 3: duplicate id 'a' (first on line 1): ids must be unique within a request",
    ),
    (lines({"id": 17, "inputs": "x"}), "line 1: 'id' must be a string, got integer"),
    (lines({"id": "", "inputs": "x"}), "line 1: 'id' must have 1 to 128 characters, got 0"),
    (
        lines({"id": "f" * 129, "inputs": "x"}),
        "line 1: 'id' must have 1 to 128 characters, got 129",
    ),
    (
        # A line that is not JSON has no id to answer with: the request fails as a whole.
        lines({"id": "a", "inputs": "x"}, "{not json"),
        "line 2 is not valid JSON: Expecting property name enclosed in double quotes at column 2",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    REQUEST_ERRORS,
    ids=["missing-id", "string-line", "duplicate", "not-string", "empty", "too-long", "not-json"],
)
def test_request_level_errors(handler: ModuleType, body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, "application/jsonlines")
    assert str(caught.value) == message


def test_without_ids_a_bad_line_still_fails_the_request(
    handler: ModuleType, summarizer: Any
) -> None:
    request = handler.input_fn(
        lines({"inputs": "x"}, {"inputs": "y", "parameters": {"max_length": 65}}),
        "application/jsonlines",
    )
    with pytest.raises(ValueError) as caught:
        handler.predict_fn(request, summarizer)
    assert str(caught.value) == (
        "line 2: parameter 'max_length' (65) exceeds the model's limit of 64 tokens"
    )


def test_a_surrogate_in_a_field_name_fails_only_its_line(
    handler: ModuleType, summarizer: Any
) -> None:
    # The message quotes the client's field name: escaped, so the response still encodes.
    body = b'{"id": "a", "inputs": "x", "\\ud800": 1}\n{"id": "b", "inputs": "The fox."}\n'
    request = handler.input_fn(body, "application/jsonlines")
    output = handler.output_fn(handler.predict_fn(request, summarizer), None)
    first, second = (json.loads(line) for line in output.decode("utf-8").splitlines())
    assert first == {
        "id": "a",
        "error": "line 1: unknown field '\\ud800': expected 'inputs' and optional 'parameters' "
        "and 'id'",
    }
    assert second["id"] == "b" and "summary_text" in second
