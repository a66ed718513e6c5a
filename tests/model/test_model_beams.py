"""Beam search with one cross-attention copy per input (summarizer_beams): same results, less work.

The handler shares each input's cross-attention keys and values among its beams. These tests
show that it really does (the cache holds one row per input, the key projection sees one row per
input), that summaries do not change (padded and unpadded encoding, several beam counts, long
documents), that anything it cannot vouch for falls back to transformers' own code, and that
the model is left as it was afterwards.
"""

from __future__ import annotations

import dataclasses
import json
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from transformers import BartConfig, BartForConditionalGeneration  # noqa: E402
from transformers.models.pegasus.modeling_pegasus import PegasusAttention  # noqa: E402

import summarizer_beams as beams_module  # noqa: E402

ARTICLES = [
    "The fox.",
    "The council met on Tuesday to discuss the new bridge over the river.",
    "Scientists measured the temperature of the ocean at several depths.",
    "A summary condenses a long article.",
]


def per_beam(summarizer: Any) -> Any:
    """The same summarizer with transformers' own layout: one cross-attention copy per beam."""
    return dataclasses.replace(
        summarizer, memory=dataclasses.replace(summarizer.memory, shared_cross_attention=False)
    )


def summaries(handler: ModuleType, summarizer: Any, body: dict[str, Any]) -> list[Any]:
    request = handler.input_fn(json.dumps(body), "application/json")
    return json.loads(handler.output_fn(handler.predict_fn(request, summarizer), None))


class KeyRows:
    """Counts the rows each cross-attention key projection is applied to."""

    def __init__(self, model: Any) -> None:
        self.rows: list[int] = []
        self.handles = [
            layer.encoder_attn.k_proj.register_forward_hook(self._record)
            for layer in model.model.decoder.layers
        ]

    def _record(self, module: Any, inputs: tuple[Any, ...], output: Any) -> None:
        self.rows.append(int(inputs[0].shape[0]))

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def test_the_handler_shares_cross_attention_among_beams(
    handler: ModuleType, summarizer: Any
) -> None:
    assert summarizer.memory.shared_cross_attention
    recorder = KeyRows(summarizer.model)
    try:
        body = {"inputs": ARTICLES, "parameters": {"num_beams": 4, "max_length": 8}}
        summaries(handler, summarizer, body)
        shared = list(recorder.rows)
        recorder.rows.clear()
        summaries(handler, per_beam(summarizer), body)
        unshared = list(recorder.rows)
    finally:
        recorder.close()
    layers = len(summarizer.model.model.decoder.layers)
    # Projected once per generate call and layer: 4 inputs, against 4 inputs x 4 beams.
    assert shared == [len(ARTICLES)] * layers
    assert unshared == [len(ARTICLES) * 4] * layers


@pytest.mark.parametrize("num_beams", [2, 3, 5])
@pytest.mark.parametrize("unpadded_encoder", [True, False])
def test_sharing_does_not_change_summaries(
    handler: ModuleType,
    summarizer: Any,
    long_document: str,
    num_beams: int,
    unpadded_encoder: bool,
) -> None:
    body = {
        "inputs": [*ARTICLES, long_document],
        "parameters": {"num_beams": num_beams, "max_length": 12, "min_length": 12},
    }
    shared = dataclasses.replace(summarizer, unpadded_encoder=unpadded_encoder)
    assert summaries(handler, shared, body) == summaries(handler, per_beam(shared), body)


def test_the_cache_holds_one_cross_attention_row_per_input(summarizer: Any) -> None:
    model, tokenizer = summarizer.model, summarizer.tokenizer
    encoded = tokenizer(ARTICLES, return_tensors="pt", padding=True)
    with torch.inference_mode(), beams_module.shared_cross_attention(model, 3) as sharing:
        out = model.generate(
            **encoded, num_beams=3, max_length=6, min_length=6, return_dict_in_generate=True
        )
    assert sharing
    for self_keys, _, cross_keys, cross_values in out.past_key_values:
        assert self_keys.shape[0] == len(ARTICLES) * 3
        assert cross_keys.shape[0] == cross_values.shape[0] == len(ARTICLES)


def test_greedy_search_and_other_models_are_left_alone(summarizer: Any) -> None:
    with beams_module.shared_cross_attention(summarizer.model, 1) as sharing:
        assert not sharing
        assert all("forward" not in vars(layer.encoder_attn) for layer in decoder(summarizer))
    bart = BartForConditionalGeneration(
        BartConfig(
            vocab_size=64,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=32,
        )
    )
    assert not beams_module.supports_shared_cross_attention(bart)
    with beams_module.shared_cross_attention(bart, 4) as sharing:
        assert not sharing
        assert "forward" not in vars(bart.model.decoder.layers[0].encoder_attn)


def decoder(summarizer: Any) -> list[Any]:
    return list(summarizer.model.model.decoder.layers)


def test_the_model_is_restored_afterwards_even_after_an_error(summarizer: Any) -> None:
    layers = decoder(summarizer)
    with (
        pytest.raises(RuntimeError, match="boom"),
        beams_module.shared_cross_attention(summarizer.model, 4) as sharing,
    ):
        assert sharing
        assert all("forward" in vars(layer.encoder_attn) for layer in layers)
        raise RuntimeError("boom")
    for layer in layers:
        assert "forward" not in vars(layer.encoder_attn)
        assert not hasattr(layer.encoder_attn, "_summarizer_beams")
        assert type(layer.encoder_attn).forward is PegasusAttention.forward


def test_rows_that_are_not_groups_of_beams_fall_back_to_the_library(summarizer: Any) -> None:
    """If generate ever laid beams out differently, the layer computes what the library does."""
    attention = decoder(summarizer)[0].encoder_attn
    generator = torch.Generator().manual_seed(0)
    d_model = summarizer.model.config.d_model
    queries = torch.randn(4, 1, d_model, generator=generator)
    grouped = torch.randn(2, 5, d_model, generator=generator).repeat_interleave(2, dim=0)
    scattered = torch.randn(4, 5, d_model, generator=generator)  # rows differ within a group
    with torch.inference_mode():
        expected = {
            name: attention(queries, key_value_states=states)
            for name, states in (("grouped", grouped), ("scattered", scattered))
        }
        with beams_module.shared_cross_attention(summarizer.model, 2):
            got = {
                name: attention(queries, key_value_states=states)
                for name, states in (("grouped", grouped), ("scattered", scattered))
            }
    # Grouped rows: one cache row per group, same output; scattered ones: the library's result.
    assert got["grouped"][2][0].shape[0] == 2
    assert torch.allclose(got["grouped"][0], expected["grouped"][0], atol=1e-6)
    assert got["scattered"][2][0].shape[0] == 4
    assert torch.equal(got["scattered"][0], expected["scattered"][0])
