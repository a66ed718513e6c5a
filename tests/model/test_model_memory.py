"""Batches sized by what they cost: the memory model, its budget, and its safety nets.

The memory model is checked against the cache tensors transformers 4.51 really allocates during
beam search (its own layout, and the handler's shared cross-attention), and against the issue's
pegasus-large figures; the batching tests show that more beams or longer summaries make smaller
batches, and that one input over the budget is refused before any work instead of exhausting
the device.
"""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import summarizer_batching as batching  # noqa: E402
import summarizer_beams as beams_module  # noqa: E402
import summarizer_loading as loading  # noqa: E402
import summarizer_memory as memory  # noqa: E402

GIB = 1024**3
MIB = 1024**2
# transformers' own layout (one cross-attention copy per beam row) and the handler's (per input).
PEGASUS_LARGE_BF16_PER_BEAM = memory.MemoryModel(
    d_model=1024,
    decoder_layers=16,
    ffn_dim=4096,
    vocab_size=96103,
    element_bytes=2,
    encoder_heads=16,
)
PEGASUS_LARGE_BF16 = dataclasses.replace(PEGASUS_LARGE_BF16_PER_BEAM, shared_cross_attention=True)


class Rows:
    """Records the rows of every generate call; optionally fails big ones like a full GPU."""

    def __init__(self, generate: Any, oom_above: int | None = None) -> None:
        self.generate = generate
        self.oom_above = oom_above
        self.calls: list[int] = []

    def __call__(self, **kwargs: Any) -> Any:
        rows = int(kwargs["input_ids"].shape[0])
        self.calls.append(rows)
        if self.oom_above is not None and rows > self.oom_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.generate(**kwargs)


def with_budget(summarizer: Any, per_input_of: tuple[int, int, int], inputs: int) -> Any:
    """A summarizer whose budget holds exactly ``inputs`` inputs of (tokens, length, beams)."""
    cost = summarizer.memory.input_bytes(*per_input_of)
    return dataclasses.replace(summarizer, batch_memory_bytes=inputs * cost + cost - 1)


def predict(handler: ModuleType, summarizer: Any, body: dict[str, Any]) -> list[Any]:
    request = handler.input_fn(json.dumps(body), "application/json")
    return handler.predict_fn(request, summarizer).results


# ------------------------------------------------------------------------------ the formula


def test_the_issues_pegasus_large_figures() -> None:
    # Cross-attention keys and values alone, 1,024 input tokens: per beam row in transformers'
    # own layout, once per input in the handler's.
    cross = PEGASUS_LARGE_BF16_PER_BEAM.cross_attention_bytes(1024)
    assert 16 * 8 * cross == 8 * GIB
    assert 16 * 16 * cross == 16 * GIB
    shared_16_beams = PEGASUS_LARGE_BF16.decoding_bytes(1024, 0, 16)
    per_beam_16_beams = PEGASUS_LARGE_BF16_PER_BEAM.decoding_bytes(1024, 0, 16)
    assert per_beam_16_beams - shared_16_beams == 15 * cross


def test_a_default_a10g_budget_splits_16_beams_of_1024_tokens() -> None:
    # ~21 GiB free on an A10G after the bf16 weights, 60% of it for one generate call.
    budget = int(21 * GIB * 0.6)
    per_beam, shared = PEGASUS_LARGE_BF16_PER_BEAM, PEGASUS_LARGE_BF16
    assert 16 * per_beam.input_bytes(1024, 1024, 16) > 24 * GIB  # would OOM
    assert budget // per_beam.input_bytes(1024, 1024, 16) == 6
    assert budget // shared.input_bytes(1024, 1024, 16) == 11
    assert budget // per_beam.input_bytes(1024, 256, 8) == 19  # checkpoint defaults
    assert budget // shared.input_bytes(1024, 256, 8) == 59
    # FACTS.md: ~210 MB per article for fp16, 512 tokens, 4 beams, 128 new tokens (per beam).
    assert 160 * MIB < per_beam.input_bytes(512, 128, 4) < 210 * 10**6
    assert 70 * MIB < shared.input_bytes(512, 128, 4) < 75 * MIB


def test_encoding_can_cost_more_than_decoding() -> None:
    # Greedy search of short summaries: the encoder's eager attention (16 heads x S^2 scores
    # and probabilities) is the larger phase, and it grows with the square of the input.
    m = PEGASUS_LARGE_BF16
    assert m.input_bytes(1024, 16, 1) == m.encoding_bytes(1024) > m.decoding_bytes(1024, 16, 1)
    assert m.encoding_bytes(1024) - m.encoding_bytes(512) > 2 * (
        m.encoding_bytes(512) - m.encoding_bytes(256)
    )


def _cache_bytes(summarizer: Any, *, shared: bool) -> tuple[dict[str, int], int, int, int]:
    """Beam search on the tiny model; the bytes of its final cache, rows, width and length."""
    model, tokenizer = summarizer.model, summarizer.tokenizer
    texts = ["The council met on Tuesday to discuss the bridge.", "The fox jumps."]
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    beams, length = 3, 12
    with torch.inference_mode(), beams_module.shared_cross_attention(model, beams if shared else 1):
        out = model.generate(
            **encoded,
            num_beams=beams,
            max_length=length,
            min_length=length,
            return_dict_in_generate=True,
        )
    # transformers 4.51 returns PEGASUS's cache in the legacy layout: per decoder layer
    # (self keys, self values, cross keys, cross values).
    layers = out.past_key_values
    nbytes = {
        "self": sum(layer[0].nbytes + layer[1].nbytes for layer in layers),
        "cross": sum(layer[2].nbytes + layer[3].nbytes for layer in layers),
    }
    return nbytes, len(texts), encoded.input_ids.shape[1], length


@pytest.mark.parametrize("shared", [False, True])
def test_the_model_matches_the_cache_transformers_allocates(summarizer: Any, shared: bool) -> None:
    nbytes, inputs, width, length = _cache_bytes(summarizer, shared=shared)
    m = dataclasses.replace(summarizer.memory, shared_cross_attention=shared)
    beams = 3
    per_layer_token = 2 * m.element_bytes * m.d_model
    copies = inputs if shared else inputs * beams
    assert nbytes["cross"] == copies * m.decoder_layers * per_layer_token * width
    assert nbytes["cross"] == copies * m.cross_attention_bytes(width)
    # The last generated token is never fed back, so the cache ends one short of max_length.
    assert nbytes["self"] == inputs * beams * m.decoder_layers * per_layer_token * (length - 1)
    assert m.decoding_bytes(width, length, beams) * inputs >= nbytes["cross"] + nbytes["self"]


def test_dimensions_come_from_the_loaded_model(summarizer: Any) -> None:
    config = summarizer.model.config
    assert summarizer.memory == memory.MemoryModel(
        d_model=config.d_model,
        decoder_layers=config.decoder_layers,
        ffn_dim=config.encoder_ffn_dim,
        vocab_size=config.vocab_size,
        element_bytes=4,
        encoder_heads=config.encoder_attention_heads,
        shared_cross_attention=True,
    )


# ------------------------------------------------------------------------------- the budget


def test_budget_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert memory.batch_memory_budget(torch.device("cpu")) == 4096 * MIB
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (20 * GIB, 24 * GIB))
    assert memory.batch_memory_budget(torch.device("cuda:0")) == int(20 * GIB * 0.6)
    monkeypatch.setenv("SUMMARIZER_GPU_MEMORY_FRACTION", "0.25")
    assert memory.batch_memory_budget(torch.device("cuda:0")) == 5 * GIB
    monkeypatch.setenv("SUMMARIZER_BATCH_MEMORY_MB", "512")
    assert memory.batch_memory_budget(torch.device("cuda:0")) == 512 * MIB


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SUMMARIZER_BATCH_MEMORY_MB",
            "0",
            "environment variable SUMMARIZER_BATCH_MEMORY_MB must be an integer between 1 and "
            "1048576, got '0'",
        ),
        (
            "SUMMARIZER_GPU_MEMORY_FRACTION",
            "1.5",
            "environment variable SUMMARIZER_GPU_MEMORY_FRACTION must be a number above 0 and "
            "at most 1, got '1.5'",
        ),
        (
            "SUMMARIZER_GPU_MEMORY_FRACTION",
            "most",
            "environment variable SUMMARIZER_GPU_MEMORY_FRACTION must be a number above 0 and "
            "at most 1, got 'most'",
        ),
    ],
)
def test_invalid_budget_settings(
    summarizer: Any, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as caught:
        loading.build_summarizer(summarizer.model, summarizer.tokenizer)
    assert str(caught.value) == message


# ------------------------------------------------------------------------- cost-sized batches

ARTICLES = [
    f"Paragraph {index} of the report about the river and the bridge." for index in range(8)
]


def test_more_beams_make_smaller_batches(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = Rows(summarizer.model.generate)
    monkeypatch.setattr(summarizer.model, "generate", rows)
    width = max(len(summarizer.tokenizer(a).input_ids) for a in ARTICLES)
    sized = with_budget(summarizer, (width, 30, 8), inputs=3)

    predict(handler, sized, {"inputs": ARTICLES, "parameters": {"num_beams": 8, "max_length": 30}})
    assert rows.calls == [3, 3, 2]
    rows.calls.clear()
    predict(handler, sized, {"inputs": ARTICLES, "parameters": {"num_beams": 1, "max_length": 30}})
    assert rows.calls == [8]  # greedy inputs cost less than a third: all fit


def test_longer_summaries_make_smaller_batches(summarizer: Any) -> None:
    # (On the tiny model short summaries cost less than encoding; these are long enough not to.)
    sized = with_budget(summarizer, (40, 32, 4), inputs=4)
    assert [len(b) for b in batching.plan_batches(sized, [40] * 8, 32, 4)] == [4, 4]
    assert len(batching.plan_batches(sized, [40] * 8, 64, 4)[0]) < 4
    # batch_size still caps a cheap batch.
    assert [len(b) for b in batching.plan_batches(sized, [5] * 40, 1, 1)] == [16, 16, 8]


def test_one_input_over_the_budget_is_refused_before_any_work(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = Rows(summarizer.model.generate)
    monkeypatch.setattr(summarizer.model, "generate", rows)
    tight = dataclasses.replace(summarizer, batch_memory_bytes=MIB // 8)
    body = {"inputs": ["The fox.", "x " * 200], "parameters": {"num_beams": 16, "max_length": 64}}
    with pytest.raises(ValueError) as caught:
        predict(handler, tight, body)
    width = len(summarizer.tokenizer("The fox.").input_ids)
    assert str(caught.value) == (
        f"inputs[0] needs about {tight.memory.input_bytes(width, 64, 16) / MIB:.1f} MiB for "
        "16 beams of 64 tokens, more than the batch memory budget of 0.1 MiB "
        "(SUMMARIZER_BATCH_MEMORY_MB); lower num_beams or max_length"
    )
    assert rows.calls == []


def test_with_ids_only_the_costly_line_fails(handler: ModuleType, summarizer: Any) -> None:
    tight = dataclasses.replace(summarizer, batch_memory_bytes=MIB // 8)
    body = (
        '{"id": "greedy", "inputs": "The fox.", "parameters": {"num_beams": 1}}\n'
        '{"id": "huge", "inputs": "The dog.", "parameters": {"num_beams": 16, "max_length": 64}}\n'
    )
    request = handler.input_fn(body, "application/jsonlines")
    greedy, huge = handler.predict_fn(request, tight).results
    assert greedy["id"] == "greedy" and "summary_text" in greedy
    assert huge["id"] == "huge"
    assert huge["error"].startswith("line 2 needs about ")


def test_out_of_memory_splits_the_batch_instead_of_failing_it(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = predict(handler, summarizer, {"inputs": ARTICLES[:5]})
    rows = Rows(summarizer.model.generate, oom_above=2)
    monkeypatch.setattr(summarizer.model, "generate", rows)
    assert predict(handler, summarizer, {"inputs": ARTICLES[:5]}) == expected
    assert rows.calls == [5, 2, 3, 1, 2]


def test_out_of_memory_alone_fails_that_document(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summarizer.model, "generate", Rows(summarizer.model.generate, 0))
    request = handler.input_fn('{"id": "a", "inputs": "The fox."}', "application/jsonlines")
    assert handler.predict_fn(request, summarizer).results == [
        {
            "id": "a",
            "error": "line 1 ran out of GPU memory although alone in its batch; "
            "lower num_beams or max_length",
        }
    ]
