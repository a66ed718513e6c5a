"""constructs_lib/model/cold_start.json: the cold-start figures a simulation reads, derived from the
extraction benchmark (bench/results/cold-start-extraction.json) as docs/cold-start.md says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.model.cold_start import (
    KINDS,
    cold_start_kind,
    cold_start_minutes,
    cold_start_table,
)
from tests.conftest import ROOT


def measurement() -> dict[str, Any]:
    derivation = cold_start_table()["derivation"]
    loaded: dict[str, Any] = json.loads((ROOT / derivation["measurement"]).read_text())
    return loaded


def test_every_kind_has_bounds_in_order() -> None:
    for kind in KINDS:
        low, high = cold_start_minutes(kind)
        assert 0 < low < high


def test_the_uncompressed_figure_follows_from_the_measurement() -> None:
    table = cold_start_table()
    derivation = table["derivation"]
    measured = measurement()
    assert measured["model"].startswith("google/pegasus-large architecture")
    extra_mb = (measured["weights_bytes"] - measured["archive_bytes"]) / 1e6
    extra = round(extra_mb / derivation["assumed_s3_download_mb_per_second"], 1)
    assert derivation["extra_download_seconds"] == extra
    low_saving = round(measured["extraction_overhead_cpu_seconds"] - extra, 1)
    high_saving = round(measured["extraction_overhead_seconds"] - extra, 1)
    assert (derivation["saving_seconds_low"], derivation["saving_seconds_high"]) == (
        low_saving,
        high_saving,
    )
    staged_low, staged_high = cold_start_minutes("staged")
    assert cold_start_minutes("staged_uncompressed") == (
        round(staged_low - high_saving / 60, 2),
        round(staged_high - low_saving / 60, 2),
    )


def test_the_measurement_is_of_a_pegasus_large_sized_checkpoint() -> None:
    measured = measurement()
    # 570.8 M fp32 parameters: the 2.28 GB of google/pegasus-large's checkpoint.
    assert measured["parameters"] == 570_797_056
    assert 2.2e9 < measured["weights_bytes"] < 2.4e9
    assert measured["runs"] >= 3


@pytest.mark.parametrize(
    ("uri", "compression", "kind"),
    [
        (None, "gzip", "hub"),
        ("s3://models/pegasus/model.tar.gz", "gzip", "staged"),
        ("s3://models/pegasus/v1/", "none", "staged_uncompressed"),
    ],
)
def test_a_configuration_names_its_figure(uri: str | None, compression: str, kind: str) -> None:
    assert cold_start_kind(uri, compression) == kind


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as error:
        cold_start_minutes("warm")
    assert str(error.value) == (
        "cold start kind: must be one of hub, staged, staged_uncompressed (got 'warm')"
    )
