"""Run the simulator: ``python -m constructs_lib.simulator --help``."""

from .cli import main

raise SystemExit(main())
