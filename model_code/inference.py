"""SageMaker inference handler: PEGASUS summarization of long articles on an async endpoint.

The Hugging Face inference toolkit (sagemaker-huggingface-inference-toolkit 2.6.0) imports this
file from ``code/inference.py`` in the model archive, calls ``model_fn`` once per worker and then
``input_fn`` -> ``predict_fn`` -> ``output_fn`` for each request. The toolkit turns ANY exception
raised by these functions into HTTP 400 with ``str(exception)`` as the message, so every client
error here is a ``ValueError`` whose message names the problem. The full contract (content types,
parameters and bounds, limits, error messages, output shape) is in ``README.md`` beside this file.

This file keeps only the four hooks. The work lives in modules beside it, which the toolkit
finds because its handler service puts ``code/`` first on ``sys.path`` before importing us:
``summarizer_request`` (parsing), ``summarizer_loading`` (weights, device, precision),
``summarizer_engine`` (chunking, rounds), ``summarizer_batching`` and ``summarizer_memory``
(cost-sized batches) and ``summarizer_settings`` (operator settings).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from summarizer_engine import summarize
from summarizer_loading import Summarizer, load_summarizer
from summarizer_request import (
    APPLICATION_JSON,
    APPLICATION_JSONLINES,
    FORMAT_JSON,
    FORMAT_JSONLINES,
    JSONLINES_TYPES,
    Body,
    SummarizationRequest,
    media_type_of,
    parse_request,
)

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """One result per article, in request order, plus the format the request arrived in."""

    results: list[dict[str, Any]]
    response_format: str = FORMAT_JSON


def model_fn(model_dir: str, context: Any = None) -> Summarizer:
    """Load tokenizer and model once per worker, ready for inference."""
    return load_summarizer(model_dir, context)


def input_fn(input_data: Body, content_type: str | None) -> SummarizationRequest:
    """Decode and validate a request; every problem is a ValueError the client can act on."""
    return parse_request(input_data, content_type)


def predict_fn(data: SummarizationRequest, model: Summarizer) -> Prediction:
    """Summarize every article of the request; results keep the request's order."""
    started = time.perf_counter()
    results = summarize(model, data)
    LOGGER.info(
        "summarized %d articles (%d failed, %d tokens, %d chunks) in %.2f s",
        len(results),
        sum("error" in result for result in results),
        sum(result.get("input_tokens", 0) for result in results),
        sum(result.get("chunks", 0) for result in results),
        time.perf_counter() - started,
    )
    return Prediction(results=results, response_format=data.response_format)


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
        media_type, _ = media_type_of(entry)
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
