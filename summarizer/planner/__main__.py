"""``python -m summarizer.planner``."""

from summarizer.planner.cli import main
from summarizer.simulator.cli import run

raise SystemExit(run(main))
