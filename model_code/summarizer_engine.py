"""Summarization: chunking, cost-sized batches, and the map-reduce rounds of long articles.

* Articles are never truncated. Anything longer than the encoder's positional limit is cut into
  overlapping token windows, the windows are summarized, the joined window summaries are
  summarized again, and so on until the text fits. A round that does not shrink the text fails
  the article instead of looping.
* All work of one round (whole articles and windows of long ones, from every article in the
  request) is batched together, sorted by token length so a batch pads as little as possible,
  and each batch holds as many inputs as the memory model allows (at most ``batch_size``).
* What cannot finish (too many tokens, one input over the memory budget) is refused after
  tokenization, before any generation work starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from summarizer_batching import effective_lengths, plan_batches, run_batch
from summarizer_loading import Summarizer
from summarizer_memory import MIB
from summarizer_request import FORMAT_JSONLINES, SummarizationRequest
from summarizer_settings import ENV_BATCH_MEMORY_MB, ENV_MAX_INPUT_TOKENS, ENV_MAX_ROUNDS
from summarizer_settings import max_input_tokens as max_input_tokens_setting
from summarizer_validation import check_lengths


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
    error: str | None = None
    # Where this article's work items sit in the current round's work list.
    first: int = 0
    last: int = 0


@dataclass(frozen=True)
class _Work:
    """One encoder input: a whole article or one window of one."""

    article: _Article
    ids: list[int]


Fail = Callable[[_Article, str], None]


def generation_kwargs(
    summarizer: Summarizer, parameters: Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Check parameters against this model's limits; only what the client set is passed on.

    Unset parameters keep the checkpoint's own generation config (PEGASUS checkpoints ship tuned
    ``num_beams``, ``length_penalty`` and ``max_length``), so the limits are checked on the
    effective values.
    """
    max_length, _ = effective_lengths(summarizer, parameters)
    default_min = summarizer.model.generation_config.min_length or 0
    min_length = int(parameters.get("min_length", default_min))
    if max_length > summarizer.max_output_tokens:
        raise ValueError(
            f"{prefix}parameter 'max_length' ({max_length}) exceeds the model's limit of "
            f"{summarizer.max_output_tokens} tokens"
        )
    check_lengths(min_length, max_length, prefix)
    return dict(parameters)


def _generate(summarizer: Summarizer, work: Sequence[_Work], fail: Fail) -> list[str]:
    """Summarize every work item, in batches of similar length and identical parameters."""
    outputs: list[str] = [""] * len(work)
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for position, item in enumerate(work):
        key = tuple(sorted(item.article.generation.items()))
        groups.setdefault(key, []).append(position)
    tokenizer = summarizer.tokenizer
    for key, positions in groups.items():
        generation = dict(key)
        output_tokens, beams = effective_lengths(summarizer, generation)
        positions.sort(key=lambda position: len(work[position].ids), reverse=True)
        rows = [tokenizer.build_inputs_with_special_tokens(work[p].ids) for p in positions]
        for batch in plan_batches(summarizer, [len(row) for row in rows], output_tokens, beams):
            try:
                texts = run_batch(summarizer, [rows[i] for i in batch], generation)
            except torch.cuda.OutOfMemoryError:
                article = work[positions[batch[0]]].article
                fail(
                    article,
                    f"{article.label} ran out of GPU memory although alone in its batch; "
                    "lower num_beams or max_length",
                )
                continue
            for index, text in zip(batch, texts, strict=True):
                outputs[positions[index]] = text
    return outputs


def _encode(summarizer: Summarizer, texts: Sequence[str]) -> list[list[int]]:
    """Tokenize without special tokens or truncation; the fast tokenizer batches this natively."""
    if not texts:
        return []  # every document of the request was refused (the tokenizer fails on none)
    encoded = summarizer.tokenizer(
        list(texts), add_special_tokens=False, truncation=False, verbose=False
    )
    return [list(ids) for ids in encoded["input_ids"]]


def _admission_error(summarizer: Summarizer, article: _Article, token_limit: int) -> str | None:
    """Why an article cannot finish, found before any work: too long, or too costly per input."""
    if article.input_tokens == 0:
        return f"{article.label} has no text the tokenizer can read"
    if article.input_tokens > token_limit:
        return (
            f"{article.label} has {article.input_tokens} tokens, more than the limit of "
            f"{token_limit} tokens ({ENV_MAX_INPUT_TOKENS}); split the document"
        )
    output_tokens, beams = effective_lengths(summarizer, article.generation)
    width = min(article.input_tokens, summarizer.window_tokens) + (
        summarizer.max_input_tokens - summarizer.window_tokens
    )
    cost = summarizer.memory.input_bytes(width, output_tokens, beams)
    if cost > summarizer.batch_memory_bytes:
        return (
            f"{article.label} needs about {cost / MIB:.1f} MiB for {beams} beams of "
            f"{output_tokens} tokens, more than the batch memory budget of "
            f"{summarizer.batch_memory_bytes / MIB:.1f} MiB ({ENV_BATCH_MEMORY_MB}); "
            "lower num_beams or max_length"
        )
    return None


def _prepare(summarizer: Summarizer, request: SummarizationRequest, fail: Fail) -> list[_Article]:
    """Articles with their checked parameters and tokens; refused ones are failed at once."""
    # JSON Lines carry parameters per line, so their errors name the line.
    per_line = request.response_format == FORMAT_JSONLINES
    errors = request.errors or (None,) * len(request.articles)
    valid = [index for index, error in enumerate(errors) if error is None]
    token_ids = _encode(summarizer, [request.articles[index] for index in valid])
    token_limit = max_input_tokens_setting()
    articles: list[_Article] = []
    for index, ids in zip(valid, token_ids, strict=True):
        label = request.labels[index]
        article = _Article(index, label, {}, ids, len(ids))
        articles.append(article)
        try:
            prefix = f"{label}: " if per_line else ""
            article.generation = generation_kwargs(summarizer, request.parameters[index], prefix)
        except ValueError as error:
            fail(article, str(error))
            continue
        problem = _admission_error(summarizer, article, token_limit)
        if problem is not None:
            fail(article, problem)
    return articles


def summarize(summarizer: Summarizer, request: SummarizationRequest) -> list[dict[str, Any]]:
    """Map-reduce summarization of every article of a request, all articles batched together.

    Round 1 feeds each article whole if it fits the window, else as overlapping windows. Each
    later round summarizes the joined window summaries of the articles still too long, until the
    text fits and one final summary comes out. A round must shrink the text, and at most
    ``max_rounds`` rounds run. A failing article fails the request, or, when the request carries
    ids, only its own result.
    """

    def fail(article: _Article, message: str) -> None:
        if not request.isolated:
            raise ValueError(message)
        article.error = message

    articles = _prepare(summarizer, request, fail)
    window, overlap = summarizer.window_tokens, summarizer.chunk_overlap
    pending = [article for article in articles if article.error is None]
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
        texts = _generate(summarizer, work, fail)
        still_long: list[_Article] = []
        for article in pending:
            if article.error is not None:
                continue
            if len(article.ids) <= window:
                article.summary = texts[article.first]
                continue
            joined = " ".join(text for text in texts[article.first : article.last] if text)
            (new_ids,) = _encode(summarizer, [joined])
            if len(new_ids) >= len(article.ids):
                fail(
                    article,
                    f"{article.label} cannot be summarized: round {article.rounds} turned "
                    f"{len(article.ids)} tokens into {len(new_ids)} tokens of summaries; "
                    "lower max_length or min_length",
                )
            elif article.rounds >= summarizer.max_rounds:
                fail(
                    article,
                    f"{article.label} cannot be summarized within {summarizer.max_rounds} "
                    f"rounds ({ENV_MAX_ROUNDS}); lower max_length or min_length",
                )
            else:
                article.ids = new_ids
                still_long.append(article)
        pending = still_long
    return _results(request, articles)


def _results(request: SummarizationRequest, articles: list[_Article]) -> list[dict[str, Any]]:
    """One result per document in request order; with ids, each echoes its id."""
    by_index = {article.index: article for article in articles}
    results: list[dict[str, Any]] = []
    for index in range(len(request.articles)):
        article = by_index.get(index)
        if article is None or article.error is not None:
            error = article.error if article is not None else (request.errors or ())[index]
            results.append({"id": (request.ids or ())[index], "error": error})
            continue
        result = {
            "summary_text": article.summary or "",
            "input_tokens": article.input_tokens,
            "chunks": article.chunks,
            "rounds": article.rounds,
        }
        results.append({"id": request.ids[index], **result} if request.ids else result)
    return results
