"""Operator settings of the handler: container environment variables, their defaults and bounds.

Every setting is read when it is needed, so that a test (or an operator changing the endpoint's
environment) sees its effect, and every invalid value is an error: a typo must not fall back to
a default without a word.
"""

from __future__ import annotations

import os

ENV_MAX_ARTICLES = "MAX_ARTICLES_PER_REQUEST"
ENV_BATCH_SIZE = "SUMMARIZER_BATCH_SIZE"
ENV_CHUNK_OVERLAP = "SUMMARIZER_CHUNK_OVERLAP"
ENV_MAX_ROUNDS = "SUMMARIZER_MAX_ROUNDS"
ENV_GPU_DTYPE = "SUMMARIZER_GPU_DTYPE"
ENV_BATCH_MEMORY_MB = "SUMMARIZER_BATCH_MEMORY_MB"
ENV_MEMORY_FRACTION = "SUMMARIZER_GPU_MEMORY_FRACTION"
ENV_MAX_INPUT_TOKENS = "SUMMARIZER_MAX_INPUT_TOKENS"
ENV_MAX_REQUEST_BYTES = "SUMMARIZER_MAX_REQUEST_BYTES"

DEFAULT_MAX_ARTICLES = 256
DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_ROUNDS = 8
# 200,000 tokens is about 800 KB of English: ~220 windows of 1,023 tokens in round 1 and at most
# 6 rounds with PEGASUS's default 256-token summaries (see README "Limits" for the estimate).
DEFAULT_MAX_INPUT_TOKENS = 200_000
# The data path groups documents into requests of at most 4,000,000 bytes (DataPathSettings
# .max_request_bytes); a larger body cannot finish within the default 900 s invocation timeout.
DEFAULT_MAX_REQUEST_BYTES = 4_000_000
# Share of the GPU memory left free after loading the weights that one generate call may use:
# the rest covers the allocator's fragmentation and what the memory model leaves out.
DEFAULT_MEMORY_FRACTION = 0.6
# On CPU memory is not the bottleneck (the instance has far more RAM than a batch needs), but
# an unbounded beam search still must not swap: 4 GiB per generate call.
DEFAULT_CPU_BATCH_MEMORY_MB = 4096

# Upper bounds of the operator settings: past them a request would rather exhaust memory or the
# async invocation timeout than finish.
MAX_ARTICLES_LIMIT = 100_000
MAX_BATCH_SIZE = 256
MAX_ROUNDS_LIMIT = 32
MAX_INPUT_TOKENS_LIMIT = 10_000_000
# InvokeEndpointAsync accepts payloads of up to 1 GB.
MAX_REQUEST_BYTES_LIMIT = 1_000_000_000
MAX_BATCH_MEMORY_MB = 1_048_576


def env_int(name: str, default: int, low: int, high: int) -> int:
    """Read an integer setting in ``[low, high]``; unset or blank means ``default``."""
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


def env_fraction(name: str, default: float) -> float:
    """Read a share in ``(0, 1]``; unset or blank means ``default``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise ValueError(
            f"environment variable {name} must be a number above 0 and at most 1, got {raw!r}"
        )
    return value


def max_articles() -> int:
    """Most articles (JSON array items or JSON Lines) in one request."""
    return env_int(ENV_MAX_ARTICLES, DEFAULT_MAX_ARTICLES, 1, MAX_ARTICLES_LIMIT)


def max_input_tokens() -> int:
    """Most tokens of one article: longer ones cannot finish within the invocation timeout."""
    return env_int(ENV_MAX_INPUT_TOKENS, DEFAULT_MAX_INPUT_TOKENS, 1, MAX_INPUT_TOKENS_LIMIT)


def max_request_bytes() -> int:
    """Most bytes of a request body, checked before it is decoded or parsed."""
    return env_int(ENV_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES, 1, MAX_REQUEST_BYTES_LIMIT)
