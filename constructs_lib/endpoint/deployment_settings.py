"""Deployment guardrails of the async endpoint (``deployment`` in ``cdk.json``): pure Python.

SageMaker applies deployment guardrails to asynchronous endpoints as to real-time ones ("Deployment
guardrails only apply to Asynchronous inference and Real-time inference endpoint types",
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html). An update of the
endpoint (a new model, new code, new settings) then runs as a blue/green deployment that shifts
traffic all at once, as a canary or in linear steps, or as a rolling deployment, bakes each step
while CloudWatch alarms watch it, and rolls back when one of them fires. ``AsyncEndpoint`` turns
these settings into the endpoint's ``DeploymentConfig``; the configuration loader, the capacity
planner and the simulator read them without starting the CDK's Node process.

Limits (SageMaker API, ``BlueGreenUpdatePolicy``, ``TrafficRoutingConfig``,
``RollingUpdatePolicy``, ``AutoRollbackConfig``): baking periods 0-3,600 s, termination wait
0-3,600 s, a maximum execution time of 600-28,800 s that "should be larger than the total waiting
time specified in TerminationWaitInSeconds and WaitIntervalInSeconds", a canary of at most 50 %
of the fleet, linear steps of 10-50 % ("Use linear traffic shifting"), rolling batches of 5-50 %
of "the variant's total instance count", and 1 to 10 rollback alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib._validation import check_int, check_number

# Blue/green traffic shifting, and the rolling deployment.
STRATEGIES = ("ALL_AT_ONCE", "CANARY", "LINEAR", "ROLLING")
# The strategies that move a share of the fleet at a time.
STEPPED = frozenset({"CANARY", "LINEAR", "ROLLING"})
# Smallest share of the fleet per step, by strategy (percent), and the largest for all of them.
MIN_STEP_PERCENT = {"CANARY": 1, "LINEAR": 10, "ROLLING": 5}
MAX_STEP_PERCENT = 50
# A stepped strategy moves at most half of the fleet at a time and at least one instance: the
# fleet it starts from needs two instances or more.
MIN_STEPPED_INSTANCES = 2
# The old fleet is kept this long after the last bake: with the 300 s bake, 900 s after the
# shift, InvokeEndpointAsync's default (and the data path's) InvocationTimeoutSeconds.
DEFAULT_TERMINATION_WAIT_SECONDS = 600
# UpdateEndpoint's AutoRollbackConfig takes 1 to 10 alarms.
MAX_ROLLBACK_ALARMS = 10


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """How an update of the async endpoint is rolled out, and which alarms roll it back.

    The stepped strategies need at least two instances whenever the endpoint is updated: each
    step is a share of at most half the fleet, so they are refused unless the endpoint can
    never be below two instances (``scaling.min_capacity`` >= 2). With the defaults the old
    fleet lives 900 s after the shift, the data path's invocation timeout, so a request it had
    started can finish. ``AsyncEndpoint`` makes the rollback alarms on its own metrics.
    """

    #: ``ALL_AT_ONCE``: blue/green with all traffic moved to the new fleet at once; ``CANARY``
    #: (``step_percent`` of the new fleet first), ``LINEAR`` (``step_percent`` per step) or
    #: ``ROLLING`` (batches of ``step_percent`` of the instances, old ones removed after each).
    strategy: str = "ALL_AT_ONCE"
    #: Canary size, linear step or rolling batch, in percent of the fleet (CANARY 1-50, LINEAR
    #: 10-50, ROLLING 5-50; unused with ``ALL_AT_ONCE``).
    step_percent: int = 25
    #: ROLLING only: the batch size of a rollback (1-100 %); None: the whole old fleet at once.
    rollback_step_percent: int | None = None
    #: The baking period after each shift, while the alarms watch (0-3,600).
    wait_interval_seconds: int = 300
    #: How long the old fleet is kept after the last bake (0-3,600); None: 600 s for
    #: blue/green (ROLLING has none and refuses a value).
    termination_wait_seconds: int | None = None
    #: The whole deployment's limit, new instances' cold start included (600-28,800, above the
    #: baking and termination waits).
    maximum_execution_timeout_seconds: int = 3600
    #: Invocation failures in one minute (``InvocationFailures``, Sum) that roll back.
    failures_threshold: int = 1
    #: The ``ModelLatency`` p90 of a minute above it, in 2 of 3 minutes, rolls back (a request
    #: of 32 articles takes about 3.5 s on ml.g5.xlarge by the throughput estimate: 60 s means
    #: the new model is far slower, e.g. off the GPU); None: no latency alarm.
    max_model_latency_seconds: float | None = 60.0
    #: With the data path, its recorder's errors alarm rolls back too (a new model whose output
    #: the recorder cannot read).
    rollback_on_data_path_errors: bool = True

    @property
    def termination_wait(self) -> int:
        """The termination wait the endpoint gets: 0 for ROLLING, else the setting or 600 s."""
        if self.strategy == "ROLLING":
            return 0
        if self.termination_wait_seconds is None:
            return DEFAULT_TERMINATION_WAIT_SECONDS
        return self.termination_wait_seconds

    @property
    def stepped(self) -> bool:
        """True for the strategies that move a share of the fleet at a time."""
        return self.strategy in STEPPED

    def problems(self) -> list[str]:
        """Every problem, as ``"<field>: ... (got ...)"``."""
        problems: list[str] = []
        if self.strategy not in STRATEGIES:
            problems.append(
                f"strategy: must be one of {', '.join(STRATEGIES)} (got {self.strategy!r})"
            )
        low = MIN_STEP_PERCENT.get(self.strategy, 1)
        check_int(
            problems, "step_percent", self.step_percent, minimum=low, maximum=MAX_STEP_PERCENT
        )
        if self.rollback_step_percent is not None:
            if self.strategy != "ROLLING":
                problems.append(
                    "rollback_step_percent: only applies to strategy ROLLING; a blue/green "
                    "rollback moves all traffic back at once "
                    f"(got {self.rollback_step_percent!r} with strategy {self.strategy!r})"
                )
            else:
                check_int(
                    problems,
                    "rollback_step_percent",
                    self.rollback_step_percent,
                    minimum=1,
                    maximum=100,
                )
        check_int(
            problems,
            "wait_interval_seconds",
            self.wait_interval_seconds,
            minimum=0,
            maximum=3600,
        )
        if self.termination_wait_seconds is not None:
            if self.strategy == "ROLLING":
                problems.append(
                    "termination_wait_seconds: only applies to blue/green; strategy ROLLING "
                    "removes old instances after each batch and has no termination wait "
                    f"(got {self.termination_wait_seconds!r})"
                )
            else:
                check_int(
                    problems,
                    "termination_wait_seconds",
                    self.termination_wait_seconds,
                    minimum=0,
                    maximum=3600,
                )
        before = len(problems)
        check_int(
            problems,
            "maximum_execution_timeout_seconds",
            self.maximum_execution_timeout_seconds,
            minimum=600,
            maximum=28800,
        )
        waits = (self.wait_interval_seconds, self.termination_wait)
        if len(problems) == before and all(_is_int(w) and w >= 0 for w in waits):
            total = sum(waits)
            if self.maximum_execution_timeout_seconds <= total:
                problems.append(
                    "maximum_execution_timeout_seconds: must be more than wait_interval_seconds "
                    f"+ the termination wait ({total} s), and leave time for the new "
                    "instances' cold start (got "
                    f"{self.maximum_execution_timeout_seconds!r})"
                )
        check_int(problems, "failures_threshold", self.failures_threshold, minimum=1)
        if self.max_model_latency_seconds is not None:
            check_number(
                problems,
                "max_model_latency_seconds",
                self.max_model_latency_seconds,
                exclusive_minimum=0,
                maximum=3600,
            )
        if not isinstance(self.rollback_on_data_path_errors, bool):
            problems.append(
                "rollback_on_data_path_errors: must be true or false "
                f"(got {self.rollback_on_data_path_errors!r})"
            )
        return problems

    def instance_floor_problems(self, key: str, floor: Any) -> list[str]:
        """The stepped strategies against the fewest instances the endpoint can have when it is
        updated (``floor``, named ``key`` in the message, e.g. ``scaling.min_capacity``)."""
        if not self.stepped or not _is_int(floor) or floor >= MIN_STEPPED_INSTANCES:
            return []
        return [
            f"deployment.strategy: {self.strategy} moves {self.step_percent} % of the instances "
            f"at a time, at most half and at least one, so it needs {MIN_STEPPED_INSTANCES} or "
            f"more whenever the endpoint is updated, but {key} lets it be at {floor}; use "
            f"ALL_AT_ONCE or set {key} to {MIN_STEPPED_INSTANCES} or more "
            f"(got strategy {self.strategy!r} with {key} {floor})"
        ]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def scaling_floor_problems(
    deployment: DeploymentSettings | None, min_capacity: Any, *, prefix: str = ""
) -> list[str]:
    """``deployment``'s stepped strategies against the fewest instances scaling allows,
    ``min_capacity`` (scheduled actions stay within it); ``prefix`` names the section."""
    if deployment is None:
        return []
    return deployment.instance_floor_problems(f"{prefix}min_capacity", min_capacity)
