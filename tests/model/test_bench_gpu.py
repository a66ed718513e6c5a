"""bench/bench_gpu.py in its CPU dry-run mode: the same code as on a GPU, a tiny model, seconds.

The dry run goes through the handler (input_fn -> predict_fn -> output_fn) at two batch sizes in
two precisions and writes a throughput table the simulator reads; running out of
memory and the time budget end a series and are recorded; the derivation for ml.g5.xlarge is
checked on made-up H100 figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from summarizer.simulator.throughput import load_table, table_from_mapping  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_gpu() -> ModuleType:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    import bench_gpu as module

    return module


@pytest.fixture(scope="module")
def dry_run(bench_gpu: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out_dir = tmp_path_factory.mktemp("gpu-dry-run")
    assert bench_gpu.main(["--dry-run", "--out-dir", str(out_dir)]) == 0
    (path,) = out_dir.iterdir()
    assert path.name == "throughput-dry-run.json"
    return {"path": path, "table": json.loads(path.read_text())}


def test_the_dry_run_writes_a_table_the_simulator_reads(dry_run: dict[str, Any]) -> None:
    table = load_table(dry_run["path"])
    assert table.kind == "estimate"  # a dry run measures nothing and says so
    assert table.source.startswith("DRY RUN on the CPU")
    assert [batch for batch, _ in table.points] == [1, 2]
    assert all(rate > 0 for _, rate in table.points)
    assert table.instance_type == "ml.g5.xlarge"


def test_the_dry_run_goes_through_the_handlers_batching(dry_run: dict[str, Any]) -> None:
    measurement = dry_run["table"]["measurement"]
    assert measurement["dry_run"] is True
    assert measurement["settings"]["shared_cross_attention"] is True
    assert measurement["table_dtype"] == "float32"  # what the handler picks on a CPU
    runs = measurement["runs"]
    assert [(run["dtype"], run["batch"]) for run in runs] == [
        ("float32", 1),
        ("bfloat16", 1),
        ("float32", 2),
        ("bfloat16", 2),
    ]
    for run in runs:
        # One request of `batch` articles became one generate call of that many rows.
        assert run["generate_calls"] == run["planned_generate_calls"] == [run["batch"]]
        assert not run["split_after_out_of_memory"]
        assert len(run["seconds"]) == 2
        # The row rounds the rate to one decimal (and the median to 4), so a slow CPU run's few
        # tokens per second differ from the recomputed rate by up to 0.05 plus that rounding.
        assert run["new_tokens_per_second"] == pytest.approx(
            run["batch"] * 4 / run["median_seconds"], rel=0.01, abs=0.06
        )
        assert run["memory_model_bytes"] > 0
    assert measurement["model"]["vocab_size"] == 2000
    assert measurement["versions"]["transformers"] == "4.51.3"


def test_the_full_size_configuration_is_pegasus_large(bench_gpu: ModuleType) -> None:
    config = bench_gpu.PEGASUS_LARGE
    assert (config["d_model"], config["encoder_layers"], config["decoder_layers"]) == (1024, 16, 16)
    assert (config["encoder_attention_heads"], config["encoder_ffn_dim"]) == (16, 4096)
    assert (config["vocab_size"], config["max_position_embeddings"]) == (96103, 1024)
    assert (config["activation_function"], config["scale_embedding"]) == ("relu", True)
    args = bench_gpu.parse_args([])
    assert args.batch_sizes == [1, 2, 4, 8, 16, 32, 64]
    assert args.dtypes == ["bfloat16", "float16"]
    assert (args.input_tokens, args.new_tokens, args.beams) == (1024, 128, 4)


def test_out_of_memory_ends_that_precisions_series(
    bench_gpu: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bench_gpu.run_config

    def fail_big_float32(**kwargs: Any) -> dict[str, Any]:
        if kwargs["batch"] >= 2 and kwargs["summarizer"].model.dtype == torch.float32:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(**kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(bench_gpu, "run_config", fail_big_float32)
    argv = ["--dry-run", "--batch-sizes", "1", "2", "3", "--out-dir", str(tmp_path)]
    assert bench_gpu.main(argv) == 0
    table = json.loads((tmp_path / "throughput-dry-run.json").read_text())
    runs = {(run["dtype"], run["batch"]): run for run in table["measurement"]["runs"]}
    assert runs[("float32", 2)]["error"].startswith("out of memory: CUDA out of memory")
    assert ("float32", 3) not in runs  # the series stopped
    assert "articles_per_second" in runs[("bfloat16", 3)]
    assert [point["batch"] for point in table["points"]] == [1]


def test_the_time_budget_stops_before_a_run_that_would_not_fit(
    bench_gpu: ModuleType, tmp_path: Path
) -> None:
    argv = ["--dry-run", "--dtypes", "float32", "--time-budget-s", "0", "--out-dir", str(tmp_path)]
    assert bench_gpu.main(argv) == 0
    measurement = json.loads((tmp_path / "throughput-dry-run.json").read_text())["measurement"]
    assert measurement["stopped"] == "time budget: batch 2 in float32 would end after 0 s"
    assert measurement["runs"][1] == {
        "dtype": "float32",
        "batch": 2,
        "skipped": measurement["stopped"],
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-sizes", "4", "2"], "--batch-sizes must increase from 1 or more, got [4, 2]"),
        (["--input-tokens", "2048"], "--input-tokens must be between 2 and 1024, got 2048"),
        (["--beams", "0"], "--beams must be between 1 and 16, got 0"),
        (["--instance-type", "g5.xlarge"], "--instance-type must look like ml.g5.xlarge"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    bench_gpu: ModuleType, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_gpu.parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_h100_measurement_is_translated_to_an_a10g_conservatively(
    bench_gpu: ModuleType,
) -> None:
    import summarizer_memory as memory

    pegasus_large = memory.MemoryModel(
        d_model=1024,
        decoder_layers=16,
        ffn_dim=4096,
        vocab_size=96103,
        element_bytes=2,
        encoder_heads=16,
        shared_cross_attention=True,
    )
    measurement = {
        "gpu": {"name": "NVIDIA H100 80GB HBM3"},
        "table_dtype": "bfloat16",
        "model": {"parameters": 568_700_000},
        "assumptions": ["measured"],
    }
    points = [
        {"batch": 1, "articles_per_second": 1.0},
        {"batch": 8, "articles_per_second": 6.0},
        {"batch": 16, "articles_per_second": 10.0},
    ]
    args = bench_gpu.parse_args(["--beams", "16", "--new-tokens", "1023"])
    derived = bench_gpu.derive_for_a10g(measurement, points, pegasus_large, args)
    # H100 SXM against A10G: bandwidth 3,350/600 = 5.58, dense tensor 989/70 = 14.13.
    slowdown = 989 / 70
    assert derived["measurement"]["slowdown"] == pytest.approx(slowdown, abs=1e-3)
    assert derived["kind"] == "estimate" and derived["source"].startswith("DERIVED")
    # 16 beams of 1,024 tokens: the A10G's default budget holds 11 inputs, so batch 16 is
    # served as smaller calls and gets batch 8's rate.
    assert derived["measurement"]["a10g_batch_fit"] == 11
    assert derived["points"] == [
        {"batch": 1, "articles_per_second": round(1.0 / slowdown, 4)},
        {"batch": 8, "articles_per_second": round(6.0 / slowdown, 4)},
        {"batch": 16, "articles_per_second": round(6.0 / slowdown, 4)},
    ]
    assert table_from_mapping(derived).instance_type == "ml.g5.xlarge"
    # Without published figures for the measured GPU there is nothing to derive from.
    unknown = {**measurement, "gpu": {"name": "Some Future GPU"}}
    assert bench_gpu.derive_for_a10g(unknown, points, pegasus_large, args) is None
