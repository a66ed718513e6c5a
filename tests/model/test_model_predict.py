"""predict_fn on the tiny PEGASUS: batching, length grouping, chunking and the reduce rounds.

A spy on ``model.generate`` records exactly what the encoder was given, which is how these tests
prove that no token of a long document is dropped.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections import Counter
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import summarizer_batching as batching  # noqa: E402
import summarizer_engine as engine  # noqa: E402
import summarizer_request as request_module  # noqa: E402


class GenerateSpy:
    """Wraps ``model.generate``; keeps each call's unpadded rows and keyword arguments."""

    def __init__(self, generate: Any) -> None:
        self.generate = generate
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
        rows = [
            ids[mask.bool()].tolist() for ids, mask in zip(input_ids, attention_mask, strict=True)
        ]
        encoder_outputs = kwargs.get("encoder_outputs")
        self.calls.append(
            {
                "rows": rows,
                "width": input_ids.shape[1],
                "kwargs": {k: v for k, v in kwargs.items() if k != "encoder_outputs"},
                "encoder_outputs": encoder_outputs,
                "inference_mode": torch.is_inference_mode_enabled(),
            }
        )
        return self.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    @property
    def rows(self) -> list[list[int]]:
        return [row for call in self.calls for row in call["rows"]]


@pytest.fixture
def spy(summarizer: Any, monkeypatch: pytest.MonkeyPatch) -> GenerateSpy:
    recorder = GenerateSpy(summarizer.model.generate)
    monkeypatch.setattr(summarizer.model, "generate", recorder)
    return recorder


def tokens(summarizer: Any, text: str) -> list[int]:
    return list(summarizer.tokenizer(text, add_special_tokens=False).input_ids)


def summarize_json(handler: ModuleType, summarizer: Any, body: dict[str, Any]) -> list[Any]:
    request = handler.input_fn(json.dumps(body), "application/json")
    prediction = handler.predict_fn(request, summarizer)
    return json.loads(handler.output_fn(prediction, "application/json"))


# ---------------------------------------------------------------------------------- chunking


@pytest.mark.parametrize(
    ("n_tokens", "window", "overlap"),
    [(1, 63, 6), (63, 63, 6), (64, 63, 6), (640, 63, 6), (1000, 63, 0), (5000, 1023, 102)],
)
def test_chunk_spans_cover_everything_with_overlap(
    handler: ModuleType, n_tokens: int, window: int, overlap: int
) -> None:
    spans = engine.chunk_spans(n_tokens, window, overlap)
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
        assert end - start == min(window, n_tokens)
    assert covered == set(range(n_tokens))
    assert spans[0][0] == 0 and spans[-1][1] == n_tokens
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert previous_end - next_start >= overlap
    expected = 1 if n_tokens <= window else math.ceil((n_tokens - overlap) / (window - overlap))
    assert len(spans) == expected


@pytest.mark.parametrize(("window", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_chunk_spans_refuse_impossible_windows(
    handler: ModuleType, window: int, overlap: int
) -> None:
    with pytest.raises(ValueError) as caught:
        engine.chunk_spans(100, window, overlap)
    assert str(caught.value) == f"invalid chunking: window {window}, overlap {overlap}"


def test_long_document_is_chunked_and_every_token_reaches_the_model(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy, long_document: str
) -> None:
    ids = tokens(summarizer, long_document)
    window, overlap = summarizer.window_tokens, summarizer.chunk_overlap
    assert (window, overlap) == (63, 6)
    assert len(ids) >= 10 * summarizer.max_input_tokens

    (result,) = summarize_json(
        handler,
        summarizer,
        {"inputs": long_document, "parameters": {"max_length": 8, "min_length": 8}},
    )

    expected_chunks = math.ceil((len(ids) - overlap) / (window - overlap))
    assert result["chunks"] == expected_chunks
    assert result["input_tokens"] == len(ids)
    assert result["rounds"] >= 2
    assert result["summary_text"]
    # Round 1 fed exactly these windows (plus end-of-sequence) to the encoder.
    eos = summarizer.tokenizer.eos_token_id
    spans = engine.chunk_spans(len(ids), window, overlap)
    expected_rows = Counter(tuple([*ids[start:end], eos]) for start, end in spans)
    seen_rows = Counter(tuple(row) for row in spy.rows)
    assert expected_rows - seen_rows == Counter()
    assert {i for start, end in spans for i in range(start, end)} == set(range(len(ids)))
    # Nothing wider than the positional table ever reached the model.
    assert max(call["width"] for call in spy.calls) <= summarizer.max_input_tokens
    assert all(call["inference_mode"] for call in spy.calls)


def test_short_article_is_one_chunk_one_round(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy
) -> None:
    article = "The council met on Tuesday to discuss the bridge."
    (result,) = summarize_json(handler, summarizer, {"inputs": article})
    assert result["chunks"] == 1
    assert result["rounds"] == 1
    assert result["input_tokens"] == len(tokens(summarizer, article))
    eos = summarizer.tokenizer.eos_token_id
    assert spy.rows == [[*tokens(summarizer, article), eos]]
    assert set(result) == {"summary_text", "input_tokens", "chunks", "rounds"}


def test_article_exactly_at_the_window_is_not_chunked(
    handler: ModuleType, summarizer: Any, long_document: str
) -> None:
    ids = tokens(summarizer, long_document)[: summarizer.window_tokens]
    request = request_module.SummarizationRequest(
        articles=(summarizer.tokenizer.decode(ids),), parameters=({},), labels=("'inputs'",)
    )
    request_ids = tokens(summarizer, request.articles[0])
    (result,) = handler.predict_fn(request, summarizer).results
    expected = 1 if len(request_ids) <= summarizer.window_tokens else 2
    assert result["chunks"] == expected


# ---------------------------------------------------------------------------------- batching


def test_batches_are_length_sorted_and_results_keep_request_order(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summarizer, "batch_size", 2)
    articles = [
        "The fox.",
        "The council met on Tuesday to discuss the new bridge over the river today.",
        "Scientists measured the ocean.",
        "A summary condenses a long article into a few sentences for readers.",
        "Numbers like 12345 appear.",
    ]
    results = summarize_json(handler, summarizer, {"inputs": articles})

    lengths = [len(tokens(summarizer, article)) for article in articles]
    assert [result["input_tokens"] for result in results] == lengths
    assert len(spy.calls) == 3
    batch_lengths = [[len(row) - 1 for row in call["rows"]] for call in spy.calls]
    assert batch_lengths == [
        sorted(lengths, reverse=True)[0:2],
        sorted(lengths, reverse=True)[2:4],
        sorted(lengths, reverse=True)[4:5],
    ]


def test_default_batch_size_puts_sixteen_articles_in_one_call(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy
) -> None:
    articles = [f"Paragraph {index} of the report about the river." for index in range(17)]
    results = summarize_json(handler, summarizer, {"inputs": articles})
    assert len(results) == 17
    assert [len(call["rows"]) for call in spy.calls] == [16, 1]


def test_chunks_of_several_articles_share_batches(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy, long_document: str
) -> None:
    short = "The quick brown fox jumps over the lazy dog."
    summarize_json(
        handler,
        summarizer,
        {"inputs": [short, long_document], "parameters": {"max_length": 8, "min_length": 8}},
    )
    chunks = len(
        engine.chunk_spans(
            len(tokens(summarizer, long_document)),
            summarizer.window_tokens,
            summarizer.chunk_overlap,
        )
    )
    assert chunks + 1 <= summarizer.batch_size
    first_round = spy.calls[0]
    # The short article rides in the same generate() call as the long one's windows, last
    # because it is the shortest row.
    assert len(first_round["rows"]) == chunks + 1
    eos = summarizer.tokenizer.eos_token_id
    assert first_round["rows"][-1] == [*tokens(summarizer, short), eos]


def test_jsonlines_parameters_split_batches(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy
) -> None:
    body = (
        '{"inputs": "The fox jumps.", "parameters": {"max_length": 6, "num_beams": 2}}\n'
        '"The council met."\n'
        '{"inputs": "The dog sleeps.", "parameters": {"num_beams": 2, "max_length": 6}}\n'
    )
    request = handler.input_fn(body.encode(), "application/jsonlines")
    prediction = handler.predict_fn(request, summarizer)
    assert len(prediction.results) == 3
    kwargs = sorted((call["kwargs"] for call in spy.calls), key=len)
    assert [len(call["rows"]) for call in sorted(spy.calls, key=lambda c: len(c["kwargs"]))] == [
        1,
        2,
    ]
    assert kwargs[0] == {"use_cache": True}
    assert kwargs[1] == {"use_cache": True, "max_length": 6, "num_beams": 2}


def test_parameters_reach_generate_and_lengths_hold(
    handler: ModuleType, summarizer: Any, spy: GenerateSpy
) -> None:
    parameters = {
        "max_length": 12,
        "min_length": 12,
        "num_beams": 2,
        "length_penalty": 1.5,
        "no_repeat_ngram_size": 3,
        "repetition_penalty": 1.3,
        "early_stopping": True,
    }
    summarize_json(handler, summarizer, {"inputs": "The fox.", "parameters": parameters})
    assert spy.calls[0]["kwargs"] == {"use_cache": True, **parameters}


def test_same_request_same_summary(handler: ModuleType, summarizer: Any) -> None:
    body = {"inputs": ["The fox jumps.", "The dog sleeps."], "parameters": {"num_beams": 2}}
    assert summarize_json(handler, summarizer, body) == summarize_json(handler, summarizer, body)


# ------------------------------------------------------------------ limits checked at predict


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (
            "application/json",
            '{"inputs": "a", "parameters": {"max_length": 100}}',
            "parameter 'max_length' (100) exceeds the model's limit of 64 tokens",
        ),
        (
            "application/jsonlines",
            '"a"\n{"inputs": "b", "parameters": {"max_length": 65}}',
            "line 2: parameter 'max_length' (65) exceeds the model's limit of 64 tokens",
        ),
        (
            # The tiny model's generation config keeps the library default max_length of 20.
            "application/json",
            '{"inputs": "a", "parameters": {"min_length": 30}}',
            "parameter 'min_length' (30) must not exceed 'max_length' (20)",
        ),
    ],
)
def test_model_limits(
    handler: ModuleType, summarizer: Any, content_type: str, body: str, message: str
) -> None:
    request = handler.input_fn(body, content_type)
    with pytest.raises(ValueError) as caught:
        handler.predict_fn(request, summarizer)
    assert str(caught.value) == message


def test_summaries_that_do_not_shrink_fail_the_request(
    handler: ModuleType, summarizer: Any, long_document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verbose = "The quick brown fox jumps over the lazy dog. " * 3

    def verbose_generate(_: Any, work: list[Any], __: Any) -> list[str]:
        return [verbose for _ in work]

    monkeypatch.setattr(engine, "_generate", verbose_generate)
    ids = tokens(summarizer, long_document)
    chunks = len(engine.chunk_spans(len(ids), summarizer.window_tokens, summarizer.chunk_overlap))
    joined = len(tokens(summarizer, " ".join([verbose.strip()] * chunks)))
    request = handler.input_fn(json.dumps({"inputs": ["a", long_document]}), "application/json")
    with pytest.raises(ValueError) as caught:
        handler.predict_fn(request, summarizer)
    assert str(caught.value) == (
        f"inputs[1] cannot be summarized: round 1 turned {len(ids)} tokens into {joined} tokens "
        "of summaries; lower max_length or min_length"
    )


def test_round_cap(
    handler: ModuleType, summarizer: Any, long_document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentence = "The quick brown fox jumps over the lazy dog."
    assert 10 < len(tokens(summarizer, sentence)) < summarizer.window_tokens // 2

    def slowly_shrinking(_: Any, work: list[Any], __: Any) -> list[str]:
        # Every window becomes one sentence: the text shrinks, but not to one window in 2 rounds.
        return [sentence for _ in work]

    monkeypatch.setattr(engine, "_generate", slowly_shrinking)
    capped = dataclasses.replace(summarizer, max_rounds=2)
    request = handler.input_fn(long_document.encode(), "text/plain")
    with pytest.raises(ValueError) as caught:
        handler.predict_fn(request, capped)
    assert str(caught.value) == (
        "text/plain body cannot be summarized within 2 rounds (SUMMARIZER_MAX_ROUNDS); "
        "lower max_length or min_length"
    )


@pytest.mark.parametrize("num_beams", [1, 3])
def test_unpadded_encoding_gives_the_padded_result(
    handler: ModuleType,
    summarizer: Any,
    spy: GenerateSpy,
    long_document: str,
    monkeypatch: pytest.MonkeyPatch,
    num_beams: int,
) -> None:
    """On CPU the encoder runs without padding; summaries must not change because of it."""
    articles = ["The fox.", "The council met on Tuesday to discuss the bridge.", long_document]
    body = {"inputs": articles, "parameters": {"max_length": 10, "num_beams": num_beams}}
    assert summarizer.unpadded_encoder
    unpadded = summarize_json(handler, summarizer, body)
    assert all(call["encoder_outputs"] is not None for call in spy.calls)
    monkeypatch.setattr(summarizer, "unpadded_encoder", False)
    padded = summarize_json(handler, summarizer, body)
    assert spy.calls[-1]["encoder_outputs"] is None
    assert unpadded == padded


def test_unpadded_encoder_output_matches_the_padded_encoder(
    handler: ModuleType, summarizer: Any
) -> None:
    rows = [[120, 130, 140, 150, 1], [121, 131, 141, 151, 1], [122, 132, 1]]
    unpadded = batching._encode_unpadded(summarizer, rows).last_hidden_state
    input_ids, attention_mask = batching._pad(summarizer, rows)
    with torch.inference_mode():
        padded = summarizer.model.get_encoder()(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
    mask = attention_mask.bool()
    assert torch.allclose(unpadded[mask], padded[mask], atol=1e-5)
    assert not unpadded[~mask].any()
