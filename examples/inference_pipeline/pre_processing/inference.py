"""Pre-processing container of the pipeline: cleans articles before the summarizer sees them.

Served by the Hugging Face inference toolkit: ``model_fn`` loads nothing (this container has no
model) and ``transform_fn`` handles the whole request. Accepts what the summarizer accepts
(``text/plain`` or ``application/json`` with ``inputs``) and always answers ``application/json``
with HTML tags removed and whitespace collapsed, so the summarizer gets one request shape.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"\s+")


def model_fn(model_dir: str, context: Any = None) -> None:
    """No model: the container only transforms text."""
    return None


def clean(text: str) -> str:
    """The article without HTML tags or entities, with single spaces."""
    return SPACE.sub(" ", html.unescape(TAG.sub(" ", text))).strip()


def transform_fn(model: None, input_data: bytes | str, content_type: str, accept: str) -> bytes:
    """Clean the article(s) of one request; the body for the summarizer is JSON."""
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "text/plain":
        body: dict[str, Any] = {"inputs": clean(text)}
    elif media_type == "application/json":
        body = json.loads(text)
        if not isinstance(body, dict) or "inputs" not in body:
            raise ValueError("JSON body must be an object with an 'inputs' field")
        inputs = body["inputs"]
        body["inputs"] = (
            clean(inputs) if isinstance(inputs, str) else [clean(str(i)) for i in inputs]
        )
    else:
        raise ValueError(
            f"unsupported content type {content_type!r}: use text/plain or application/json"
        )
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
