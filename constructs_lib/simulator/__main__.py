"""Run the simulator: ``python -m constructs_lib.simulator --help``."""

from .cli import main, run

raise SystemExit(run(main))
