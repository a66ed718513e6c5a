"""Run the simulator: ``python -m summarizer.simulator --help``."""

from summarizer.simulator.cli import main, run

raise SystemExit(run(main))
