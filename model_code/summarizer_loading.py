"""Loading: where the weights come from, device and precision, and the ``Summarizer`` settings.

``load_summarizer`` is what ``model_fn`` runs once per model-server worker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from summarizer_beams import supports_shared_cross_attention
from summarizer_memory import MIB, MemoryModel, batch_memory_budget
from summarizer_settings import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_ROUNDS,
    ENV_BATCH_SIZE,
    ENV_CHUNK_OVERLAP,
    ENV_GPU_DTYPE,
    ENV_MAX_ROUNDS,
    MAX_BATCH_SIZE,
    MAX_ROUNDS_LIMIT,
    env_int,
)

LOGGER = logging.getLogger(__name__)

GPU_DTYPES: Mapping[str, torch.dtype] = {
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float32": torch.float32,
}
# Ampere (compute capability 8.0) and later compute bf16 natively; older GPUs such as the T4 of
# g4dn (7.5) only emulate it, much more slowly.
NATIVE_BF16_CAPABILITY = (8, 0)


@dataclass
class Summarizer:
    """The loaded model with everything ``predict_fn`` needs; what ``model_fn`` returns.

    ``max_input_tokens`` is the encoder's positional limit (special tokens included) and
    ``window_tokens`` the article tokens that fit in one window beside the special tokens.
    ``batch_size`` caps the inputs of one ``generate`` call, ``batch_memory_bytes`` what the
    call may cost according to ``memory`` (whichever is reached first ends the batch).
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    max_input_tokens: int
    window_tokens: int
    chunk_overlap: int
    memory: MemoryModel
    batch_memory_bytes: int
    batch_size: int = DEFAULT_BATCH_SIZE
    max_rounds: int = DEFAULT_MAX_ROUNDS
    # Encode without padding (see summarizer_engine). On a GPU one padded encoder call is
    # faster than several small ones, so this is for the CPU.
    unpadded_encoder: bool = True

    @property
    def device(self) -> torch.device:
        """Where the model's weights live; inputs are moved there."""
        return self.model.device

    @property
    def max_output_tokens(self) -> int:
        """The decoder's positional limit: generating past it would index out of range."""
        return int(self.model.config.max_position_embeddings)


def max_input_tokens_of(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """The encoder input limit: the smaller of the positional table and the tokenizer's limit.

    ``tokenizer.model_max_length`` is a huge sentinel when a checkpoint does not set it, so the
    model config usually decides.
    """
    limits = [int(model.config.max_position_embeddings)]
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and tokenizer_limit > 0:
        limits.append(tokenizer_limit)
    return min(limits)


def build_summarizer(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    batch_size: int | None = None,
    chunk_overlap: int | None = None,
    max_rounds: int | None = None,
) -> Summarizer:
    """Wrap a loaded model and tokenizer, taking unset settings from the environment.

    Kept apart from ``model_fn`` so that tests and the benchmark can wrap a model they built.
    The memory budget is measured here, after the weights are on the device.
    """
    max_input = max_input_tokens_of(model, tokenizer)
    window = max_input - tokenizer.num_special_tokens_to_add(pair=False)
    if window < 2:
        raise ValueError(f"the model's input limit of {max_input} tokens is too small to chunk")
    if batch_size is None:
        batch_size = env_int(ENV_BATCH_SIZE, DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE)
    if chunk_overlap is None:
        # A tenth of the window keeps a sentence cut at a window edge whole in one of the two
        # windows for typical sentence lengths, at 10% extra encoder work.
        chunk_overlap = env_int(ENV_CHUNK_OVERLAP, window // 10, 0, window // 2)
    if max_rounds is None:
        max_rounds = env_int(ENV_MAX_ROUNDS, DEFAULT_MAX_ROUNDS, 2, MAX_ROUNDS_LIMIT)
    if not 0 <= chunk_overlap <= window // 2:
        raise ValueError(f"chunk overlap must be between 0 and {window // 2}, got {chunk_overlap}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return Summarizer(
        model=model,
        tokenizer=tokenizer,
        max_input_tokens=max_input,
        window_tokens=window,
        chunk_overlap=chunk_overlap,
        # Beam search shares cross-attention where the model allows (summarizer_beams); the
        # memory model both sizes batches that way and tells run_batch to do it.
        memory=MemoryModel.of(model, shared_cross_attention=supports_shared_cross_attention(model)),
        batch_memory_bytes=batch_memory_budget(model.device),
        batch_size=batch_size,
        max_rounds=max_rounds,
        unpadded_encoder=model.device.type == "cpu",
    )


def select_device(context: Any) -> torch.device:
    """Use the GPU the model server assigned to this worker, else the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    properties = getattr(context, "system_properties", None) or {}
    gpu_id = properties.get("gpu_id")
    return torch.device(f"cuda:{int(gpu_id) if gpu_id is not None else 0}")


def select_dtype(device: torch.device) -> torch.dtype:
    """fp32 on CPU; on GPU bf16 where the GPU computes it natively, else fp16.

    ``torch.cuda.is_bf16_supported()`` also says True where bf16 is only emulated (its
    ``including_emulation`` default since torch 2.4), so the compute capability decides.
    ``SUMMARIZER_GPU_DTYPE`` (bfloat16, float16, float32) overrides the choice: PEGASUS was
    trained in bf16 and fp16 activations may overflow on GPUs without it.
    """
    if device.type != "cuda":
        return torch.float32
    override = os.environ.get(ENV_GPU_DTYPE, "").strip().lower()
    if override and override != "auto":
        if override not in GPU_DTYPES:
            raise ValueError(
                f"environment variable {ENV_GPU_DTYPE} must be one of auto, "
                f"{', '.join(GPU_DTYPES)}, got {override!r}"
            )
        return GPU_DTYPES[override]
    capability = tuple(torch.cuda.get_device_capability(device))
    return torch.bfloat16 if capability >= NATIVE_BF16_CAPABILITY else torch.float16


def model_source(model_dir: str) -> tuple[str, dict[str, Any]]:
    """Decide where the weights come from, and the ``from_pretrained`` options that go with it.

    Weights in ``model_dir`` win: the archive ships them, or toolkit 2.6.0 has already
    downloaded ``HF_MODEL_ID`` there (its mms_model_server snapshots the Hub repository into
    ``.sagemaker/mms/models/<id>`` and serves that folder as ``model_dir``), so a second download
    would only slow a cold start. Otherwise ``HF_MODEL_ID`` (and ``HF_MODEL_REVISION``) name a
    Hub repository to load directly.
    """
    if os.path.isfile(os.path.join(model_dir, "config.json")):
        return model_dir, {}
    hub_id = os.environ.get("HF_MODEL_ID", "").strip()
    if not hub_id:
        raise ValueError(
            f"no model to load: {model_dir} has no config.json and HF_MODEL_ID is not set"
        )
    options: dict[str, Any] = {}
    revision = os.environ.get("HF_MODEL_REVISION", "").strip()
    if revision:
        options["revision"] = revision
    token = os.environ.get("HF_API_TOKEN", "").strip()
    if token:
        options["token"] = token
    return hub_id, options


def load_summarizer(model_dir: str, context: Any = None) -> Summarizer:
    """Load tokenizer and model once per worker, ready for inference."""
    started = time.perf_counter()
    source, options = model_source(model_dir)
    device = select_device(context)
    dtype = select_dtype(device)
    tokenizer = AutoTokenizer.from_pretrained(source, **options)
    model = AutoModelForSeq2SeqLM.from_pretrained(source, torch_dtype=dtype, **options)
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    summarizer = build_summarizer(model, tokenizer)
    LOGGER.info(
        "loaded %s on %s (%s) in %.1f s: input limit %d tokens, window %d, overlap %d, "
        "batch %d inputs or %d MiB",
        source,
        device,
        dtype,
        time.perf_counter() - started,
        summarizer.max_input_tokens,
        summarizer.window_tokens,
        summarizer.chunk_overlap,
        summarizer.batch_size,
        summarizer.batch_memory_bytes // MIB,
    )
    return summarizer
