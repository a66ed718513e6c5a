"""How long an instance takes from the launch request to in service, by where the model comes
from: pure Python over ``cold_start.json`` (docs/cold-start.md says where each figure comes from).

``cold_start_kind(model_data_uri, model_data_compression)`` names the figure a configuration
gets: ``hub`` (no ``model_data_uri``: the container downloads the checkpoint from the Hugging Face
Hub), ``staged`` (a ``model.tar.gz`` in S3, extracted on the instance) or ``staged_uncompressed``
(``model_data_compression: "none"``: the files copied as they are). ``cold_start_minutes(kind)``
gives its (low, high) bounds for ml.g5.xlarge and pegasus-large; a simulation draws between them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

COLD_START_FILE = Path(__file__).resolve().parent / "cold_start.json"
KINDS = ("hub", "staged", "staged_uncompressed")


@cache
def cold_start_table() -> dict[str, Any]:
    """The whole of ``cold_start.json``: figures, their sources, the measurement, assumptions."""
    table: dict[str, Any] = json.loads(COLD_START_FILE.read_text())
    return table


def cold_start_minutes(kind: str) -> tuple[float, float]:
    """(low, high) minutes of ``kind`` (one of ``KINDS``)."""
    if kind not in KINDS:
        raise ValueError(f"cold start kind: must be one of {', '.join(KINDS)} (got {kind!r})")
    entry = cold_start_table()["cold_starts"][kind]
    return float(entry["low_minutes"]), float(entry["high_minutes"])


def cold_start_kind(model_data_uri: str | None, model_data_compression: str = "gzip") -> str:
    """The figure a configuration gets from its ``model_data_uri`` and compression."""
    if model_data_uri is None:
        return "hub"
    return "staged_uncompressed" if model_data_compression == "none" else "staged"
