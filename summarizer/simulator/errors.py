"""The one error type of the simulator: every problem of one input at once, no traceback."""

from __future__ import annotations

from constructs_lib._validation import ConfigurationError


class SimulationError(ConfigurationError):
    """Raised with every problem of a trace, a table or settings at once.

    ``subject`` names what was read (a file, an option, a variant) so the message says where to
    look; the CLI prints ``str(error)`` and exits with status 2. The message has the shape of
    every configuration error of this project (``ConfigurationError``).
    """
