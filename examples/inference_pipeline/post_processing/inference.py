"""Post-processing container of the pipeline: redacts e-mail addresses from the summaries.

A business rule that changes on its own schedule, kept out of the model's container. Reads the
summarizer's JSON array (or JSON Lines) of ``{"summary_text": ...}`` objects and answers the same
shape with every e-mail address replaced by ``[email]``.
"""

from __future__ import annotations

import json
import re
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def model_fn(model_dir: str, context: Any = None) -> None:
    """No model: the container only transforms the summaries."""
    return None


def redact(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with e-mail addresses in ``summary_text`` replaced by ``[email]``."""
    return {**summary, "summary_text": EMAIL.sub("[email]", summary["summary_text"])}


def transform_fn(model: None, input_data: bytes | str, content_type: str, accept: str) -> bytes:
    """Redact every summary of the summarizer's response, keeping its format."""
    text = input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data
    stripped = text.strip()
    if stripped.startswith("["):
        return json.dumps([redact(s) for s in json.loads(stripped)], ensure_ascii=False).encode()
    lines = [
        json.dumps(redact(json.loads(line)), ensure_ascii=False)
        for line in stripped.splitlines()
        if line.strip()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
