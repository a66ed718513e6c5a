"""The memory model of one ``generate`` call, and the budget a batch must fit in.

Batches are sized by what they cost, not by a fixed count: a client asking for 16 beams of
1,024 tokens must get smaller batches than one asking for greedy 64-token summaries, so that no
request can push the device into an out-of-memory error. README.md ("GPU memory") derives the
formula and lists what it leaves out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from summarizer_settings import (
    DEFAULT_CPU_BATCH_MEMORY_MB,
    DEFAULT_MEMORY_FRACTION,
    ENV_BATCH_MEMORY_MB,
    ENV_MEMORY_FRACTION,
    MAX_BATCH_MEMORY_MB,
    env_fraction,
    env_int,
)

MIB = 1024 * 1024
# Beam search keeps its scores in float32 whatever the model's dtype: the logits' log-softmax
# and the running scores, each one vocabulary-wide row per beam.
_FLOAT32_BYTES = 4


def _config_int(config: Any, *names: str) -> int:
    """The first of ``names`` the model config has (checkpoints spell dimensions differently)."""
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ValueError(f"the model config has none of {', '.join(names)}: cannot size batches")


@dataclass(frozen=True)
class MemoryModel:
    """Peak bytes of an encoder-decoder ``generate`` call, from the model's dimensions.

    A call has two phases whose transients do not coexist: encoding (the encoder's activations
    are freed before decoding starts) and decoding (the caches grow to their size at the last
    step). Per input, with ``S`` encoder tokens, ``L`` generated tokens, ``K`` beams, ``d`` =
    d_model, ``n`` decoder layers, ``h`` encoder heads, ``V`` vocabulary entries and ``b``
    bytes per element:

    * encoding: one encoder layer's activations ``b*S*(4*d + ffn)``, the eager attention's
      scores and probabilities ``2*b*h*S^2`` (PEGASUS has no SDPA attention in transformers
      4.51) and the encoder output ``b*d*S``;
    * decoding, per beam row: the encoder output that ``generate`` copies once per beam
      ``b*d*S``, self-attention keys and values ``2*n*b*d*L``, the last step's logits plus two
      float32 score rows ``V*(b + 8)``; and the cross-attention keys and values of every
      decoder layer ``2*n*b*d*S``, once per input when ``shared_cross_attention`` (see
      ``summarizer_beams``), else once per beam row.

    An input costs the larger of the two phases.
    """

    d_model: int
    decoder_layers: int
    ffn_dim: int
    vocab_size: int
    element_bytes: int
    encoder_heads: int
    # Whether beam search keeps one copy of the cross-attention cache per input (the handler's
    # default where the model supports it) or one per beam row (transformers' own code).
    shared_cross_attention: bool = False

    @classmethod
    def of(cls, model: Any, *, shared_cross_attention: bool = False) -> MemoryModel:
        """Read the dimensions of a loaded model (its config and the dtype of its weights)."""
        config = model.config
        return cls(
            d_model=_config_int(config, "d_model", "hidden_size"),
            decoder_layers=_config_int(config, "decoder_layers", "num_decoder_layers"),
            ffn_dim=_config_int(config, "encoder_ffn_dim", "d_ff", "intermediate_size"),
            vocab_size=_config_int(config, "vocab_size"),
            element_bytes=torch.empty((), dtype=model.dtype).element_size(),
            encoder_heads=_config_int(
                config, "encoder_attention_heads", "num_attention_heads", "num_heads"
            ),
            shared_cross_attention=shared_cross_attention,
        )

    def cross_attention_bytes(self, input_tokens: int) -> int:
        """Cross-attention keys and values of every decoder layer for one copy of an input."""
        return 2 * self.decoder_layers * self.element_bytes * self.d_model * input_tokens

    def row_bytes(self, input_tokens: int, output_tokens: int) -> int:
        """Bytes one beam row holds while decoding (it grows to this at the last step)."""
        b, d, n = self.element_bytes, self.d_model, self.decoder_layers
        encoder_output = b * d * input_tokens
        self_attention = 2 * n * b * d * output_tokens
        scores = self.vocab_size * (b + 2 * _FLOAT32_BYTES)
        cross = 0 if self.shared_cross_attention else self.cross_attention_bytes(input_tokens)
        return encoder_output + cross + self_attention + scores

    def encoding_bytes(self, input_tokens: int) -> int:
        """Bytes one input needs while the encoder runs."""
        b, s = self.element_bytes, input_tokens
        activations = b * s * (4 * self.d_model + self.ffn_dim)
        attention = 2 * b * self.encoder_heads * s * s
        return activations + attention + b * self.d_model * s

    def decoding_bytes(self, input_tokens: int, output_tokens: int, beams: int) -> int:
        """Bytes one input holds at the last decoding step."""
        rows = beams * self.row_bytes(input_tokens, output_tokens)
        if self.shared_cross_attention:
            rows += self.cross_attention_bytes(input_tokens)
        return rows

    def input_bytes(self, input_tokens: int, output_tokens: int, beams: int) -> int:
        """Bytes one input of a batch costs: the larger of its two phases."""
        return max(
            self.encoding_bytes(input_tokens),
            self.decoding_bytes(input_tokens, output_tokens, beams),
        )

    def batch_bytes(self, inputs: int, input_tokens: int, output_tokens: int, beams: int) -> int:
        """Bytes of a batch of ``inputs`` inputs padded to ``input_tokens`` tokens."""
        return inputs * self.input_bytes(input_tokens, output_tokens, beams)


def batch_memory_budget(device: torch.device) -> int:
    """Bytes one ``generate`` call may use: ``SUMMARIZER_BATCH_MEMORY_MB`` if set, else a share
    (``SUMMARIZER_GPU_MEMORY_FRACTION``, default 0.6) of the GPU memory still free after the
    weights were loaded; 4 GiB on CPU.
    """
    raw = os.environ.get(ENV_BATCH_MEMORY_MB, "").strip()
    if raw:
        return env_int(ENV_BATCH_MEMORY_MB, 0, 1, MAX_BATCH_MEMORY_MB) * MIB
    fraction = env_fraction(ENV_MEMORY_FRACTION, DEFAULT_MEMORY_FRACTION)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * fraction)
    return DEFAULT_CPU_BATCH_MEMORY_MB * MIB
