"""Measure pegasus-large throughput on one GPU through the handler's own code: a throughput table.

What it runs: ``google/pegasus-large``'s architecture (``PegasusConfig`` with the dimensions of
the published config.json: d_model 1024, 16 + 16 layers, 16 heads, FFN 4096, a 96,103-entry
vocabulary, 1,024 positions) with random weights, since no checkpoint can be downloaded where
this is written. Each batch size is one request of that many articles of exactly one encoder
window (1,023 tokens plus the end-of-sequence token: 1,024-token inputs) through
``inference.py``'s ``input_fn`` -> ``predict_fn`` -> ``output_fn``: the handler's parsing,
tokenization, memory-sized batching, shared cross-attention, ``generate`` and decoding, with
``min_length = max_length``, so every article costs the same fixed number of new tokens whatever
the random weights predict. Generated ids are kept inside the small SentencePiece vocabulary
trained here (the other logits are biased down), so the output projection still computes all
96,103 logits per step.

For each batch size (1 ... 64) and each precision (bf16 and fp16) it records the median time
of ``--repeats`` runs after a warm-up, articles/s, new tokens/s, input tokens/s, peak GPU memory
against the memory model's estimate, and the ``generate`` calls the handler made (more than
planned means it split a batch after running out of memory). A batch size that runs out of
memory ends that precision's series; ``--time-budget-s`` (default 420 s) stops before a run
that would not finish in time, so the whole command stays under 8 minutes on one GPU.

It writes a throughput table that ``make simulate`` and ``make plan`` read with
``--throughput-table`` (``kind: measured``, the GPU named), and, unless the GPU is an A10G, a
second table for ``ml.g5.xlarge`` derived from it with the arithmetic of docs/gpu-throughput.md
(``kind: estimate``, labelled derived). ``--dry-run`` runs the same code on the CPU with a tiny
model and two batch sizes in seconds; its table says it measured nothing.

    .venv-model/bin/python bench/bench_gpu.py                      # on the GPU machine
    .venv-model/bin/python bench/bench_gpu.py --dry-run --out-dir /tmp/gpu-dry-run
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "model"))
sys.path.insert(0, str(REPO_ROOT / "model_code"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import torch  # noqa: E402
import transformers  # noqa: E402
from bench_model import load_handler  # noqa: E402
from pegasus_factory import synthetic_sentences, train_tokenizer  # noqa: E402
from transformers import (  # noqa: E402
    PegasusConfig,
    PegasusForConditionalGeneration,
    PegasusTokenizerFast,
)

GIB = 1024**3
MIB = 1024**2

# google/pegasus-large's config.json (the architecture; its generation defaults are 8 beams,
# max_length 256, length_penalty 0.8). transformers' PegasusConfig defaults differ (12 layers,
# a 50,265-entry vocabulary, gelu, no embedding scaling), so every field is spelt out.
PEGASUS_LARGE = {
    "vocab_size": 96103,
    "d_model": 1024,
    "encoder_layers": 16,
    "decoder_layers": 16,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "max_position_embeddings": 1024,
    "activation_function": "relu",
    "scale_embedding": True,
}
# The dry run's model: the same code paths in seconds on a CPU.
TINY = {
    **PEGASUS_LARGE,
    "vocab_size": 2000,
    "d_model": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "max_position_embeddings": 64,
}
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}

# The SageMaker instance a table stands for, by GPU name (single-GPU instances first). On the
# multi-GPU ones the model server runs one worker per GPU, so the table (one worker) is a lower
# bound per instance; the table's assumptions say so.
INSTANCES = (
    ("A10G", "ml.g5.xlarge", 1),
    ("L40S", "ml.g6e.xlarge", 1),
    ("L4", "ml.g6.xlarge", 1),
    ("T4", "ml.g4dn.xlarge", 1),
    ("H200", "ml.p5e.48xlarge", 8),
    ("H100", "ml.p5.48xlarge", 8),
    ("A100", "ml.p4d.24xlarge", 8),
    ("V100", "ml.p3.2xlarge", 1),
)

# Published peak figures (docs/gpu-throughput.md cites each): memory bandwidth in GB/s, dense
# (no sparsity) bf16/fp16 tensor throughput in TFLOPS, memory in GB. The first name found in the
# GPU's name wins, so the more specific spellings come first.
GPU_SPECS = (
    ("H100 NVL", 3900.0, 835.0, 94),
    ("H100 PCIe", 2000.0, 756.0, 80),
    ("H100", 3350.0, 989.0, 80),
    ("H200", 4800.0, 989.0, 141),
    ("A100-SXM4-80GB", 2039.0, 312.0, 80),
    ("A100", 1555.0, 312.0, 40),
    ("A10G", 600.0, 70.0, 24),
    ("L4", 300.0, 121.0, 24),
)
DLC_TRANSFORMERS = "4.51.3"
TARGET_INSTANCE = "ml.g5.xlarge"
TARGET_GPU = "A10G"
# nvidia-smi reports 22,515 MiB on an A10G (seen in published benchmark results); the budget is
# the handler's default share of what is left after the bf16 weights and the CUDA context.
A10G_USABLE_BYTES = 22515 * MIB
CUDA_CONTEXT_BYTES = 512 * MIB
# The existing estimate's ratio (3,000 bytes of document per 512-token window): a window of
# 1,023 tokens then stands for about 6,000 bytes of text.
BYTES_PER_TOKEN = 3000 / 512


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny model on the CPU, seconds")
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="default 1 2 4 8 16 32 64")
    parser.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), help="bfloat16 float16")
    parser.add_argument("--input-tokens", type=int, help="encoder input per article (1024)")
    parser.add_argument("--new-tokens", type=int, help="generated tokens per article (128)")
    parser.add_argument("--beams", type=int, help="num_beams (4)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after a warm-up (2)")
    parser.add_argument(
        "--time-budget-s",
        type=float,
        default=420.0,
        help="stop before a run that would end later than this after the start (420)",
    )
    parser.add_argument("--instance-type", help="the table's instance type (default: by GPU)")
    parser.add_argument(
        "--out-dir", type=Path, default=REPO_ROOT / "bench" / "results", help="bench/results"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    defaults: dict[str, Any] = (
        {"batch_sizes": [1, 2], "dtypes": ["float32", "bfloat16"], "input_tokens": 32}
        | {"new_tokens": 4, "beams": 2}
        if args.dry_run
        else {"batch_sizes": [1, 2, 4, 8, 16, 32, 64], "dtypes": ["bfloat16", "float16"]}
        | {"input_tokens": 1024, "new_tokens": 128, "beams": 4}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    problems = []
    if sorted(set(args.batch_sizes)) != args.batch_sizes or args.batch_sizes[0] < 1:
        problems.append(f"--batch-sizes must increase from 1 or more, got {args.batch_sizes}")
    dims = TINY if args.dry_run else PEGASUS_LARGE
    if not 2 <= args.input_tokens <= dims["max_position_embeddings"]:
        problems.append(
            f"--input-tokens must be between 2 and {dims['max_position_embeddings']}, "
            f"got {args.input_tokens}"
        )
    if not 1 <= args.new_tokens < dims["max_position_embeddings"]:
        problems.append(
            f"--new-tokens must be between 1 and {dims['max_position_embeddings'] - 1}, "
            f"got {args.new_tokens}"
        )
    if not 1 <= args.beams <= 16:
        problems.append(f"--beams must be between 1 and 16, got {args.beams}")
    if args.repeats < 1:
        problems.append(f"--repeats must be at least 1, got {args.repeats}")
    if args.instance_type is not None and not args.instance_type.startswith("ml."):
        problems.append(f"--instance-type must look like ml.g5.xlarge, got {args.instance_type}")
    if problems:
        parser.error("; ".join(problems))
    return args


def gpu_slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "gpu"


def instance_for(gpu_name: str) -> tuple[str, int] | None:
    """The SageMaker instance with this GPU, and how many GPUs it has."""
    for key, instance, gpus in INSTANCES:
        if key.lower() in gpu_name.lower():
            return instance, gpus
    return None


def specs_for(gpu_name: str) -> tuple[str, float, float, int] | None:
    for spec in GPU_SPECS:
        if spec[0].lower() in gpu_name.lower():
            return spec
    return None


def build_tokenizer(scratch: Path, vocab: int, seed: int) -> Any:
    """A SentencePiece vocabulary trained here, as the fast tokenizer the handler loads."""
    slow = train_tokenizer(synthetic_sentences(6000, 3000, seed), vocab, scratch / "spm")
    slow.save_pretrained(str(scratch / "slow"))
    return PegasusTokenizerFast.from_pretrained(str(scratch / "slow"))


def build_model(dims: dict[str, Any], tokenizer: Any, device: torch.device, seed: int) -> Any:
    """Random weights (seed ``seed``) built on ``device``; ids the tokenizer lacks biased down."""
    config = PegasusConfig(
        **dims,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=1,
    )
    torch.manual_seed(seed)
    with device:
        model = PegasusForConditionalGeneration(config)
    model.eval()
    model.requires_grad_(False)
    model.generation_config.num_beams = 8
    model.generation_config.max_length = 256
    model.generation_config.length_penalty = 0.8
    # Keep generated ids inside the tokenizer (and off PEGASUS's reserved ids), as the tests'
    # factory does: the summaries decode to text and every logit is still computed.
    reserved = torch.ones(config.vocab_size, dtype=torch.bool, device=device)
    reserved[tokenizer.offset + 3 : len(tokenizer)] = False
    reserved[tokenizer.eos_token_id] = False
    with torch.no_grad():
        model.final_logits_bias[0, reserved] = -1e4
    return model


def make_articles(tokenizer: Any, count: int, tokens: int, seed: int) -> list[str]:
    """``count`` texts of exactly ``tokens`` tokens each (no special tokens)."""
    rng = random.Random(seed)
    stream = tokenizer(
        " ".join(synthetic_sentences(count * tokens // 6 + 200, 3000, seed + 1)),
        add_special_tokens=False,
    ).input_ids
    articles: list[str] = []
    for _ in range(200 * count):
        if len(articles) == count:
            break
        # Decoding and re-tokenizing may merge pieces at the cut: try lengths near the target.
        start = rng.randrange(0, len(stream) - 2 * tokens)
        for take in sorted(range(tokens - 8, tokens + 9), key=lambda k: abs(k - tokens)):
            text = tokenizer.decode(stream[start : start + max(1, take)])
            if len(tokenizer(text, add_special_tokens=False).input_ids) == tokens:
                articles.append(text)
                break
    if len(articles) < count:
        raise RuntimeError(f"could not cut {count} texts of exactly {tokens} tokens")
    return articles


class GenerateCalls:
    """Wraps ``model.generate`` to record the rows of every call the handler makes."""

    def __init__(self, model: Any) -> None:
        self.generate = model.generate
        self.rows: list[int] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.rows.append(int(kwargs["input_ids"].shape[0]))
        return self.generate(**kwargs)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_config(
    *,
    handler: Any,
    summarizer: Any,
    body: str,
    batch: int,
    args: argparse.Namespace,
    device: torch.device,
) -> dict[str, Any]:
    """Warm-up plus ``args.repeats`` timed runs of one request of ``batch`` articles."""
    from summarizer_batching import plan_batches

    calls = GenerateCalls(summarizer.model)
    summarizer.model.generate = calls
    widths = [args.input_tokens] * batch
    planned = [len(b) for b in plan_batches(summarizer, widths, args.new_tokens + 1, args.beams)]
    seconds: list[float] = []
    peaks: list[int] = []
    try:
        for attempt in range(args.repeats + 1):
            calls.rows.clear()
            synchronize(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            baseline = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
            started = time.perf_counter()
            request = handler.input_fn(body, "application/json")
            results = json.loads(handler.output_fn(handler.predict_fn(request, summarizer), None))
            synchronize(device)
            elapsed = time.perf_counter() - started
            check_results(results, batch, args.input_tokens - 1)
            if attempt:  # the first run is the warm-up
                seconds.append(elapsed)
                if device.type == "cuda":
                    peaks.append(torch.cuda.max_memory_allocated(device) - baseline)
    finally:
        del summarizer.model.generate
    median = statistics.median(seconds)
    row: dict[str, Any] = {
        "batch": batch,
        "seconds": [round(value, 4) for value in seconds],
        "median_seconds": round(median, 4),
        "articles_per_second": round(batch / median, 4),
        "new_tokens_per_second": round(batch * args.new_tokens / median, 1),
        "input_tokens_per_second": round(batch * args.input_tokens / median, 1),
        "planned_generate_calls": planned,
        "generate_calls": list(calls.rows),
        "split_after_out_of_memory": list(calls.rows) != planned,
        "memory_model_bytes": summarizer.memory.batch_bytes(
            max(planned), args.input_tokens, args.new_tokens + 1, args.beams
        ),
        "batch_memory_budget_bytes": summarizer.batch_memory_bytes,
    }
    if peaks:
        row["peak_memory_bytes"] = max(peaks)
    return row


def check_results(results: list[dict[str, Any]], batch: int, article_tokens: int) -> None:
    """Every article must be one window, one round, and summarized: else the figures lie."""
    if len(results) != batch:
        raise RuntimeError(f"expected {batch} results, got {len(results)}")
    for result in results:
        if "error" in result or result.get("chunks") != 1 or result.get("rounds") != 1:
            raise RuntimeError(f"an article was not summarized as one window: {result}")
        if result.get("input_tokens") != article_tokens:
            raise RuntimeError(
                f"an article had {result.get('input_tokens')} tokens, not {article_tokens}"
            )


def table_points(runs: Sequence[dict[str, Any]], dtype: str) -> list[dict[str, Any]]:
    return [
        {"batch": run["batch"], "articles_per_second": run["articles_per_second"]}
        for run in runs
        if run.get("dtype") == dtype and "articles_per_second" in run
    ]


def derive_for_a10g(
    measurement: dict[str, Any], points: Sequence[dict[str, Any]], memory_model: Any, args: Any
) -> dict[str, Any] | None:
    """The ml.g5.xlarge table derived from a measurement on another GPU (docs/gpu-throughput.md).

    Every measured time is scaled by the larger of the two peak ratios (memory bandwidth, dense
    tensor throughput) between the measured GPU and the A10G: conservative, since the part of a
    step that waits on the CPU (Python, kernel launches) does not slow down with the GPU. A batch
    larger than the A10G's default budget holds is served in several ``generate`` calls by the
    handler, so it gets the rate of the largest batch that fits.
    """
    source = specs_for(measurement["gpu"]["name"])
    target = specs_for(TARGET_GPU)
    if source is None or target is None or not points:
        return None
    bandwidth_ratio = source[1] / target[1]
    tensor_ratio = source[2] / target[2]
    slowdown = max(bandwidth_ratio, tensor_ratio)
    weights = measurement["model"]["parameters"] * 2
    budget = int((A10G_USABLE_BYTES - weights - CUDA_CONTEXT_BYTES) * 0.6)
    per_input = memory_model.input_bytes(args.input_tokens, args.new_tokens + 1, args.beams)
    fits = max(1, budget // per_input)
    by_batch = {point["batch"]: point["articles_per_second"] for point in points}
    usable = [batch for batch in by_batch if batch <= fits]
    derived = []
    for batch in sorted(by_batch):
        rate = by_batch[batch] if batch <= fits else by_batch[max(usable or [min(by_batch)])]
        derived.append({"batch": batch, "articles_per_second": round(rate / slowdown, 4)})
    return {
        "instance_type": TARGET_INSTANCE,
        "model": "google/pegasus-large (architecture; random weights)",
        "kind": "estimate",
        "source": (
            f"DERIVED (not measured) from the {measurement['table_dtype']} measurement on "
            f"{measurement['gpu']['name']} by bench/bench_gpu.py; arithmetic in "
            "docs/gpu-throughput.md"
        ),
        "assumptions": [
            f"time scales by the larger of the bandwidth ratio {bandwidth_ratio:.2f} "
            f"({source[1]:.0f}/{target[1]:.0f} GB/s) and the dense tensor ratio "
            f"{tensor_ratio:.2f} ({source[2]:.0f}/{target[2]:.0f} TFLOPS): {slowdown:.2f}x "
            "slower (conservative: CPU-bound overhead does not slow down)",
            f"the A10G's default batch budget (0.6 of {A10G_USABLE_BYTES / GIB:.1f} GiB less "
            f"weights and CUDA context) holds {fits} inputs of {per_input / MIB:.0f} MiB; "
            "larger batches get the rate of the largest that fits",
            *measurement["assumptions"],
        ],
        "reference_document_bytes": round(args.input_tokens * BYTES_PER_TOKEN),
        "request_overhead_seconds": 0.5,
        "points": derived,
        "measurement": {
            "derived_from": measurement["gpu"]["name"],
            "bandwidth_ratio": round(bandwidth_ratio, 3),
            "tensor_ratio": round(tensor_ratio, 3),
            "slowdown": round(slowdown, 3),
            # If every step were bound by memory bandwidth alone (an upper bound).
            "bandwidth_bound_points": [
                {
                    "batch": point["batch"],
                    "articles_per_second": round(
                        point["articles_per_second"] * slowdown / bandwidth_ratio, 4
                    ),
                }
                for point in derived
            ],
            "a10g_batch_fit": fits,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    device = torch.device("cpu" if args.dry_run else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run on a GPU machine, or use --dry-run", file=sys.stderr)
        return 2
    if transformers.__version__ != DLC_TRANSFORMERS:
        # The handler's code path (PEGASUS's legacy cache, the shared cross-attention) is that
        # of the DLC's transformers; another version would measure something else.
        print(
            f"transformers {transformers.__version__} found; the DLC runs {DLC_TRANSFORMERS}: "
            "carry the wheels of `make gpu-wheels` (docs/gpu-throughput.md)",
            file=sys.stderr,
        )
        return 2
    handler = load_handler()
    from summarizer_beams import supports_shared_cross_attention
    from summarizer_loading import build_summarizer, select_dtype

    dims = TINY if args.dry_run else PEGASUS_LARGE
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as scratch:
        tokenizer = build_tokenizer(Path(scratch), 300 if args.dry_run else 2000, args.seed)
    model = build_model(dims, tokenizer, device, args.seed)
    articles = make_articles(tokenizer, max(args.batch_sizes), args.input_tokens - 1, args.seed)
    gpu = gpu_facts(device)
    table_dtype = next(
        (name for name, dtype in DTYPES.items() if dtype == select_dtype(device)), "float32"
    )
    if table_dtype not in args.dtypes:
        table_dtype = args.dtypes[0]
    parameters = {
        "num_beams": args.beams,
        "min_length": args.new_tokens + 1,  # max_length counts the decoder's start token
        "max_length": args.new_tokens + 1,
    }
    print(f"{gpu['name']}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters")
    runs: list[dict[str, Any]] = []
    stopped: str | None = None
    finished: set[str] = set()
    last_seconds: dict[str, tuple[int, float]] = {}
    for batch in args.batch_sizes:
        for dtype_name in args.dtypes:
            if dtype_name in finished:
                continue
            if dtype_name in last_seconds:  # runs grow at most linearly with the batch
                previous_batch, previous = last_seconds[dtype_name]
                projected = previous * batch / previous_batch * (args.repeats + 1)
                if time.perf_counter() - started + projected > args.time_budget_s:
                    stopped = (
                        f"time budget: batch {batch} in {dtype_name} would end after "
                        f"{args.time_budget_s:.0f} s"
                    )
                    finished.add(dtype_name)
                    runs.append({"dtype": dtype_name, "batch": batch, "skipped": stopped})
                    continue
            model.to(DTYPES[dtype_name])
            summarizer = build_summarizer(model, tokenizer, batch_size=batch)
            body = json.dumps({"inputs": articles[:batch], "parameters": parameters})
            try:
                row = run_config(
                    handler=handler,
                    summarizer=summarizer,
                    body=body,
                    batch=batch,
                    args=args,
                    device=device,
                )
            except (torch.cuda.OutOfMemoryError, ValueError) as error:
                if "out of memory" not in str(error) and "out of GPU memory" not in str(error):
                    raise
                finished.add(dtype_name)
                row = {"batch": batch, "error": f"out of memory: {str(error)[:200]}"}
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            row = {"dtype": dtype_name, **row}
            runs.append(row)
            if "median_seconds" in row:
                last_seconds[dtype_name] = (batch, row["median_seconds"])
            print(json.dumps(row))
            del summarizer
    measurement = {
        "tool": "bench/bench_gpu.py",
        "dry_run": args.dry_run,
        "gpu": gpu,
        "versions": {
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "model": {
            **dims,
            "parameters": sum(p.numel() for p in model.parameters()),
            "weights": f"random (seed {args.seed}), not a checkpoint",
        },
        "settings": {
            "input_tokens": args.input_tokens,
            "new_tokens": args.new_tokens,
            "num_beams": args.beams,
            "repeats": args.repeats,
            "batch_sizes": args.batch_sizes,
            "dtypes": args.dtypes,
            "time_budget_s": args.time_budget_s,
            "shared_cross_attention": supports_shared_cross_attention(model),
        },
        "table_dtype": table_dtype,
        "runs": runs,
        "stopped": stopped,
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }
    table = measured_table(measurement, args, gpu)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    slug = "dry-run" if args.dry_run else gpu_slug(gpu["name"])
    written = [args.out_dir / f"throughput-{slug}.json"]
    written[0].write_text(json.dumps(table, indent=2) + "\n")
    if not args.dry_run and TARGET_GPU.lower() not in gpu["name"].lower():
        memory_model = build_summarizer(model, tokenizer).memory
        derived = derive_for_a10g(
            measurement | {"assumptions": table["assumptions"]},
            table["points"],
            memory_model,
            args,
        )
        if derived is not None:
            written.append(args.out_dir / f"throughput-{TARGET_INSTANCE}.derived-from-{slug}.json")
            written[-1].write_text(json.dumps(derived, indent=2) + "\n")
    print(f"wrote {', '.join(str(path) for path in written)} in {measurement['elapsed_seconds']} s")
    return 0


def gpu_facts(device: torch.device) -> dict[str, Any]:
    if device.type != "cuda":
        return {"name": f"CPU ({platform.processor() or platform.machine()}), dry run"}
    properties = torch.cuda.get_device_properties(device)
    return {
        "name": torch.cuda.get_device_name(device),
        "compute_capability": list(torch.cuda.get_device_capability(device)),
        "total_memory_bytes": properties.total_memory,
        "count_visible": torch.cuda.device_count(),
    }


def measured_table(
    measurement: dict[str, Any], args: argparse.Namespace, gpu: dict[str, Any]
) -> dict[str, Any]:
    """The throughput table the simulator and the planner read, with the measurement inside."""
    dtype = measurement["table_dtype"]
    points = table_points(measurement["runs"], dtype)
    if not points:
        raise SystemExit(f"no batch size finished in {dtype}: nothing to tabulate")
    found = instance_for(gpu["name"])
    instance, gpus = (args.instance_type, 1) if args.instance_type else (found or (None, 1))
    assumptions = [
        f"google/pegasus-large architecture with random weights, {dtype}, "
        f"{args.input_tokens}-token inputs (one window), {args.beams} beams, exactly "
        f"{args.new_tokens} new tokens per article",
        "batch = articles of one request, served by the handler's own code in one worker; "
        "batches above SUMMARIZER_BATCH_SIZE (default 16) need that setting raised, else the "
        "handler serves them as several generate calls of 16",
        f"an article of reference_document_bytes is one window ({BYTES_PER_TOKEN:.2f} bytes per "
        "token, the earlier estimate's ratio); longer documents cost one window per "
        "reference_document_bytes",
        "request_overhead_seconds (S3 download, parsing, result upload) is not measured here",
    ]
    if gpus > 1:
        assumptions.append(
            f"measured on one of the instance's {gpus} GPUs: the model server runs one worker "
            "per GPU, so an instance serves up to that many requests at once; this table is one "
            "worker's rate"
        )
    if args.dry_run:
        kind = "estimate"
        source = "DRY RUN on the CPU with a tiny model: exercises the code, measures nothing"
        instance = instance or TARGET_INSTANCE
    else:
        kind = "measured"
        source = (
            f"measured by bench/bench_gpu.py on {gpu['name']} (torch {torch.__version__}, "
            f"transformers {transformers.__version__}), {dtype}, median of {args.repeats} runs"
        )
        if instance is None:
            raise SystemExit(f"no SageMaker instance known for {gpu['name']}: pass --instance-type")
    return {
        "instance_type": instance,
        "model": "google/pegasus-large (architecture; random weights)",
        "kind": kind,
        "source": source,
        "assumptions": assumptions,
        "reference_document_bytes": round(args.input_tokens * BYTES_PER_TOKEN),
        "request_overhead_seconds": 0.5,
        "points": points,
        "measurement": measurement,
    }


if __name__ == "__main__":
    raise SystemExit(main())
