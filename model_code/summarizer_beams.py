"""Beam search that keeps one copy of each input's cross-attention keys and values, not one a beam.

transformers 4.51's ``generate`` repeats every input's encoder output once per beam, and each
PEGASUS decoder layer then projects and caches cross-attention keys and values for every beam
row, although the beams of one input attend to the very same encoder states. Measured on the
CPU benchmark model (d_model 512, 4 beams, batch 16), that duplicate work was about a fifth of
the batched handler's time: the projections run four times over, and every decoding step reads
four copies of the cache. On a GPU the same cache is most of what a batch holds in memory
(``summarizer_memory``), so one copy also lets a batch hold more inputs.

``shared_cross_attention(model, beams)`` changes that for the duration of one ``generate`` call:
each decoder cross-attention layer projects the keys and values from the first row of each group
of ``beams`` rows, caches them once per input, and attends with all the group's queries in one
product. The arithmetic is the same as before (same projections of the same states, same masked
softmax), so summaries are unchanged; the tests compare them with the plain path.

It relies on two facts of transformers 4.51 that are checked rather than assumed: ``generate``
lays the beams of input ``i`` out as rows ``i*beams`` to ``i*beams + beams - 1``
(``repeat_interleave``), and PEGASUS's cache is the legacy tuple, whose cross-attention entries
beam reordering leaves alone. Whenever a group's rows differ, or the cache does not have one row
per group, a layer falls back to the library's own code; a model whose cross-attention is not
transformers' eager ``PegasusAttention`` is never touched.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

try:  # the module path of transformers 4.51; a later layout simply disables the sharing
    from transformers.models.pegasus.modeling_pegasus import PegasusAttention
except ImportError:  # pragma: no cover - depends on the installed transformers
    PegasusAttention = None


def _cross_attention_layers(model: Any) -> list[Any]:
    """The decoder's cross-attention modules, if they are all transformers' eager PEGASUS ones."""
    if PegasusAttention is None or getattr(model.config, "model_type", None) != "pegasus":
        return []
    decoder = getattr(getattr(model, "model", None), "decoder", None)
    layers = [getattr(layer, "encoder_attn", None) for layer in getattr(decoder, "layers", [])]
    if not layers or any(type(layer) is not PegasusAttention for layer in layers):
        return []
    return layers


def supports_shared_cross_attention(model: Any) -> bool:
    """Whether ``shared_cross_attention`` changes anything for this model."""
    return bool(_cross_attention_layers(model))


def _groups_alike(states: torch.Tensor, beams: int) -> bool:
    """Whether every group of ``beams`` rows repeats its first row (first against last suffices:
    generate copies one input into all its beams, or it does not group them at all)."""
    return states.shape[0] % beams == 0 and torch.equal(
        states[0::beams], states[beams - 1 :: beams]
    )


def _shared_forward(
    self: Any,
    hidden_states: torch.Tensor,
    key_value_states: torch.Tensor | None = None,
    past_key_value: tuple[torch.Tensor, ...] | None = None,
    attention_mask: torch.Tensor | None = None,
    layer_head_mask: torch.Tensor | None = None,
    output_attentions: bool = False,
) -> tuple[torch.Tensor, None, tuple[torch.Tensor, torch.Tensor]]:
    """PegasusAttention.forward for cross-attention with one key/value row per group of beams.

    Its cache entry is ``(keys transposed, values)``: ``(groups, heads, head_dim, S)`` and
    ``(groups, heads, S, head_dim)``, so that the scores are a plain product at every step. It
    is told from the library's by its first dimension (one row per group, not per beam), which
    also keeps a layer that fell back at the first step on the library's code until the end.
    """
    beams: int = self._summarizer_beams
    rows, tgt_len, _ = hidden_states.shape
    groups = rows // beams
    ours = past_key_value is not None and past_key_value[0].shape[0] == groups
    if (
        key_value_states is None
        or layer_head_mask is not None
        or output_attentions
        or rows % beams
        or (past_key_value is not None and not ours)
        or (
            past_key_value is None
            and not (
                _groups_alike(key_value_states, beams)
                and (attention_mask is None or _groups_alike(attention_mask, beams))
            )
        )
    ):
        return PegasusAttention.forward(  # type: ignore[no-any-return]
            self,
            hidden_states,
            key_value_states=key_value_states,
            past_key_value=past_key_value,
            attention_mask=attention_mask,
            layer_head_mask=layer_head_mask,
            output_attentions=output_attentions,
        )
    heads, head_dim = self.num_heads, self.head_dim
    if past_key_value is not None:
        keys_t, values = past_key_value[0], past_key_value[1]
    else:
        source = key_value_states[0::beams]
        keys_t = self.k_proj(source).view(groups, -1, heads, head_dim).permute(0, 2, 3, 1)
        keys_t = keys_t.contiguous()
        values = self._shape(self.v_proj(source), -1, groups)
    # (rows, tgt, d) -> (groups, heads, beams * tgt, head_dim): a group's queries side by side.
    query = (self.q_proj(hidden_states) * self.scaling).view(
        groups, beams, tgt_len, heads, head_dim
    )
    query = query.permute(0, 3, 1, 2, 4).reshape(groups, heads, beams * tgt_len, head_dim)
    weights = torch.matmul(query, keys_t)
    if attention_mask is not None:
        # (rows, 1, tgt, S) -> (groups, 1, 1, tgt, S), the same for every beam of a group.
        mask = attention_mask[0::beams].unsqueeze(2)
        weights = (weights.view(groups, heads, beams, tgt_len, -1) + mask).view(
            groups, heads, beams * tgt_len, -1
        )
    weights = torch.nn.functional.softmax(weights, dim=-1)
    output = torch.matmul(weights, values)
    output = output.view(groups, heads, beams, tgt_len, head_dim).permute(0, 2, 3, 1, 4)
    output = self.out_proj(output.reshape(rows, tgt_len, self.embed_dim))
    return output, None, (keys_t, values)


@contextmanager
def shared_cross_attention(model: Any, beams: int) -> Iterator[bool]:
    """Inside, the model's beam search shares cross-attention among the beams of an input.

    Yields whether sharing is on (off for greedy search and for unsupported models). The layers
    get their own ``forward`` only for the duration, so other users of the same model object
    (the benchmark's reference pipeline) see the library's code.
    """
    layers = _cross_attention_layers(model) if beams > 1 else []
    for layer in layers:
        layer._summarizer_beams = beams
        layer.forward = types.MethodType(_shared_forward, layer)
    try:
        yield bool(layers)
    finally:
        for layer in layers:
            del layer.forward
            del layer._summarizer_beams
