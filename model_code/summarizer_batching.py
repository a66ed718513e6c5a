"""Batches: cost-sized batches of encoder inputs, padding, and one ``generate`` call each.

``plan_batches`` cuts length-sorted rows into batches that fit both ``batch_size`` and the memory
budget (``summarizer_memory``); ``run_batch`` runs one, splitting it when the device still runs
out of memory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutput

from summarizer_beams import shared_cross_attention
from summarizer_loading import Summarizer

LOGGER = logging.getLogger(__name__)


def effective_lengths(summarizer: Summarizer, parameters: Mapping[str, Any]) -> tuple[int, int]:
    """(max_length, num_beams) that generate will use: the request's, else the checkpoint's."""
    config = summarizer.model.generation_config
    max_length = int(parameters.get("max_length", config.max_length))
    beams = int(parameters.get("num_beams", config.num_beams or 1))
    return max_length, beams


def _pad(summarizer: Summarizer, rows: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad encoder inputs into one tensor pair (rows arrive sorted, so padding is small)."""
    width = max(len(row) for row in rows)
    pad_id = summarizer.tokenizer.pad_token_id
    pad_id = 0 if pad_id is None else pad_id
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[index, : len(row)] = 1
    return input_ids.to(summarizer.device), attention_mask.to(summarizer.device)


def _encode_unpadded(summarizer: Summarizer, rows: Sequence[list[int]]) -> BaseModelOutput:
    """Run the encoder without padding: each run of equal-length rows is one encoder call.

    On CPU the encoder costs in proportion to the positions it computes, padding included, and
    with short summaries it is most of the work, so padded positions would be pure waste. Rows
    arrive sorted by length, so windows of a long document (all equally long) still share one
    call. The outputs are zero-padded to one tensor; the attention mask keeps the decoder's
    cross-attention off the padding, so the result is the same as encoding the padded batch.
    """
    encoder = summarizer.model.get_encoder()
    width = max(len(row) for row in rows)
    hidden: torch.Tensor | None = None
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and len(rows[end]) == len(rows[start]):
            end += 1
        ids = torch.tensor(rows[start:end], dtype=torch.long, device=summarizer.device)
        states = encoder(input_ids=ids, return_dict=True).last_hidden_state
        if hidden is None:
            hidden = states.new_zeros((len(rows), width, states.shape[-1]))
        hidden[start:end, : states.shape[1]] = states
        start = end
    return BaseModelOutput(last_hidden_state=hidden)


def plan_batches(
    summarizer: Summarizer, widths: Sequence[int], output_tokens: int, beams: int
) -> list[range]:
    """Cut rows sorted longest first into batches within ``batch_size`` and the memory budget.

    A batch is padded to its first (longest) row, so its cost is known when it opens. A row
    that alone exceeds the budget still gets a batch of its own: ``summarize`` refuses such
    articles before the work starts, and the out-of-memory fallback covers the rest.
    """
    batches: list[range] = []
    start = 0
    while start < len(widths):
        per_input = summarizer.memory.input_bytes(widths[start], output_tokens, beams)
        fit = max(1, summarizer.batch_memory_bytes // per_input)
        end = min(len(widths), start + min(summarizer.batch_size, fit))
        batches.append(range(start, end))
        start = end
    return batches


def run_batch(
    summarizer: Summarizer, rows: list[list[int]], generation: dict[str, Any]
) -> list[str]:
    """One generate call; on an out-of-memory error, retry the two halves apart."""
    input_ids, attention_mask = _pad(summarizer, rows)
    _, beams = effective_lengths(summarizer, generation)
    # The memory model sized this batch for one cross-attention copy per input, or per beam.
    sharing = beams if summarizer.memory.shared_cross_attention else 1
    try:
        with torch.inference_mode(), shared_cross_attention(summarizer.model, sharing):
            extra: dict[str, Any] = {}
            if summarizer.unpadded_encoder:
                extra["encoder_outputs"] = _encode_unpadded(summarizer, rows)
            generated = summarizer.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                use_cache=True,
                **extra,
                **generation,
            )
    except torch.cuda.OutOfMemoryError:
        if len(rows) == 1:
            raise
        # The memory model is an estimate: halve rather than fail every input of the batch.
        LOGGER.warning("out of memory at a batch of %d inputs: splitting it", len(rows))
        del input_ids, attention_mask
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = len(rows) // 2
        return run_batch(summarizer, rows[:half], generation) + run_batch(
            summarizer, rows[half:], generation
        )
    texts = summarizer.tokenizer.batch_decode(generated, skip_special_tokens=True)
    return [text.strip() for text in texts]
