"""A scaling simulator: replays uploads through the data path, the endpoint and its policies.

Pure Python (no CDK, no AWS). It reads an environment through the app's own loader
(``environment``: ``stacks.config``), groups documents into requests as the dispatcher does
(``traffic``), serves them as the model server does, one request at a time per instance at the
rate of the throughput table (``throughput``), and scales with the policies our constructs
deploy, evaluated on one-minute CloudWatch datapoints published late (``policies``,
``cloudwatch``, ``schedules``). It is a simulation of documented behaviour, not a measurement of
AWS: ``docs/scaling.md`` lists the assumptions. Run ``python -m summarizer.simulator --help``.
"""

from __future__ import annotations

from summarizer.simulator.engine import ColdStart, Options, Run, Variant, simulate, simulate_seeds
from summarizer.simulator.errors import SimulationError
from summarizer.simulator.results import aggregate, summarize
from summarizer.simulator.throughput import ThroughputTable, load_table
from summarizer.simulator.traffic import Document, Request

__all__ = [
    "ColdStart",
    "Document",
    "Options",
    "Request",
    "Run",
    "SimulationError",
    "ThroughputTable",
    "Variant",
    "aggregate",
    "load_table",
    "simulate",
    "simulate_seeds",
    "summarize",
]
