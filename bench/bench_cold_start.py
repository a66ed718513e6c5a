"""What a model.tar.gz costs a cold start that uncompressed model data does not: measured here.

SageMaker downloads ``model_data_uri`` to the instance and, for a ``model.tar.gz``, "will attempt
to decompress and untar the object during model deployment" (S3ModelDataSource API); with
``CompressionType: None`` it copies the files as they are. The difference is the archive's
gunzip and untar on the instance, and the download of a smaller or larger object. This script
measures both on this machine with a checkpoint of pegasus-large's exact size:

1. builds ``google/pegasus-large``'s architecture (bench_gpu.PEGASUS_LARGE, 570.8 M parameters)
   with random weights (seed 0; no checkpoint can be downloaded here) and saves it as
   transformers does (``model.safetensors`` in fp32, 2.28 GB, plus its JSON files);
2. packs it with the model code exactly as ``make stage-model`` does
   (``constructs_lib.model.archive``, gzip level 9) and records the archive's size and time;
3. extracts the archive ``--runs`` times into a fresh folder with GNU tar and gzip
   (``tar -xzf``), and once more with Python's ``tarfile`` (what extracts it on the instance
   is not documented), and decompresses it to nothing (``gzip -dc``) to separate CPU from disk;
4. copies the uncompressed folder (``cp -r``) as the stand-in for writing the same bytes that
   arrive file by file.

The files are in the page cache (just written), so the extraction figures are CPU and local
writes, not S3. Random weights from PyTorch's initialisation compress about as trained fp32
weights do (mantissas are noise either way; measured ratio recorded). The figures and the
machine (CPUs, load before and after) go to ``--out`` as JSON; docs/cold-start.md turns them
into the expected effect on a cold start of ml.g5.xlarge, and
``constructs_lib/model/cold_start.json``
holds the resulting figures.

    .venv-model/bin/python bench/bench_cold_start.py             # about 5 minutes, 7 GB of disk
    .venv-model/bin/python bench/bench_cold_start.py --dry-run   # a tiny model, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from bench_gpu import PEGASUS_LARGE, TINY  # noqa: E402

from constructs_lib.model.archive import stream_model_archive  # noqa: E402

MB = 1000**2
RESULTS = REPO_ROOT / "bench" / "results" / "cold-start-extraction.json"


def build_checkpoint(target: Path, dims: dict[str, Any], seed: int) -> float:
    """Save pegasus-large's architecture with random weights as transformers does; seconds."""
    import torch
    from transformers import PegasusConfig, PegasusForConditionalGeneration

    start = time.perf_counter()
    config = PegasusConfig(**dims, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(seed)
    model = PegasusForConditionalGeneration(config)
    model.save_pretrained(str(target), safe_serialization=True)
    del model
    return time.perf_counter() - start


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(command: Sequence[str]) -> tuple[float, float]:
    """Run ``command``: (wall seconds, CPU seconds of it and its children, user + system).

    The CPU time hardly depends on how busy the machine is (this one is shared); the wall time
    does, so both are kept.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(list(command), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    tar_version = subprocess.run(
        ["tar", "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tar": tar_version,
        "load_average_before": list(os.getloadavg()),
    }


def measure(scratch: Path, dims: dict[str, Any], runs: int, seed: int) -> dict[str, Any]:
    facts = machine()
    weights = scratch / "weights"
    build_seconds = build_checkpoint(weights, dims, seed)
    weights_bytes = folder_bytes(weights)
    code_dir = REPO_ROOT / "model_code"

    archive = scratch / "model.tar.gz"

    def pack() -> None:
        with archive.open("wb") as handle:
            stream_model_archive(handle, code_dir, weights_dir=weights)

    pack_seconds = timed(pack)
    archive_bytes = archive.stat().st_size

    def fresh(name: str) -> Path:
        folder = scratch / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return folder

    tar_runs = [
        run(["tar", "-xzf", str(archive), "-C", str(fresh("extracted"))]) for _ in range(runs)
    ]
    extracted_bytes = folder_bytes(scratch / "extracted")

    import tarfile

    def python_extract() -> None:
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(fresh("extracted-python"), filter="data")

    python_seconds = timed(python_extract)
    gunzip_wall, gunzip_cpu = run(["gzip", "-dc", str(archive)])
    copy_runs = [run(["cp", "-r", f"{weights}/.", str(fresh("copied"))]) for _ in range(runs)]

    facts["load_average_after"] = list(os.getloadavg())
    tar_seconds = [wall for wall, _ in tar_runs]
    tar_cpu = [cpu for _, cpu in tar_runs]
    copy_seconds = [wall for wall, _ in copy_runs]
    copy_cpu = [cpu for _, cpu in copy_runs]
    median_tar = statistics.median(tar_seconds)
    median_copy = statistics.median(copy_seconds)
    return {
        "machine": facts,
        "model": (
            f"google/pegasus-large architecture, random weights (seed {seed})"
            if dims is PEGASUS_LARGE
            else "DRY RUN: a tiny PEGASUS; measures nothing about pegasus-large"
        ),
        "parameters": _parameters(dims),
        "runs": runs,
        "checkpoint_build_seconds": round(build_seconds, 1),
        "weights_bytes": weights_bytes,
        "archive_bytes": archive_bytes,
        "compression_ratio": round(archive_bytes / weights_bytes, 4),
        "pack_seconds": round(pack_seconds, 1),
        "extracted_bytes": extracted_bytes,
        "tar_xzf_seconds": [round(s, 2) for s in tar_seconds],
        "tar_xzf_cpu_seconds": [round(s, 2) for s in tar_cpu],
        "tar_xzf_median_seconds": round(median_tar, 2),
        "tar_xzf_median_cpu_seconds": round(statistics.median(tar_cpu), 2),
        "tar_xzf_mb_per_second": round(archive_bytes / MB / median_tar, 1),
        "python_tarfile_seconds": round(python_seconds, 2),
        "gunzip_to_null_seconds": round(gunzip_wall, 2),
        "gunzip_to_null_cpu_seconds": round(gunzip_cpu, 2),
        "copy_seconds": [round(s, 2) for s in copy_seconds],
        "copy_cpu_seconds": [round(s, 2) for s in copy_cpu],
        "copy_median_seconds": round(median_copy, 2),
        "copy_median_cpu_seconds": round(statistics.median(copy_cpu), 2),
        # What the archive adds over writing the same files: wall (this machine, its load) and
        # CPU (close to the wall time on an otherwise idle core).
        "extraction_overhead_seconds": round(median_tar - median_copy, 2),
        "extraction_overhead_cpu_seconds": round(
            statistics.median(tar_cpu) - statistics.median(copy_cpu), 2
        ),
    }


def _parameters(dims: dict[str, Any]) -> int:
    """Parameters of the architecture, counted from a meta-device model (no memory)."""
    import torch
    from transformers import PegasusConfig, PegasusForConditionalGeneration

    config = PegasusConfig(**dims, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    with torch.device("meta"):
        model = PegasusForConditionalGeneration(config)
    return sum(p.numel() for p in model.parameters())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="extractions and copies (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="a tiny model, in seconds")
    parser.add_argument("--scratch", type=Path, default=None, help="work folder (default: temp)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the JSON goes (default: bench/results/cold-start-extraction.json; a dry "
        "run: nowhere)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs: must be at least 1 (got {args.runs})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    dims = TINY if args.dry_run else PEGASUS_LARGE
    with tempfile.TemporaryDirectory(prefix="cold-start-", dir=args.scratch) as scratch:
        results = measure(Path(scratch), dims, args.runs, args.seed)
    out = args.out if args.out is not None or args.dry_run else RESULTS
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
