"""The one error type of the simulator: every problem of one input at once, no traceback."""

from __future__ import annotations

from collections.abc import Sequence


class SimulationError(ValueError):
    """Raised with every problem of a trace, a table or settings at once.

    ``subject`` names what was read (a file, an option, a variant) so the message says where to
    look; the CLI prints ``str(error)`` and exits with status 2.
    """

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{subject}: {count} problem{'s' if count != 1 else ''}:\n{lines}")
