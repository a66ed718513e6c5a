"""Benchmark the summarization handler against the naive one-article-per-call pipeline.

Not a test: it measures, on this machine's CPU, with a random-weight PEGASUS big enough for the
numbers to mean something (built here, as the tests build theirs, because no weights can be
downloaded):

1. throughput (articles per second) of ``model_code/inference.py`` (input_fn -> predict_fn ->
   output_fn) at several batch sizes, against ``transformers.pipeline("summarization")`` called
   once per article, with identical generation settings (min_length == max_length, same
   num_beams, so random weights cannot make one side stop early); at the target batch size
   also with one cross-attention copy per beam (transformers' own layout, what the handler did
   before it shared it among beams: ``summarizer_beams``);
2. the handler's time against document length for documents of 1x, 2x, 4x and 8x the encoder
   window, which chunking should keep linear.

Every approach runs ``--repeats`` times, interleaved (one run of each in turn), so that a burst
of load from other processes reaches all of them; the figures are the median with the minimum
and maximum, in wall-clock and in CPU time of this process. The machine's load average is
printed at the start and the end.

torch runs one thread by default (``--threads``). On a shared machine with as many torch threads
as cores, each operation waits for its slowest thread, and other processes' load lands on one
of them at random: on this project's 2-core machine (load average 4 to 7) the same pipeline run
took 51 to 112 s and the same batch-16 run 12 to 113 s, so no ratio could be read; with one
thread the spread is a few percent. ``--threads 0`` measures with torch's default.

Run from the repository root with the model venv:

    .venv-model/bin/python bench/bench_model.py [--output results.json]

It writes nothing unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "model"))
# inference.py imports the modules beside it, as it does from code/ in the container.
sys.path.insert(0, str(REPO_ROOT / "model_code"))

import torch  # noqa: E402
import transformers  # noqa: E402
from pegasus_factory import PegasusDims, build_pegasus, synthetic_sentences  # noqa: E402
from transformers import pipeline  # noqa: E402


def load_handler() -> ModuleType:
    """Import model_code/inference.py under the name the toolkit gives it (once per process:
    the tests and the toolkit must keep seeing the module object they imported)."""
    path = REPO_ROOT / "model_code" / "inference.py"
    loaded = sys.modules.get("inference")
    if loaded is not None and Path(getattr(loaded, "__file__", "")) == path:
        return loaded
    spec = importlib.util.spec_from_file_location("inference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["inference"] = module
    spec.loader.exec_module(module)
    return module


def scenario(text: str) -> tuple[int, int]:
    """Parse ``BEAMSxLENGTH`` (``4x64``: 4 beams, summaries of exactly 64 tokens)."""
    beams, _, length = text.lower().partition("x")
    return int(beams), int(length)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3, help="encoder and decoder layers each")
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--ffn-dim", type=int, default=2048)
    parser.add_argument("--max-positions", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=8000, help="SentencePiece vocabulary size")
    parser.add_argument("--articles", type=int, default=64, help="articles in the throughput run")
    parser.add_argument("--min-tokens", type=int, default=96, help="shortest article, in tokens")
    parser.add_argument(
        "--scenarios",
        type=scenario,
        nargs="+",
        default=[(4, 64), (1, 32)],
        metavar="BEAMSxLENGTH",
        help="generation settings to compare (min_length = max_length = LENGTH); the first "
        "one is also used for the length scaling",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument(
        "--batch-size", type=int, default=16, help="the handler's batch size (speed-up target)"
    )
    parser.add_argument("--multiples", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each approach, interleaved (3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1; 0: torch's default, one per core); see the module docstring",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the 1-minute load average to drop below 0.5",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    return parser.parse_args(argv)


def wait_for_idle(limit_s: float) -> None:
    """Other processes on a 2-core machine distort timings badly: give them time to finish."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= 0.5 and time.monotonic() < deadline:
        time.sleep(5)


def cpu_pressure() -> str:
    """The kernel's CPU pressure (share of time something waited for a CPU), where available."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    return line.removeprefix("some ")


def make_articles(
    tokenizer: Any, count: int, min_tokens: int, max_tokens: int, seed: int
) -> list[str]:
    """Articles of uniformly random token lengths, cut from generated text at a token boundary."""
    rng = random.Random(seed)
    stream = " ".join(synthetic_sentences(400 + count * 40, 3000, seed + 1))
    ids = tokenizer(stream, add_special_tokens=False).input_ids
    articles = []
    for _ in range(count):
        length = rng.randint(min_tokens, max_tokens)
        start = rng.randrange(0, len(ids) - length)
        articles.append(tokenizer.decode(ids[start : start + length]))
    return articles


def make_document(tokenizer: Any, n_tokens: int, seed: int) -> str:
    """One long document of about ``n_tokens`` tokens."""
    sentences = synthetic_sentences(max(50, n_tokens // 5), 3000, seed)
    ids = tokenizer(" ".join(sentences), add_special_tokens=False).input_ids
    return tokenizer.decode(ids[:n_tokens])


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def padding_share(lengths: Sequence[int], batch_size: int, sort: bool) -> float:
    """Share of encoder positions that are padding when batching ``lengths`` this way."""
    ordered = sorted(lengths, reverse=True) if sort else list(lengths)
    padded = 0
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        padded += max(batch) * len(batch)
    return 1 - sum(lengths) / padded


@dataclass
class Timings:
    """Wall-clock and CPU seconds of every run of one approach, and the last run's result."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    value: Any = None

    def spread(self, values: Sequence[float] | None = None) -> tuple[float, float, float]:
        """(min, median, max) of the wall-clock seconds, or of ``values``."""
        data = self.wall if values is None else values
        return min(data), statistics.median(data), max(data)


def interleaved(repeats: int, runs: dict[str, Callable[[], Any]]) -> dict[str, Timings]:
    """Time every run ``repeats`` times, one run of each in turn, so that a burst of outside
    load hits all approaches alike; keep every timing (wall and this process's CPU time)."""
    timings = {name: Timings() for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            wall_started, cpu_started = time.perf_counter(), time.process_time()
            value = run()
            timings[name].wall.append(time.perf_counter() - wall_started)
            timings[name].cpu.append(time.process_time() - cpu_started)
            timings[name].value = value
    return timings


def per_beam(summarizer: Any) -> Any:
    """The summarizer with one cross-attention copy per beam row (transformers' own layout)."""
    memory = dataclasses.replace(summarizer.memory, shared_cross_attention=False)
    return dataclasses.replace(summarizer, memory=memory)


def planned_batches(
    summarizer: Any, lengths: Sequence[int], length: int, beams: int, cap: int
) -> list[int]:
    """The batch sizes the handler picks for these articles at batch size ``cap``: the memory
    model within its budget (4 GiB on CPU), at most ``cap`` inputs."""
    from summarizer_batching import plan_batches

    extra = summarizer.tokenizer.num_special_tokens_to_add(pair=False)
    widths = sorted((n + extra for n in lengths), reverse=True)
    capped = dataclasses.replace(summarizer, batch_size=cap)
    return [len(batch) for batch in plan_batches(capped, widths, length, beams)]


def build_benchmark_summarizer(handler: Any, args: argparse.Namespace) -> Any:
    """The benchmark model (random weights, its own tokenizer) loaded by the handler's model_fn.

    ``args`` carries the model's dimensions (``d_model``, ``layers``, ``heads``, ``ffn_dim``,
    ``max_positions``, ``vocab``) and ``seed``; both benchmarks build it the same way.
    """
    dims = PegasusDims(
        d_model=args.d_model,
        layers=args.layers,
        heads=args.heads,
        ffn_dim=args.ffn_dim,
        max_positions=args.max_positions,
    )
    with tempfile.TemporaryDirectory(prefix="bench-pegasus-") as scratch:
        corpus = synthetic_sentences(20000, 3000, args.seed)
        model_dir = build_pegasus(
            Path(scratch), sentences=corpus, vocab_size=args.vocab, dims=dims, seed=args.seed
        )
        return handler.model_fn(str(model_dir))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    handler = load_handler()
    summarizer = build_benchmark_summarizer(handler, args)
    model, tokenizer = summarizer.model, summarizer.tokenizer
    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    n_params = sum(parameter.numel() for parameter in model.parameters())
    machine = {
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "cpu_pressure_at_start": cpu_pressure(),
    }
    model_info = {
        "d_model": args.d_model,
        "layers": args.layers,
        "heads": args.heads,
        "ffn_dim": args.ffn_dim,
        "max_positions": args.max_positions,
        "vocab": len(tokenizer),
        "parameters_millions": round(n_params / 1e6, 1),
        "window_tokens": summarizer.window_tokens,
        "chunk_overlap": summarizer.chunk_overlap,
    }
    print(f"machine: {machine}")
    print(f"model:   {model_info}\n")
    if machine["load_average_at_start"][0] >= 0.5:
        print("WARNING: the machine is busy; timings are disturbed (see --wait-idle)\n")

    articles = make_articles(
        tokenizer, args.articles, args.min_tokens, summarizer.window_tokens, args.seed
    )
    lengths = [len(tokenizer(a, add_special_tokens=False).input_ids) for a in articles]
    assert max(lengths) <= summarizer.window_tokens, "throughput articles must fit one window"
    summarization = pipeline("summarization", model=model, tokenizer=tokenizer, device=-1)

    def run_handler(batch_size: int, body: str, shared: bool = True) -> list[dict[str, Any]]:
        model = summarizer if shared else per_beam(summarizer)
        model.batch_size = batch_size
        request = handler.input_fn(body, "application/json")
        return json.loads(handler.output_fn(handler.predict_fn(request, model), None))

    def run_naive(parameters: dict[str, int]) -> list[str]:
        return [summarization(article, **parameters)[0]["summary_text"] for article in articles]

    throughput = []
    target_batch = args.batch_size
    if target_batch not in args.batch_sizes:
        args.batch_sizes.append(target_batch)
    naive_name = "naive pipeline, 1 article/call"
    target_name = f"handler, batch {target_batch}"
    before_name = f"{target_name}, per-beam cross-attn"
    print(
        f"Throughput: {len(articles)} articles of {min(lengths)}-{max(lengths)} tokens "
        f"(mean {statistics.mean(lengths):.0f}); padding at batch {target_batch}: length-sorted "
        f"{padding_share(lengths, target_batch, sort=True):.1%}, request order "
        f"{padding_share(lengths, target_batch, sort=False):.1%}; {args.repeats} interleaved "
        "runs each: median (min-max) seconds; speed-up = naive median / median"
    )
    print(
        f"{'beams':>5} {'tokens':>6}  {'approach':<44} {'wall s (min-max)':>21} "
        f"{'CPU s':>6} {'articles/s':>10} {'speed-up':>8} {'CPU x':>6}"
    )
    for beams, length in args.scenarios:
        parameters = {"min_length": length, "max_length": length, "num_beams": beams}
        body = json.dumps({"inputs": articles, "parameters": parameters})
        batches = planned_batches(summarizer, lengths, length, beams, target_batch)
        per_input = summarizer.memory.input_bytes(max(lengths) + 1, length, beams)
        print(
            f"{'':>13}memory model on {summarizer.device.type}: {per_input / 2**20:.1f} MiB per "
            f"input at most, budget {summarizer.batch_memory_bytes / 2**20:.0f} MiB; batches "
            f"at cap {target_batch}: {batches}"
        )
        run_handler(4, json.dumps({"inputs": articles[:4], "parameters": parameters}))
        summarization(articles[0], **parameters)  # warm-up
        runs: dict[str, Callable[[], Any]] = {naive_name: lambda p=parameters: run_naive(p)}
        for batch_size in args.batch_sizes:
            runs[f"handler, batch {batch_size}"] = lambda b=batch_size, t=body: run_handler(b, t)
        if beams > 1:
            runs[before_name] = lambda t=body: run_handler(target_batch, t, shared=False)
        timings = interleaved(args.repeats, runs)
        naive = timings[naive_name]
        naive_wall, naive_cpu = statistics.median(naive.wall), statistics.median(naive.cpu)
        for name, timing in timings.items():
            low, median, high = timing.spread()
            cpu = statistics.median(timing.cpu)
            print(
                f"{beams:>5} {length:>6}  {name:<44} {median:>7.2f} ({low:>5.2f}-{high:>5.2f}) "
                f"{cpu:>6.2f} {len(articles) / median:>10.2f} {naive_wall / median:>7.2f}x "
                f"{naive_cpu / cpu:>5.2f}x"
            )
            throughput.append(
                {
                    "num_beams": beams,
                    "summary_tokens": length,
                    "approach": name,
                    "batches": batches if name == target_name else None,
                    "seconds": [round(value, 3) for value in timing.wall],
                    "cpu_seconds": [round(value, 3) for value in timing.cpu],
                    "median_seconds": round(median, 3),
                    "articles_per_s": round(len(articles) / median, 3),
                    "speedup_median": round(naive_wall / median, 2),
                    "speedup_min": round(min(naive.wall) / low, 2),
                    "speedup_cpu": round(naive_cpu / cpu, 2),
                    "speedup_per_run": [
                        round(n / h, 2) for n, h in zip(naive.wall, timing.wall, strict=True)
                    ],
                }
            )
        naive_out = naive.value
        for name in (target_name, before_name):
            if name in timings:
                same = sum(
                    h["summary_text"] == n
                    for h, n in zip(timings[name].value, naive_out, strict=True)
                )
                print(
                    f"{'':>13}{name}: summaries identical to the pipeline's {same}/{len(articles)}"
                )
        if before_name in timings:
            print(
                f"{'':>13}sharing cross-attention among beams: per-run speed-up against the "
                "per-beam layout "
                + ", ".join(
                    f"{before / after:.2f}x"
                    for after, before in zip(
                        timings[target_name].wall, timings[before_name].wall, strict=True
                    )
                )
            )

    beams, length = args.scenarios[0]
    parameters = {"min_length": length, "max_length": length, "num_beams": beams}
    summarizer.batch_size = target_batch
    scaling = []
    print(
        f"\nTime against document length: window {summarizer.window_tokens} tokens, batch "
        f"{target_batch}, {beams} beams, {length}-token summaries; median of {args.repeats} runs"
    )
    print(f"{'length':>7} {'tokens':>7} {'chunks':>7} {'rounds':>7} {'seconds':>8} {'s/window':>9}")
    for multiple in args.multiples:
        document = make_document(
            tokenizer, multiple * summarizer.window_tokens, args.seed + multiple
        )
        body = json.dumps({"inputs": document, "parameters": parameters})
        run_handler(target_batch, body)  # warm-up
        timing = interleaved(
            args.repeats, {"document": lambda t=body: run_handler(target_batch, t)}
        )["document"]
        seconds = statistics.median(timing.wall)
        (result,) = timing.value
        scaling.append(
            {
                "multiple": multiple,
                "tokens": result["input_tokens"],
                "chunks": result["chunks"],
                "rounds": result["rounds"],
                "seconds": round(seconds, 3),
            }
        )
        print(
            f"{multiple:>6}x {result['input_tokens']:>7} {result['chunks']:>7} "
            f"{result['rounds']:>7} {seconds:>8.2f} {seconds / multiple:>9.2f}"
        )
    machine["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    machine["cpu_pressure_at_end"] = cpu_pressure()
    print(
        f"\nload average at end: {machine['load_average_at_end']}, cpu pressure: "
        f"{machine['cpu_pressure_at_end']}"
    )

    if args.output:
        figures = {
            "machine": machine,
            "model": model_info,
            "throughput_articles": {
                "count": len(articles),
                "min_tokens": min(lengths),
                "max_tokens": max(lengths),
                "mean_tokens": round(statistics.mean(lengths), 1),
            },
            "throughput": throughput,
            "length_scaling": scaling,
        }
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
