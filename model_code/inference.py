"""SageMaker inference handler: PEGASUS summarization of long articles on an async endpoint.

The Hugging Face inference toolkit (sagemaker-huggingface-inference-toolkit 2.6.0) imports this
file from ``code/inference.py`` in the model archive, calls ``model_fn`` once per worker and then
``input_fn`` -> ``predict_fn`` -> ``output_fn`` for each request. The toolkit turns ANY exception
raised by these functions into HTTP 400 with ``str(exception)`` as the message, so every client
error here is a ``ValueError`` whose message names the problem. The full contract (content types,
parameters and bounds, error messages, output shape) is in ``README.md`` beside this file.

Design points, and why:

* Articles are never truncated. Anything longer than the encoder's positional limit is cut into
  overlapping token windows, the windows are summarized, the joined window summaries are
  summarized again, and so on until the text fits (map-reduce). A round that does not shrink the
  text fails the request instead of looping.
* All work of one round (whole articles and windows of long ones, from every article in the
  request) is batched together, sorted by token length so a batch pads as little as possible.
  On CPU the encoder even skips padding altogether (it is compute-bound there).
* The model is loaded once per worker, in eval mode, without gradients; generation runs under
  ``torch.inference_mode`` with the KV cache on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import BaseModelOutput

LOGGER = logging.getLogger(__name__)

TEXT_PLAIN = "text/plain"
APPLICATION_JSON = "application/json"
APPLICATION_JSONLINES = "application/jsonlines"
# Other spellings of JSON Lines seen in the wild (SageMaker batch transform uses the first one).
JSONLINES_TYPES = frozenset({APPLICATION_JSONLINES, "application/x-jsonlines"})
SUPPORTED_CONTENT_TYPES = (APPLICATION_JSON, APPLICATION_JSONLINES, TEXT_PLAIN)

FORMAT_JSON = "json"
FORMAT_JSONLINES = "jsonlines"

ENV_MAX_ARTICLES = "MAX_ARTICLES_PER_REQUEST"
ENV_BATCH_SIZE = "SUMMARIZER_BATCH_SIZE"
ENV_CHUNK_OVERLAP = "SUMMARIZER_CHUNK_OVERLAP"
ENV_MAX_ROUNDS = "SUMMARIZER_MAX_ROUNDS"
ENV_GPU_DTYPE = "SUMMARIZER_GPU_DTYPE"

DEFAULT_MAX_ARTICLES = 256
DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_ROUNDS = 8
# Upper bounds of the operator settings: past them a request would rather exhaust memory or the
# async invocation timeout than finish.
MAX_ARTICLES_LIMIT = 100_000
MAX_BATCH_SIZE = 256
MAX_ROUNDS_LIMIT = 32

GPU_DTYPES: Mapping[str, torch.dtype] = {
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float32": torch.float32,
}


@dataclass(frozen=True)
class ParameterSpec:
    """Type and inclusive bounds of one client-settable generation parameter."""

    kind: type
    low: float | None = None
    high: float | None = None


# The whitelist of generation parameters a request may set. Sampling is left out on purpose:
# summaries of an async job should be reproducible. ``max_new_tokens`` is left out because it
# silently overrides ``max_length``; batch size is an operator setting (memory), not a client one.
PARAMETERS: Mapping[str, ParameterSpec] = {
    "max_length": ParameterSpec(int, 1, 1024),
    "min_length": ParameterSpec(int, 0, 1024),
    "num_beams": ParameterSpec(int, 1, 16),
    "length_penalty": ParameterSpec(float, -5.0, 5.0),
    "no_repeat_ngram_size": ParameterSpec(int, 0, 10),
    "repetition_penalty": ParameterSpec(float, 1.0, 5.0),
    "early_stopping": ParameterSpec(bool),
}

_JSON_TYPE_NAMES: Mapping[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _json_type(value: object) -> str:
    """Name a decoded JSON value's type the way a JSON client knows it (not Python's name)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class SummarizationRequest:
    """A validated request: what ``input_fn`` hands to ``predict_fn``.

    ``labels`` say where each article came from (``inputs[2]``, ``line 3``) so that errors found
    later, during summarization, can still point at the article at fault.
    """

    articles: tuple[str, ...]
    parameters: tuple[Mapping[str, Any], ...]
    labels: tuple[str, ...]
    response_format: str = FORMAT_JSON


@dataclass(frozen=True)
class Prediction:
    """One result per article, in request order, plus the format the request arrived in."""

    results: list[dict[str, Any]]
    response_format: str = FORMAT_JSON


@dataclass
class Summarizer:
    """The loaded model with everything ``predict_fn`` needs; what ``model_fn`` returns.

    ``max_input_tokens`` is the encoder's positional limit (special tokens included) and
    ``window_tokens`` the article tokens that fit in one window beside the special tokens.
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    max_input_tokens: int
    window_tokens: int
    chunk_overlap: int
    batch_size: int = DEFAULT_BATCH_SIZE
    max_rounds: int = DEFAULT_MAX_ROUNDS
    # Encode without padding (see _encode_unpadded). On a GPU one padded encoder call is faster
    # than several small ones, so this is for the CPU.
    unpadded_encoder: bool = True

    @property
    def device(self) -> torch.device:
        """Where the model's weights live; inputs are moved there."""
        return self.model.device

    @property
    def max_output_tokens(self) -> int:
        """The decoder's positional limit: generating past it would index out of range."""
        return int(self.model.config.max_position_embeddings)


# --------------------------------------------------------------------------------------------
# Configuration from the environment
# --------------------------------------------------------------------------------------------


def _env_int(name: str, default: int, low: int, high: int) -> int:
    """Read an integer setting, failing loudly: a typo must not silently fall back to a default."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValueError(
            f"environment variable {name} must be an integer between {low} and {high}, got {raw!r}"
        )
    return value


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
    """
    max_input = max_input_tokens_of(model, tokenizer)
    window = max_input - tokenizer.num_special_tokens_to_add(pair=False)
    if window < 2:
        raise ValueError(f"the model's input limit of {max_input} tokens is too small to chunk")
    if batch_size is None:
        batch_size = _env_int(ENV_BATCH_SIZE, DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE)
    if chunk_overlap is None:
        # A tenth of the window keeps a sentence cut at a window edge whole in one of the two
        # windows for typical sentence lengths, at 10% extra encoder work.
        chunk_overlap = _env_int(ENV_CHUNK_OVERLAP, window // 10, 0, window // 2)
    if max_rounds is None:
        max_rounds = _env_int(ENV_MAX_ROUNDS, DEFAULT_MAX_ROUNDS, 2, MAX_ROUNDS_LIMIT)
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
        batch_size=batch_size,
        max_rounds=max_rounds,
        unpadded_encoder=model.device.type == "cpu",
    )


# --------------------------------------------------------------------------------------------
# model_fn
# --------------------------------------------------------------------------------------------


def _select_device(context: Any) -> torch.device:
    """Use the GPU the model server assigned to this worker, else the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    properties = getattr(context, "system_properties", None) or {}
    gpu_id = properties.get("gpu_id")
    return torch.device(f"cuda:{int(gpu_id) if gpu_id is not None else 0}")


def _select_dtype(device: torch.device) -> torch.dtype:
    """fp32 on CPU; on GPU bf16 where the device supports it, else fp16.

    ``SUMMARIZER_GPU_DTYPE`` (bfloat16, float16, float32) overrides the GPU choice: PEGASUS was
    trained in bf16 and fp16 activations may overflow on GPUs without bf16.
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
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


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


def model_fn(model_dir: str, context: Any = None) -> Summarizer:
    """Load tokenizer and model once per worker, ready for inference."""
    started = time.perf_counter()
    source, options = model_source(model_dir)
    device = _select_device(context)
    dtype = _select_dtype(device)
    tokenizer = AutoTokenizer.from_pretrained(source, **options)
    model = AutoModelForSeq2SeqLM.from_pretrained(source, torch_dtype=dtype, **options)
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    summarizer = build_summarizer(model, tokenizer)
    LOGGER.info(
        "loaded %s on %s (%s) in %.1f s: input limit %d tokens, window %d, overlap %d, batch %d",
        source,
        device,
        dtype,
        time.perf_counter() - started,
        summarizer.max_input_tokens,
        summarizer.window_tokens,
        summarizer.chunk_overlap,
        summarizer.batch_size,
    )
    return summarizer


# --------------------------------------------------------------------------------------------
# input_fn
# --------------------------------------------------------------------------------------------


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type header into its lower-cased media type and its parameters."""
    media, *raw_params = header.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def _decode_body(input_data: str | bytes | bytearray | memoryview | None) -> str:
    """Return the body as text; the toolkit hands over str for application/json, else bytes."""
    if input_data is None:
        raise ValueError("request body is empty")
    if isinstance(input_data, str):
        text = input_data.removeprefix("\ufeff")
    else:
        raw = bytes(input_data)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"request body is not valid UTF-8: invalid byte 0x{raw[error.start]:02x} "
                f"at offset {error.start}"
            ) from None
    if text == "":
        raise ValueError("request body is empty")
    return text


def _reject_constant(constant: str) -> float:
    """json.loads accepts NaN and Infinity by default; they are not JSON, so refuse them."""
    raise ValueError(f"{constant} is not allowed")


def _loads(text: str, where: str, *, multiline: bool) -> Any:
    """Parse JSON, naming where it broke (``request body`` or ``line 3``, then the column)."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        position = (
            f"line {error.lineno} column {error.colno}" if multiline else f"column {error.colno}"
        )
        raise ValueError(f"{where} is not valid JSON: {error.msg} at {position}") from None
    except ValueError as error:
        raise ValueError(f"{where} is not valid JSON: {error}") from None


def _check_article(text: str, label: str) -> str:
    """Refuse articles with nothing to summarize: the model would invent a summary of nothing."""
    if text.strip() == "":
        raise ValueError(f"{label} is empty or whitespace-only")
    return text


def _check_type(name: str, spec: ParameterSpec, value: object, prefix: str) -> None:
    """Refuse values of the wrong JSON type (booleans are not numbers, although Python says so)."""
    if spec.kind is bool:
        ok, expected = isinstance(value, bool), "a boolean"
    elif spec.kind is int:
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected = "a number"
    if not ok:
        raise ValueError(f"{prefix}parameter '{name}' must be {expected}, got {_json_type(value)}")


def validate_parameters(parameters: object, prefix: str = "") -> dict[str, Any]:
    """Check generation parameters against the whitelist, their JSON types and their bounds.

    ``prefix`` (``"line 3: "``) says where the parameters came from for JSON Lines requests.
    """
    if not isinstance(parameters, dict):
        raise ValueError(f"{prefix}'parameters' must be an object, got {_json_type(parameters)}")
    valid: dict[str, Any] = {}
    for name, value in parameters.items():
        spec = PARAMETERS.get(name)
        if spec is None:
            raise ValueError(
                f"{prefix}unknown parameter '{name}': supported parameters are "
                f"{', '.join(sorted(PARAMETERS))}"
            )
        _check_type(name, spec, value, prefix)
        if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
            low, high = (
                (int(spec.low), int(spec.high)) if spec.kind is int else (spec.low, spec.high)
            )
            raise ValueError(
                f"{prefix}parameter '{name}' must be between {low} and {high}, got {value}"
            )
        valid[name] = float(value) if spec.kind is float else value
    _check_lengths(valid.get("min_length"), valid.get("max_length"), prefix)
    return valid


def _check_lengths(min_length: int | None, max_length: int | None, prefix: str) -> None:
    """min_length above max_length would make generate() ignore one of them without a word."""
    if min_length is not None and max_length is not None and min_length > max_length:
        raise ValueError(
            f"{prefix}parameter 'min_length' ({min_length}) must not exceed "
            f"'max_length' ({max_length})"
        )


def _check_fields(body: dict[str, Any], prefix: str) -> None:
    """Refuse unknown fields: a misspelt 'parameters' must not be ignored silently."""
    for key in body:
        if key not in ("inputs", "parameters"):
            raise ValueError(
                f"{prefix}unknown field '{key}': expected 'inputs' and optional 'parameters'"
            )


def _max_articles() -> int:
    return _env_int(ENV_MAX_ARTICLES, DEFAULT_MAX_ARTICLES, 1, MAX_ARTICLES_LIMIT)


def _check_count(count: int) -> None:
    limit = _max_articles()
    if count > limit:
        raise ValueError(
            f"request has {count} articles, more than the limit of {limit} ({ENV_MAX_ARTICLES})"
        )


def _parse_json(text: str) -> SummarizationRequest:
    body = _loads(text, "request body", multiline=True)
    if not isinstance(body, dict):
        raise ValueError(
            f"JSON body must be an object with an 'inputs' field, got {_json_type(body)}"
        )
    _check_fields(body, "")
    if "inputs" not in body:
        raise ValueError("JSON body is missing the 'inputs' field")
    inputs = body["inputs"]
    if isinstance(inputs, str):
        articles = [_check_article(inputs, "'inputs'")]
        labels = ["'inputs'"]
    elif isinstance(inputs, list):
        if not inputs:
            raise ValueError("'inputs' must not be an empty array")
        _check_count(len(inputs))
        labels = [f"inputs[{index}]" for index in range(len(inputs))]
        for item, label in zip(inputs, labels, strict=True):
            if not isinstance(item, str):
                raise ValueError(f"{label} must be a string, got {_json_type(item)}")
            _check_article(item, label)
        articles = inputs
    else:
        raise ValueError(
            f"'inputs' must be a string or an array of strings, got {_json_type(inputs)}"
        )
    parameters = validate_parameters(body.get("parameters", {}))
    return SummarizationRequest(
        articles=tuple(articles),
        parameters=tuple(parameters for _ in articles),
        labels=tuple(labels),
        response_format=FORMAT_JSON,
    )


def _parse_jsonlines(text: str) -> SummarizationRequest:
    numbered = [
        (number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not numbered:
        raise ValueError("JSON Lines body has no articles: every line is blank")
    _check_count(len(numbered))
    articles: list[str] = []
    parameters: list[dict[str, Any]] = []
    labels: list[str] = []
    for number, line in numbered:
        label = f"line {number}"
        item = _loads(line, label, multiline=False)
        line_parameters: dict[str, Any] = {}
        if isinstance(item, dict):
            _check_fields(item, f"{label}: ")
            if "inputs" not in item:
                raise ValueError(f"{label} is missing the 'inputs' field")
            if not isinstance(item["inputs"], str):
                raise ValueError(
                    f"{label}: 'inputs' must be a string, got {_json_type(item['inputs'])}"
                )
            line_parameters = validate_parameters(item.get("parameters", {}), f"{label}: ")
            item = item["inputs"]
        elif not isinstance(item, str):
            raise ValueError(
                f"{label} must be a JSON string or an object with 'inputs', got {_json_type(item)}"
            )
        articles.append(_check_article(item, label))
        parameters.append(line_parameters)
        labels.append(label)
    return SummarizationRequest(
        articles=tuple(articles),
        parameters=tuple(parameters),
        labels=tuple(labels),
        response_format=FORMAT_JSONLINES,
    )


def input_fn(
    input_data: str | bytes | bytearray | memoryview | None, content_type: str | None
) -> SummarizationRequest:
    """Decode and validate a request; every problem is a ValueError the client can act on."""
    if not content_type or not content_type.strip():
        raise ValueError(f"missing Content-Type: use one of {', '.join(SUPPORTED_CONTENT_TYPES)}")
    media_type, params = _media_type(content_type)
    if media_type not in (APPLICATION_JSON, TEXT_PLAIN) and media_type not in JSONLINES_TYPES:
        raise ValueError(
            f"unsupported content type '{content_type}': use one of "
            f"{', '.join(SUPPORTED_CONTENT_TYPES)}"
        )
    charset = params.get("charset")
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise ValueError(f"unsupported charset '{charset}': the request body must be UTF-8")
    text = _decode_body(input_data)
    if media_type == TEXT_PLAIN:
        article = _check_article(text, "text/plain body")
        return SummarizationRequest(
            articles=(article,), parameters=({},), labels=("text/plain body",)
        )
    if media_type == APPLICATION_JSON:
        return _parse_json(text)
    return _parse_jsonlines(text)


# --------------------------------------------------------------------------------------------
# predict_fn
# --------------------------------------------------------------------------------------------


def chunk_spans(n_tokens: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Split ``n_tokens`` into the fewest windows of ``window`` tokens overlapping >= ``overlap``.

    Every window except a lone one is full-sized and the starts are spread evenly, so no tiny
    tail window wastes a batch slot, and the windows of one article batch without padding. The
    spans cover ``[0, n_tokens)`` completely: nothing is dropped.
    """
    if window < 1 or not 0 <= overlap < window:
        raise ValueError(f"invalid chunking: window {window}, overlap {overlap}")
    if n_tokens <= window:
        return [(0, n_tokens)]
    stride = window - overlap
    count = math.ceil((n_tokens - overlap) / stride)
    last_start = n_tokens - window
    starts = [(index * last_start + (count - 1) // 2) // (count - 1) for index in range(count)]
    return [(start, start + window) for start in starts]


@dataclass
class _Article:
    """Summarization state of one article across rounds."""

    index: int
    label: str
    generation: dict[str, Any]
    ids: list[int]
    input_tokens: int
    chunks: int = 1
    rounds: int = 0
    summary: str | None = None
    # Where this article's work items sit in the current round's work list.
    first: int = 0
    last: int = 0


@dataclass(frozen=True)
class _Work:
    """One encoder input: a whole article or one window of one."""

    article: _Article
    ids: list[int]


def generation_kwargs(
    summarizer: Summarizer, parameters: Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Check parameters against this model's limits; only what the client set is passed on.

    Unset parameters keep the checkpoint's own generation config (PEGASUS checkpoints ship tuned
    ``num_beams``, ``length_penalty`` and ``max_length``), so the limits are checked on the
    effective values.
    """
    config = summarizer.model.generation_config
    max_length = int(parameters.get("max_length", config.max_length))
    min_length = int(parameters.get("min_length", config.min_length or 0))
    if max_length > summarizer.max_output_tokens:
        raise ValueError(
            f"{prefix}parameter 'max_length' ({max_length}) exceeds the model's limit of "
            f"{summarizer.max_output_tokens} tokens"
        )
    _check_lengths(min_length, max_length, prefix)
    return dict(parameters)


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


def _generate(summarizer: Summarizer, work: Sequence[_Work]) -> list[str]:
    """Summarize every work item, in batches of similar length and identical parameters."""
    outputs: list[str] = [""] * len(work)
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for position, item in enumerate(work):
        key = tuple(sorted(item.article.generation.items()))
        groups.setdefault(key, []).append(position)
    tokenizer = summarizer.tokenizer
    for key, positions in groups.items():
        positions.sort(key=lambda position: len(work[position].ids), reverse=True)
        for start in range(0, len(positions), summarizer.batch_size):
            batch = positions[start : start + summarizer.batch_size]
            rows = [tokenizer.build_inputs_with_special_tokens(work[p].ids) for p in batch]
            input_ids, attention_mask = _pad(summarizer, rows)
            with torch.inference_mode():
                extra: dict[str, Any] = {}
                if summarizer.unpadded_encoder:
                    extra["encoder_outputs"] = _encode_unpadded(summarizer, rows)
                generated = summarizer.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    use_cache=True,
                    **extra,
                    **dict(key),
                )
            texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
            for position, text in zip(batch, texts, strict=True):
                outputs[position] = text.strip()
    return outputs


def _encode(summarizer: Summarizer, texts: Sequence[str]) -> list[list[int]]:
    """Tokenize without special tokens or truncation; the fast tokenizer batches this natively."""
    encoded = summarizer.tokenizer(
        list(texts), add_special_tokens=False, truncation=False, verbose=False
    )
    return [list(ids) for ids in encoded["input_ids"]]


def summarize(summarizer: Summarizer, request: SummarizationRequest) -> list[dict[str, Any]]:
    """Map-reduce summarization of every article of a request, all articles batched together.

    Round 1 feeds each article whole if it fits the window, else as overlapping windows. Each
    later round summarizes the joined window summaries of the articles still too long, until the
    text fits and one final summary comes out. A round must shrink the text, and at most
    ``max_rounds`` rounds run; otherwise the request fails rather than loop or truncate.
    """
    # JSON Lines carry parameters per line, so their errors name the line.
    per_line = request.response_format == FORMAT_JSONLINES
    articles = [
        _Article(
            index=index,
            label=label,
            generation=generation_kwargs(summarizer, parameters, f"{label}: " if per_line else ""),
            ids=ids,
            input_tokens=len(ids),
        )
        for index, (label, parameters, ids) in enumerate(
            zip(
                request.labels,
                request.parameters,
                _encode(summarizer, request.articles),
                strict=True,
            )
        )
    ]
    window, overlap = summarizer.window_tokens, summarizer.chunk_overlap
    pending = articles
    while pending:
        work: list[_Work] = []
        for article in pending:
            article.rounds += 1
            spans = chunk_spans(len(article.ids), window, overlap)
            if article.rounds == 1:
                article.chunks = len(spans)
            article.first = len(work)
            work.extend(_Work(article, article.ids[start:end]) for start, end in spans)
            article.last = len(work)
        texts = _generate(summarizer, work)
        still_long: list[_Article] = []
        for article in pending:
            if len(article.ids) <= window:
                article.summary = texts[article.first]
                continue
            joined = " ".join(text for text in texts[article.first : article.last] if text)
            (new_ids,) = _encode(summarizer, [joined])
            if len(new_ids) >= len(article.ids):
                raise ValueError(
                    f"{article.label} cannot be summarized: round {article.rounds} turned "
                    f"{len(article.ids)} tokens into {len(new_ids)} tokens of summaries; "
                    "lower max_length or min_length"
                )
            if article.rounds >= summarizer.max_rounds:
                raise ValueError(
                    f"{article.label} cannot be summarized within {summarizer.max_rounds} rounds "
                    f"({ENV_MAX_ROUNDS}); lower max_length or min_length"
                )
            article.ids = new_ids
            still_long.append(article)
        pending = still_long
    return [
        {
            "summary_text": article.summary or "",
            "input_tokens": article.input_tokens,
            "chunks": article.chunks,
            "rounds": article.rounds,
        }
        for article in articles
    ]


def predict_fn(data: SummarizationRequest, model: Summarizer) -> Prediction:
    """Summarize every article of the request; results keep the request's order."""
    started = time.perf_counter()
    results = summarize(model, data)
    LOGGER.info(
        "summarized %d articles (%d tokens, %d chunks) in %.2f s",
        len(results),
        sum(result["input_tokens"] for result in results),
        sum(result["chunks"] for result in results),
        time.perf_counter() - started,
    )
    return Prediction(results=results, response_format=data.response_format)


# --------------------------------------------------------------------------------------------
# output_fn
# --------------------------------------------------------------------------------------------


def response_format_for(accept: str | None, request_format: str) -> str:
    """Pick the response format from the Accept header and the request's own format.

    The toolkit replaces a missing or ``*/*`` Accept with ``application/json`` before calling
    ``output_fn``, so ``application/json`` cannot be told apart from "no preference": it keeps
    the request's format (JSON Lines in, JSON Lines out). Only ``application/jsonlines`` asks for
    something else. The first supported entry of a list wins; quality values are ignored.
    """
    if not accept or not accept.strip():
        return request_format
    for entry in accept.split(","):
        media_type, _ = _media_type(entry)
        if media_type in (APPLICATION_JSON, "*/*", "application/*"):
            return request_format
        if media_type in JSONLINES_TYPES:
            return FORMAT_JSONLINES
    raise ValueError(
        f"unsupported accept type '{accept}': use {APPLICATION_JSON} or {APPLICATION_JSONLINES}"
    )


def output_fn(prediction: Prediction, accept: str | None) -> bytes:
    """Serialize results as UTF-8 JSON (an array) or JSON Lines (one object per line)."""
    response_format = response_format_for(accept, prediction.response_format)
    if response_format == FORMAT_JSONLINES:
        lines = [json.dumps(result, ensure_ascii=False) + "\n" for result in prediction.results]
        return "".join(lines).encode("utf-8")
    return json.dumps(prediction.results, ensure_ascii=False).encode("utf-8")
