"""Benchmark the data path: the dispatcher's grouping against one document per invocation.

The same end-to-end path as tests/model/test_end_to_end.py (moto in process for S3, SQS, SNS and
DynamoDB; the dispatcher and recorder Lambdas' code; ``model_code/inference.py`` as the endpoint)
on the benchmark model of bench/bench_model.py (random weights, built here), run twice in one
process on the same documents with the same generation lengths (min_length = max_length, so
random weights cannot stop one side early):

* grouped: the dispatcher's default, up to ``--group`` documents per JSON Lines request;
* one per invocation: ``max_documents_per_request = 1``, what the README's boto3 pattern does.

Documents per second count from the first upload to the last job recorded. The endpoint's own
share (time inside the handler) is reported apart: the rest is moto standing in for S3, SQS,
SNS and DynamoDB, whose latencies are not AWS's. The process's CPU time is reported too: on a
shared machine it moves less with other processes' load than the wall clock does. The two modes
run ``--repeats`` times in turn; the figures are medians, with the minimum and maximum and the
speed-up of each pair. Run with the model venv:

    .venv-model/bin/python bench/bench_datapath.py [--output results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Lambdas log every request at INFO; here that would drown the figures.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "model"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import torch  # noqa: E402
from bench_model import (  # noqa: E402
    build_benchmark_summarizer,
    cpu_pressure,
    load_handler,
    make_articles,
    scenario,
    wait_for_idle,
)
from endpoint_simulator import wired_pipeline  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.datapath_support import CREDENTIALS, mocked_world  # noqa: E402

GROUPED = "grouped"
SINGLE = "one per invocation"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=32, help="documents per run (32)")
    parser.add_argument(
        "--scenario",
        type=scenario,
        default=(4, 64),
        metavar="BEAMSxLENGTH",
        help="beams and summary length in tokens (4x64, as bench_model's first scenario)",
    )
    parser.add_argument("--group", type=int, default=32, help="max documents per request (32)")
    parser.add_argument("--handler-batch", type=int, default=16, help="handler batch size (16)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each mode, interleaved; median kept (3)"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the 1-minute load average to drop below 0.5",
    )
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--ffn-dim", type=int, default=2048)
    parser.add_argument("--max-positions", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--min-tokens", type=int, default=96)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1, as bench_model; 0: default)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    return parser.parse_args(argv)


def run_once(
    handler: Any, summarizer: Any, documents: dict[str, str], group: int
) -> dict[str, Any]:
    """Upload ``documents``, drain the whole path, and return timings and summaries."""
    with (
        mock_aws(),
        mocked_world() as world,
        wired_pipeline(world, handler, summarizer, max_documents_per_request=group) as pipeline,
    ):
        client = pipeline.client()
        # S3's s3:TestEvent (and SageMaker's TestNotification) first, outside the timing.
        pipeline.drain()
        started, cpu_started = time.perf_counter(), time.process_time()
        submission = client.submit_texts(documents)
        pipeline.drain()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        counts = client.counts(submission)
        summaries = {job.job_id: text for job, text in client.summaries(submission)}
        keys = {job: key.rsplit("/", 1)[1] for key, job in submission.documents.items()}
    assert counts.succeeded == len(documents), f"not every job succeeded: {counts}"
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "handler_seconds": pipeline.handler_seconds,
        "requests": len(pipeline.requests_served),
        "summaries": {keys[job]: text for job, text in summaries.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    handler = load_handler()
    summarizer = build_benchmark_summarizer(handler, args)
    summarizer.batch_size = args.handler_batch
    beams, length = args.scenario
    parameters = {"min_length": length, "max_length": length, "num_beams": beams}
    articles = make_articles(
        summarizer.tokenizer,
        args.articles,
        args.min_tokens,
        summarizer.window_tokens,
        args.seed,
    )
    documents = {
        f"{index:04d}.json": json.dumps({"inputs": text, "parameters": parameters})
        for index, text in enumerate(articles)
    }
    lengths = [len(summarizer.tokenizer(a, add_special_tokens=False).input_ids) for a in articles]
    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    machine = {
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "cpu_pressure_at_start": cpu_pressure(),
    }
    print(f"machine: {machine}")
    print(
        f"model: d_model {args.d_model}, {args.layers}+{args.layers} layers, "
        f"{sum(p.numel() for p in summarizer.model.parameters()) / 1e6:.1f} M parameters; "
        f"{len(articles)} documents of {min(lengths)}-{max(lengths)} tokens; {beams} beams, "
        f"{length}-token summaries; handler batch {args.handler_batch}\n"
    )
    if machine["load_average_at_start"][0] >= 0.5:
        print("WARNING: the machine is busy; timings are disturbed (both modes alike)\n")

    # Warm-up: the first generate() call of a process pays for lazy initialisation.
    run_once(handler, summarizer, dict(list(documents.items())[:2]), args.group)
    runs: dict[str, list[dict[str, Any]]] = {GROUPED: [], SINGLE: []}
    for _ in range(args.repeats):
        # Interleaved, so that a burst of outside load hits both modes alike.
        for mode, group in ((GROUPED, args.group), (SINGLE, 1)):
            runs[mode].append(run_once(handler, summarizer, documents, group))

    def median(mode: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[mode])

    print(
        f"{args.repeats} interleaved runs of each mode: median (min-max); speed-up = one per "
        "invocation's median / the mode's median"
    )
    print(
        f"{'mode':<20} {'requests':>8} {'seconds (min-max)':>21} {'docs/s':>7} {'speed-up':>8} "
        f"{'handler s':>9} {'handler x':>9} {'CPU s':>7} {'CPU x':>6}"
    )
    figures = []
    for mode, results in runs.items():
        seconds = [run["seconds"] for run in results]
        wall, handler_s, cpu = (
            median(mode, key) for key in ("seconds", "handler_seconds", "cpu_seconds")
        )
        speedup = median(SINGLE, "seconds") / wall
        handler_speedup = median(SINGLE, "handler_seconds") / handler_s
        cpu_speedup = median(SINGLE, "cpu_seconds") / cpu
        print(
            f"{mode:<20} {results[0]['requests']:>8} {wall:>7.2f} ({min(seconds):>5.2f}-"
            f"{max(seconds):>5.2f}) {len(documents) / wall:>7.2f} {speedup:>7.2f}x "
            f"{handler_s:>9.2f} {handler_speedup:>8.2f}x {cpu:>7.1f} {cpu_speedup:>5.2f}x"
        )
        figures.append(
            {
                "mode": mode,
                "requests": results[0]["requests"],
                "seconds": [round(value, 3) for value in seconds],
                "median_seconds": round(wall, 3),
                "documents_per_s": round(len(documents) / wall, 3),
                "speedup": round(speedup, 2),
                "handler_seconds": [round(run["handler_seconds"], 3) for run in results],
                "handler_speedup": round(handler_speedup, 2),
                "cpu_seconds": [round(run["cpu_seconds"], 3) for run in results],
                "cpu_speedup": round(cpu_speedup, 2),
            }
        )
    per_run = [
        f"{single['seconds'] / grouped['seconds']:.2f}x"
        for grouped, single in zip(runs[GROUPED], runs[SINGLE], strict=True)
    ]
    print(f"speed-up of each interleaved pair: {', '.join(per_run)}")
    single = runs[SINGLE][-1]
    same = sum(
        runs[GROUPED][-1]["summaries"][name] == text for name, text in single["summaries"].items()
    )
    print(f"summaries identical in both modes: {same}/{len(documents)}")
    machine["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    machine["cpu_pressure_at_end"] = cpu_pressure()
    print(
        f"load average at end: {machine['load_average_at_end']}, cpu pressure: "
        f"{machine['cpu_pressure_at_end']}"
    )
    if args.output:
        args.output.write_text(
            json.dumps({"machine": machine, "runs": figures, "identical": same}, indent=2) + "\n"
        )
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
