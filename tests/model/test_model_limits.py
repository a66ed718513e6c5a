"""What cannot finish is refused before the work starts; odd text is a clear ValueError.

Request bytes are checked before decoding, article tokens after tokenization but before any
``generate`` call; lone surrogates, invisible-only text and absurd nesting are refused with a
message instead of a TypeError, a made-up summary or a RecursionError.
"""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import summarizer_engine as engine  # noqa: E402


@pytest.fixture
def generate_calls(summarizer: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows of every generate call (the tests below expect none for refused articles)."""
    calls: list[int] = []
    original = summarizer.model.generate

    def counting(**kwargs: Any) -> Any:
        calls.append(int(kwargs["input_ids"].shape[0]))
        return original(**kwargs)

    monkeypatch.setattr(summarizer.model, "generate", counting)
    return calls


# ----------------------------------------------------------------------------- request bytes


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"x" * 101),
        # Over the limit AND not UTF-8: the size is checked first, before any decoding work.
        ("text/plain", b"\xe9" * 101),
        ("application/jsonlines", b'{"id": "a", "inputs": "' + b"y" * 80 + b'"}\n'),
        # The toolkit hands application/json over as str: its UTF-8 bytes count (2 per e-acute).
        ("application/json", json.dumps({"inputs": "é" * 40}, ensure_ascii=False)),
    ],
    ids=["text", "not-utf8", "jsonlines-with-ids", "json-str"],
)
def test_body_over_the_byte_limit_fails_the_request_at_once(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, content_type: str, body: Any
) -> None:
    monkeypatch.setenv("SUMMARIZER_MAX_REQUEST_BYTES", "80")
    size = len(body.encode()) if isinstance(body, str) else len(body)
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, content_type)
    assert str(caught.value) == (
        f"request body has {size} bytes, more than the limit of 80 bytes "
        "(SUMMARIZER_MAX_REQUEST_BYTES)"
    )


def test_default_byte_limit_refuses_a_5_mb_article_fast(handler: ModuleType) -> None:
    body = b"The council met on Tuesday. " * 180_000  # 5,040,000 bytes
    started = time.perf_counter()
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, "text/plain")
    assert time.perf_counter() - started < 1.0
    assert str(caught.value) == (
        "request body has 5040000 bytes, more than the limit of 4000000 bytes "
        "(SUMMARIZER_MAX_REQUEST_BYTES)"
    )


def test_body_at_the_byte_limit_passes(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUMMARIZER_MAX_REQUEST_BYTES", "80")
    assert handler.input_fn(b"x" * 80, "text/plain").articles == ("x" * 80,)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SUMMARIZER_MAX_REQUEST_BYTES",
            "0",
            "environment variable SUMMARIZER_MAX_REQUEST_BYTES must be an integer between 1 and "
            "1000000000, got '0'",
        ),
        (
            "SUMMARIZER_MAX_REQUEST_BYTES",
            "4MB",
            "environment variable SUMMARIZER_MAX_REQUEST_BYTES must be an integer between 1 and "
            "1000000000, got '4MB'",
        ),
    ],
)
def test_invalid_byte_limit_setting(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as caught:
        handler.input_fn(b"The fox.", "text/plain")
    assert str(caught.value) == message


# ---------------------------------------------------------------------------- article tokens


def test_article_over_the_token_limit_is_refused_before_any_generation(
    handler: ModuleType,
    summarizer: Any,
    long_document: str,
    monkeypatch: pytest.MonkeyPatch,
    generate_calls: list[int],
) -> None:
    n_tokens = len(summarizer.tokenizer(long_document, add_special_tokens=False).input_ids)
    monkeypatch.setenv("SUMMARIZER_MAX_INPUT_TOKENS", str(n_tokens - 1))
    request = handler.input_fn(
        json.dumps({"inputs": ["The fox.", long_document]}), "application/json"
    )
    with pytest.raises(ValueError) as caught:
        handler.predict_fn(request, summarizer)
    assert str(caught.value) == (
        f"inputs[1] has {n_tokens} tokens, more than the limit of {n_tokens - 1} tokens "
        "(SUMMARIZER_MAX_INPUT_TOKENS); split the document"
    )
    assert generate_calls == []


def test_article_at_the_token_limit_is_summarized(
    handler: ModuleType, summarizer: Any, long_document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n_tokens = len(summarizer.tokenizer(long_document, add_special_tokens=False).input_ids)
    monkeypatch.setenv("SUMMARIZER_MAX_INPUT_TOKENS", str(n_tokens))
    request = handler.input_fn(long_document.encode(), "text/plain")
    (result,) = handler.predict_fn(request, summarizer).results
    assert result["input_tokens"] == n_tokens and result["rounds"] >= 2


def test_default_token_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine.max_input_tokens_setting() == 200_000
    monkeypatch.setenv("SUMMARIZER_MAX_INPUT_TOKENS", "10000001")
    with pytest.raises(ValueError) as caught:
        engine.max_input_tokens_setting()
    assert str(caught.value) == (
        "environment variable SUMMARIZER_MAX_INPUT_TOKENS must be an integer between 1 and "
        "10000000, got '10000001'"
    )


# -------------------------------------------------------------------------------- odd text

ODD_TEXT = [
    (
        "application/json",
        '{"inputs": "ab\\ud800c"}',
        "'inputs' contains a lone surrogate U+D800 at character 2: text must be valid Unicode "
        "(a surrogate needs its pair)",
    ),
    (
        "application/json",
        '{"inputs": ["fine", "\\udfff"]}',
        "inputs[1] contains a lone surrogate U+DFFF at character 0: text must be valid Unicode "
        "(a surrogate needs its pair)",
    ),
    (
        "application/jsonlines",
        '"ok"\n"x\\ud83d"\n',
        "line 2 contains a lone surrogate U+D83D at character 1: text must be valid Unicode "
        "(a surrogate needs its pair)",
    ),
    (
        "application/json",
        '{"inputs": "\\u200b\\u200c\\u200d\\u2060\\ufeff"}',
        "'inputs' has no visible text: only whitespace, control or zero-width characters",
    ),
    (
        "text/plain",
        "\u200b \u00ad\x00\x07\u202e\n".encode(),
        "text/plain body has no visible text: only whitespace, control or zero-width characters",
    ),
    (
        "application/jsonlines",
        '{"inputs": "\\u0000\\u0001"}\n',
        "line 1 has no visible text: only whitespace, control or zero-width characters",
    ),
    (
        "application/json",
        "[" * 100_000,
        "request body is nested too deeply: a request needs at most 2 levels of arrays and objects",
    ),
    (
        "application/jsonlines",
        '"ok"\n' + '{"inputs": ' * 100_000,
        "line 2 is nested too deeply: a request needs at most 2 levels of arrays and objects",
    ),
]


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    ODD_TEXT,
    ids=[
        "surrogate",
        "surrogate-in-array",
        "surrogate-in-line",
        "zero-width-only",
        "control-only-text",
        "control-only-line",
        "nested-json",
        "nested-line",
    ],
)
def test_odd_text_is_a_clear_value_error(
    handler: ModuleType, content_type: str, body: str | bytes, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        handler.input_fn(body, content_type)
    assert type(caught.value) is ValueError
    assert str(caught.value) == message


def test_surrogate_pairs_and_visible_text_next_to_zero_width_pass(
    handler: ModuleType, summarizer: Any
) -> None:
    # A pair (an emoji) is valid Unicode; a word between zero-width characters is visible text.
    request = handler.input_fn(
        '{"inputs": ["fox \\ud83e\\udd8a", "\\u200bfox\\u200b"]}', "application/json"
    )
    assert request.articles == ("fox \U0001f98a", "\u200bfox\u200b")
    results = handler.predict_fn(request, summarizer).results
    assert all(result["input_tokens"] > 0 for result in results)
