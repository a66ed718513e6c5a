"""Synthesis time of this app against an empty CDK app, through the same pinned CLI.

Run with ``make bench-synth``. Each variant is synthesized ``--runs`` times (after one warm-up)
and the median wall time is printed, with CDK's built-in template validation on (the default)
and off (``CDK_VALIDATION=false``), since that validator dominates a small app's synth time.
The empty app's and this app's runs alternate, so a change in the machine's load reaches both
sides of a ratio alike. Besides wall time it prints CPU time (user + system, of the CLI, the app
and the CDK's Node process together), which the other tenants of a shared machine disturb less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
PYTHON = ROOT / ".venv" / "bin" / "python"

EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""


def empty_app_dir(parent: Path) -> Path:
    """An app with one empty stack and this project's feature flags, so only the content differs."""
    directory = parent / "empty-app"
    directory.mkdir()
    (directory / "app.py").write_text(EMPTY_APP)
    flags = {
        k: v
        for k, v in json.loads((ROOT / "cdk.json").read_text())["context"].items()
        if k.startswith("@")
    }
    (directory / "cdk.json").write_text(
        json.dumps({"app": f"{PYTHON} app.py", "context": flags}, indent=2)
    )
    return directory


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def synth_seconds(app_dir: Path, outdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``cdk synth``."""
    shutil.rmtree(outdir, ignore_errors=True)
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(
        [str(CDK), "synth", "--quiet", "--output", str(outdir)],
        cwd=app_dir,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, _children_cpu() - cpu


def time_pair(
    empty: Path, ours: Path, scratch: Path, env: dict[str, str], runs: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (wall, CPU) seconds of the empty app and of this app, their runs interleaved."""
    empty_s: list[tuple[float, float]] = []
    ours_s: list[tuple[float, float]] = []
    for attempt in range(runs + 1):
        e = synth_seconds(empty, scratch / "empty.out", env)
        o = synth_seconds(ours, scratch / "ours.out", env)
        if attempt:  # the first round warms caches
            empty_s.append(e)
            ours_s.append(o)

    def medians(timings: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)

    return medians(empty_s), medians(ours_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs: must be at least 1 (got {args.runs})")
    # An exported CDK_VALIDATION would turn the "default" row into the other one.
    base_env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    base_env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    with tempfile.TemporaryDirectory() as tmp:
        empty = empty_app_dir(Path(tmp))
        print(f"median of {args.runs} `cdk synth --quiet` runs (after a warm-up), seconds")
        print(f"{'validation':<22}{'':<6}{'empty app':>10}{'this app':>10}{'ratio':>8}")
        for label, extra in (
            ("built-in (default)", {}),
            ("CDK_VALIDATION=false", {"CDK_VALIDATION": "false"}),
        ):
            env = {**base_env, **extra}
            empty_s, ours_s = time_pair(empty, ROOT, Path(tmp), env, args.runs)
            for i, kind in enumerate(("wall", "CPU")):
                print(
                    f"{label if i == 0 else '':<22}{kind:<6}{empty_s[i]:>10.2f}"
                    f"{ours_s[i]:>10.2f}{ours_s[i] / empty_s[i]:>8.2f}"
                )


if __name__ == "__main__":
    main()
