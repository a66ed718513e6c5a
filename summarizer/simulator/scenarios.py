"""The standard scenarios and the source article's configuration, shared by CLI, planner, docs."""

from __future__ import annotations

from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.scaling.settings import ScalingSettings
from summarizer.simulator.engine import HUB_COLD_START, Variant
from summarizer.simulator.traffic import Document, burst, trickle

# The source article, the AWS blog on PEGASUS summarization with asynchronous inference
# (shared/seeds/async-inference-pegasus-blog.txt): target tracking on
# ApproximateBacklogSizePerInstance alone, target 5, 0 to 5 instances, 120 s cooldowns, and one
# InvokeEndpointAsync per article (no grouping).
ARTICLE = Variant(
    name="article",
    scaling=ScalingSettings(
        min_capacity=0,
        max_capacity=5,
        target_backlog_per_instance=5.0,
        scale_in_cooldown_seconds=120,
        scale_out_cooldown_seconds=120,
    ),
    data_path=DataPathSettings(enabled=False),
    cold_start=HUB_COLD_START,
    wake_up=False,
)

# The article's example load: 10,000 requests (here: uploaded at once, the hardest case).
BURST_DOCUMENTS = 10_000
# One document every 20 minutes for 12 hours: each one arrives at an endpoint back at zero.
TRICKLE_EVERY_MINUTES = 20.0
TRICKLE_COUNT = 36

SCENARIOS = {
    "burst": f"{BURST_DOCUMENTS} documents uploaded at once",
    "trickle": f"one document every {TRICKLE_EVERY_MINUTES:g} minutes, {TRICKLE_COUNT} times",
}


def scenario(name: str) -> list[Document]:
    """The documents of a standard scenario (``burst`` or ``trickle``)."""
    if name == "burst":
        return burst(BURST_DOCUMENTS)
    if name == "trickle":
        return trickle(every_minutes=TRICKLE_EVERY_MINUTES, count=TRICKLE_COUNT)
    raise KeyError(name)
