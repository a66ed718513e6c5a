"""bench/bench_cold_start.py in its dry-run mode: the same steps on a tiny model, in seconds."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("torch")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import bench_cold_start as module

    return module


@pytest.fixture(scope="module")
def dry_run(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("tar") is None or shutil.which("gzip") is None:
        pytest.skip("GNU tar and gzip are needed to extract the archive")
    out = tmp_path_factory.mktemp("cold-start") / "dry-run.json"
    assert bench.main(["--dry-run", "--runs", "2", "--out", str(out)]) == 0
    results: dict[str, Any] = json.loads(out.read_text())
    return results


def test_the_dry_run_says_so_and_records_every_figure(dry_run: dict[str, Any]) -> None:
    assert dry_run["model"].startswith("DRY RUN")
    assert dry_run["runs"] == 2
    assert len(dry_run["tar_xzf_seconds"]) == len(dry_run["copy_seconds"]) == 2
    for key in ("tar_xzf_median_cpu_seconds", "gunzip_to_null_cpu_seconds", "pack_seconds"):
        assert dry_run[key] >= 0
    assert dry_run["machine"]["cpus"] >= 1


def test_the_archive_is_the_staged_layout_and_extracts_to_all_of_it(
    dry_run: dict[str, Any],
) -> None:
    # The weights plus model_code/ as code/: the archive holds more than the weights alone.
    assert dry_run["extracted_bytes"] > dry_run["weights_bytes"]
    assert dry_run["compression_ratio"] == round(
        dry_run["archive_bytes"] / dry_run["weights_bytes"], 4
    )


def test_the_pegasus_large_parameter_count_is_the_architectures(bench: ModuleType) -> None:
    # bench_gpu's PEGASUS_LARGE: 570.8 M parameters, counted without allocating them.
    assert bench._parameters(bench.PEGASUS_LARGE) == 570_797_056


def test_a_dry_run_writes_no_results_file_unless_asked(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is needed")
    monkeypatch.setattr(bench, "RESULTS", tmp_path / "results.json")
    assert bench.main(["--dry-run", "--runs", "1"]) == 0
    assert not (tmp_path / "results.json").exists()


def test_the_archive_it_measures_is_make_stage_models(tmp_path: Path) -> None:
    """The same writer as scripts/stage_model.py: weights at the root, code/ beside them."""
    from constructs_lib.model.archive import stream_model_archive

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "model.safetensors").write_bytes(b"\x01" * 64)
    archive = tmp_path / "model.tar.gz"
    with archive.open("wb") as handle:
        stream_model_archive(handle, REPO_ROOT / "model_code", weights_dir=weights)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "model.safetensors" in names and "code/inference.py" in names
