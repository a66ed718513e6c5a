"""Turn an uploaded object into one JSON Lines request line, or into the reason it cannot be.

A ``.json`` object is ``{"inputs": "...", "parameters": {...}}`` (the endpoint's own JSON shape
for one article); any other object is UTF-8 text. Generation parameters are left to the model
handler to validate: it knows the model's limits and fails only that line.
"""

from __future__ import annotations

import json
from typing import Any


class UnreadableDocument(ValueError):
    """The document can never be summarized as it is; the message is its failure reason."""


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    if value is None:
        return "null"
    return names.get(type(value), "object")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableDocument(
            f"document is not UTF-8 text: invalid byte 0x{raw[error.start]:02x} at offset "
            f"{error.start}"
        ) from None


def _reject_constant(constant: str) -> Any:
    raise UnreadableDocument(f"document is not valid JSON: {constant} is not allowed")


def request_line(job_id: str, key: str, raw: bytes) -> dict[str, Any]:
    """The request line for document ``key`` with content ``raw``: id, inputs, parameters."""
    text = _text(raw)
    parameters: dict[str, Any] | None = None
    if key.lower().endswith(".json"):
        try:
            body = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            raise UnreadableDocument(
                f"document is not valid JSON: {error.msg} at line {error.lineno} column "
                f"{error.colno}"
            ) from None
        if not isinstance(body, dict):
            raise UnreadableDocument(
                "a .json document must be an object with 'inputs' (a string) and optional "
                f"'parameters' (an object), got {_json_type(body)}"
            )
        unknown = sorted(set(body) - {"inputs", "parameters"})
        if unknown:
            raise UnreadableDocument(
                f"unknown field '{unknown[0]}' in a .json document: expected 'inputs' and "
                "optional 'parameters'"
            )
        if not isinstance(body.get("inputs"), str):
            found = _json_type(body["inputs"]) if "inputs" in body else "nothing"
            raise UnreadableDocument(f"a .json document's 'inputs' must be a string, got {found}")
        if "parameters" in body and not isinstance(body["parameters"], dict):
            raise UnreadableDocument(
                "a .json document's 'parameters' must be an object, got "
                f"{_json_type(body['parameters'])}"
            )
        text = body["inputs"]
        if "parameters" in body:
            parameters = body["parameters"]
    if not text.strip():
        raise UnreadableDocument("document is empty or whitespace-only: nothing to summarize")
    line: dict[str, Any] = {"id": job_id, "inputs": text}
    if parameters is not None:
        line["parameters"] = parameters
    return line


def encode_line(line: dict[str, Any]) -> bytes:
    """One UTF-8 JSON Lines line, newline included (non-ASCII kept as is: it is smaller)."""
    return (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
