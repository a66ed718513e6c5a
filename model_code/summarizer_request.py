"""Request parsing: content types, size limits, JSON and JSON Lines bodies, per-document ids.

``parse_request`` turns what the toolkit hands to ``input_fn`` into a ``SummarizationRequest``.
A problem with the request as a whole raises ``ValueError``; in a JSON Lines request whose
lines carry ids, a problem with one line is recorded as that line's error instead, so that
the other documents of the request are still summarized.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from summarizer_settings import (
    ENV_MAX_ARTICLES,
    ENV_MAX_REQUEST_BYTES,
    max_articles,
    max_request_bytes,
)
from summarizer_validation import (
    check_article,
    check_fields,
    check_id,
    json_type,
    validate_parameters,
)

TEXT_PLAIN = "text/plain"
APPLICATION_JSON = "application/json"
APPLICATION_JSONLINES = "application/jsonlines"
# Other spellings of JSON Lines seen in the wild (SageMaker batch transform uses the first one).
JSONLINES_TYPES = frozenset({APPLICATION_JSONLINES, "application/x-jsonlines"})
SUPPORTED_CONTENT_TYPES = (APPLICATION_JSON, APPLICATION_JSONLINES, TEXT_PLAIN)

FORMAT_JSON = "json"
FORMAT_JSONLINES = "jsonlines"

_JSON_FIELDS = ("inputs", "parameters")
_LINE_FIELDS = ("inputs", "parameters", "id")

Body = str | bytes | bytearray | memoryview | None


@dataclass(frozen=True)
class SummarizationRequest:
    """A validated request: what ``input_fn`` hands to ``predict_fn``.

    ``labels`` say where each article came from (``inputs[2]``, ``line 3``) so that errors found
    later, during summarization, can still point at the article at fault. ``ids`` is set for
    JSON Lines with an ``id`` on every line: each document then succeeds or fails on its own,
    and ``errors`` holds the validation error of each document (``None`` if it is valid; its
    article is then ``""`` and is not summarized).
    """

    articles: tuple[str, ...]
    parameters: tuple[Mapping[str, Any], ...]
    labels: tuple[str, ...]
    response_format: str = FORMAT_JSON
    ids: tuple[str, ...] | None = None
    errors: tuple[str | None, ...] | None = None

    @property
    def isolated(self) -> bool:
        """Whether documents fail one by one (ids) instead of failing the whole request."""
        return self.ids is not None


def media_type_of(header: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type header into its lower-cased media type and its parameters."""
    media, *raw_params = header.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def _check_size(input_data: Body) -> None:
    """Refuse a body over the byte limit before any decoding or parsing work."""
    if input_data is None:
        return
    if isinstance(input_data, str):
        # The toolkit has already decoded application/json bodies; count their UTF-8 bytes.
        size = len(input_data.encode("utf-8", "surrogatepass"))
    else:
        size = memoryview(input_data).nbytes
    limit = max_request_bytes()
    if size > limit:
        raise ValueError(
            f"request body has {size} bytes, more than the limit of {limit} bytes "
            f"({ENV_MAX_REQUEST_BYTES})"
        )


def _decode_body(input_data: Body) -> str:
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
    except RecursionError:
        # Thousands of nested '[' exhaust the parser's stack; no valid request nests that deep.
        raise ValueError(
            f"{where} is nested too deeply: a request needs at most 2 levels of arrays and objects"
        ) from None
    except ValueError as error:
        raise ValueError(f"{where} is not valid JSON: {error}") from None


def _check_count(count: int) -> None:
    limit = max_articles()
    if count > limit:
        raise ValueError(
            f"request has {count} articles, more than the limit of {limit} ({ENV_MAX_ARTICLES})"
        )


def _parse_json(text: str) -> SummarizationRequest:
    body = _loads(text, "request body", multiline=True)
    if not isinstance(body, dict):
        raise ValueError(
            f"JSON body must be an object with an 'inputs' field, got {json_type(body)}"
        )
    check_fields(body, "", _JSON_FIELDS)
    if "inputs" not in body:
        raise ValueError("JSON body is missing the 'inputs' field")
    inputs = body["inputs"]
    if isinstance(inputs, str):
        articles = [check_article(inputs, "'inputs'")]
        labels = ["'inputs'"]
    elif isinstance(inputs, list):
        if not inputs:
            raise ValueError("'inputs' must not be an empty array")
        _check_count(len(inputs))
        labels = [f"inputs[{index}]" for index in range(len(inputs))]
        for item, label in zip(inputs, labels, strict=True):
            if not isinstance(item, str):
                raise ValueError(f"{label} must be a string, got {json_type(item)}")
            check_article(item, label)
        articles = inputs
    else:
        raise ValueError(
            f"'inputs' must be a string or an array of strings, got {json_type(inputs)}"
        )
    parameters = validate_parameters(body.get("parameters", {}))
    return SummarizationRequest(
        articles=tuple(articles),
        parameters=tuple(parameters for _ in articles),
        labels=tuple(labels),
        response_format=FORMAT_JSON,
    )


def _line_article(item: object, label: str) -> tuple[str, dict[str, Any]]:
    """The article and parameters of one decoded JSON Lines line."""
    if not isinstance(item, dict):
        if not isinstance(item, str):
            raise ValueError(
                f"{label} must be a JSON string or an object with 'inputs', got {json_type(item)}"
            )
        return check_article(item, label), {}
    check_fields(item, f"{label}: ", _LINE_FIELDS)
    if "inputs" not in item:
        raise ValueError(f"{label} is missing the 'inputs' field")
    if not isinstance(item["inputs"], str):
        raise ValueError(f"{label}: 'inputs' must be a string, got {json_type(item['inputs'])}")
    parameters = validate_parameters(item.get("parameters", {}), f"{label}: ")
    return check_article(item["inputs"], label), parameters


def _line_ids(items: list[tuple[str, object]]) -> list[str] | None:
    """The lines' ids, or None when no line has one; mixed or duplicate ids are errors."""
    has_id = [isinstance(item, dict) and "id" in item for _, item in items]
    if not any(has_id):
        return None
    if not all(has_id):
        first_with = items[has_id.index(True)][0]
        first_without = items[has_id.index(False)][0]
        raise ValueError(
            f"{first_without} has no 'id' but {first_with} has one: either every line carries "
            "an 'id' or none does"
        )
    ids: list[str] = []
    seen: dict[str, str] = {}
    for label, item in items:
        assert isinstance(item, dict)
        document_id = check_id(item["id"], label)
        if document_id in seen:
            raise ValueError(
                f"{label}: duplicate id {document_id!r} (first on {seen[document_id]}): "
                "ids must be unique within a request"
            )
        seen[document_id] = label
        ids.append(document_id)
    return ids


def _parse_jsonlines(text: str) -> SummarizationRequest:
    numbered = [
        (number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not numbered:
        raise ValueError("JSON Lines body has no articles: every line is blank")
    _check_count(len(numbered))
    # Lines that are not JSON fail the request even with ids: their id cannot be known.
    items = [
        (f"line {number}", _loads(line, f"line {number}", multiline=False))
        for number, line in numbered
    ]
    ids = _line_ids(items)
    articles: list[str] = []
    parameters: list[dict[str, Any]] = []
    errors: list[str | None] = []
    for label, item in items:
        try:
            article, line_parameters = _line_article(item, label)
        except ValueError as error:
            if ids is None:
                raise
            article, line_parameters = "", {}
            errors.append(str(error))
        else:
            errors.append(None)
        articles.append(article)
        parameters.append(line_parameters)
    return SummarizationRequest(
        articles=tuple(articles),
        parameters=tuple(parameters),
        labels=tuple(label for label, _ in items),
        response_format=FORMAT_JSONLINES,
        ids=None if ids is None else tuple(ids),
        errors=None if ids is None else tuple(errors),
    )


def parse_request(input_data: Body, content_type: str | None) -> SummarizationRequest:
    """Decode and validate a request; every request-level problem is a ValueError."""
    if not content_type or not content_type.strip():
        raise ValueError(f"missing Content-Type: use one of {', '.join(SUPPORTED_CONTENT_TYPES)}")
    media_type, params = media_type_of(content_type)
    if media_type not in (APPLICATION_JSON, TEXT_PLAIN) and media_type not in JSONLINES_TYPES:
        raise ValueError(
            f"unsupported content type '{content_type}': use one of "
            f"{', '.join(SUPPORTED_CONTENT_TYPES)}"
        )
    charset = params.get("charset")
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise ValueError(f"unsupported charset '{charset}': the request body must be UTF-8")
    _check_size(input_data)
    text = _decode_body(input_data)
    if media_type == TEXT_PLAIN:
        article = check_article(text, "text/plain body")
        return SummarizationRequest(
            articles=(article,), parameters=({},), labels=("text/plain body",)
        )
    if media_type == APPLICATION_JSON:
        return _parse_json(text)
    return _parse_jsonlines(text)
