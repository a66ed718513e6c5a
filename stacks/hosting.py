"""Choosing how the summarizer is hosted: ``hosting`` in the configuration, and what it builds.

``hosting`` is ``async`` (default: the asynchronous endpoint of ``SummarizationStack``),
``realtime``, ``serverless`` or ``batch``. Each non-async option has its own section in an
environment's configuration (``realtime``, ``serverless``, ``batch``), and ``hosting_problems``
checks what each option allows before anything is built:

- ``realtime``: instances always on (``scaling.min_capacity`` >= 1); ``realtime`` holds what
  only a real-time endpoint has (its targets, blue/green); or, with
  ``realtime.inference_component``, the model as an inference component that scales to zero
  instances and back (requests fail while it wakes).
- ``serverless``: no instances, so no ``instance_type`` (and no GPU); nothing of ``scaling``
  applies.
- ``batch``: no endpoint, so nothing to scale; the job runs on ``instance_type``.

``scaling`` is the one capacity section of every endpoint family: ``min_capacity``,
``max_capacity``, ``scale_in_cooldown_seconds``, ``scale_out_cooldown_seconds`` and
``scheduled_actions`` (``SHARED_SCALING_KEYS``) mean the same for the async endpoint and a
real-time variant (instances, seconds, schedules of the scalable target); where a key is not
written, each family keeps its own default (async 0 to 5 instances and 120 s cooldowns,
real-time 1 to 4 and 300 s in, 60 s out). Keys that do not apply to the hosting chosen (the
async backlog target, wake-up and spike keys, ``deployment`` outside async) are not refused, so
an environment can switch hosting with ``-c summarizer.hosting=...``: the stack reports them as
a synth warning (``AppConfig.warnings``).

Pure Python, like the loader that imports it (``stacks/config.py``): ``build_hosting``
(``stacks/hosting_resources.py``) makes the resources of a non-async option in a stack that
already has the storage, the notification topics and the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from constructs_lib._validation import check_int
from constructs_lib.hosting.batch_settings import BatchTransformSettings
from constructs_lib.hosting.inference_component_settings import (
    ROUTING_STRATEGIES,
    ComputeRequirements,
    CopyScaling,
    copy_count_problems,
)
from constructs_lib.hosting.realtime_settings import BlueGreenDeployment, RealtimeScalingSettings
from constructs_lib.hosting.serverless_settings import serverless_problems
from constructs_lib.model.instance_types import is_gpu_instance
from constructs_lib.scaling.settings import ScheduledCapacity

from .schema import build

HOSTING_OPTIONS = ("async", "realtime", "serverless", "batch")
# The instance type of every option that has instances, where an environment names none.
DEFAULT_INSTANCE_TYPE = "ml.g5.xlarge"
SECTIONS = ("realtime", "serverless", "batch")

# Top-level keys of the async endpoint that mean nothing for another option, and why.
_ASYNC_ONLY = {
    "max_concurrent_invocations_per_instance": "only async endpoints queue invocations",
    "include_response_in_notifications": "only async endpoints notify per invocation",
}


# Keys of ``scaling`` that a real-time variant reads with the async endpoint's meaning.
SHARED_SCALING_KEYS = (
    "min_capacity",
    "max_capacity",
    "scale_in_cooldown_seconds",
    "scale_out_cooldown_seconds",
    "scheduled_actions",
)
# With an inference component the copies take the cooldowns; its own keys bound the instances.
COMPONENT_SCALING_KEYS = ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds")


# What only a variant that names its model (no inference component) reads, and what replaces it.
_VARIANT_ONLY = {
    "invocations_per_instance_target": "use inference_component.invocations_per_copy_target",
    "cpu_utilization_target_percent": "use inference_component.invocations_per_copy_target",
    "step_threshold_invocations_per_instance": (
        "use inference_component.invocations_per_copy_target"
    ),
    **{
        key: "SageMaker updates the component blue/green by itself (no rollback alarms yet)"
        for key in ("blue_green", "traffic_routing", "step_percent", "max_model_latency_ms")
    },
}


@dataclass(frozen=True, kw_only=True)
class InferenceComponentHosting:
    """``realtime.inference_component``: the model as an inference component that scales to zero.

    The copies scale with ``scaling.scale_in_cooldown_seconds`` / ``scale_out_cooldown_seconds``
    (``realtime_section`` hands them over); the wake-up failure alarm goes to the error topic.
    """

    #: The fewest instances of managed instance scaling; 0 releases them all when idle.
    min_instance_count: int = 0
    #: The most instances.
    max_instance_count: int = 4
    #: How requests are routed among copies.
    routing_strategy: str = "LEAST_OUTSTANDING_REQUESTS"
    #: Copies at creation, at least 1 (SageMaker refuses 0).
    initial_copies: int = 1
    #: The fewest copies; 0 scales to zero.
    min_copies: int = 0
    #: The most copies.
    max_copies: int = 4
    #: Target tracking on requests per copy per minute; None: off.
    invocations_per_copy_target: float | None = 70.0
    #: Target tracking on concurrent requests per copy; None: off.
    concurrent_requests_per_copy_target: float | None = None
    #: Waking from zero adds one copy at most this often.
    wake_up_cooldown_seconds: int = 600
    #: Minutes of requests that found no copy before the wake-up failure alarm.
    wake_up_failure_minutes: int = 15
    #: GPUs each copy reserves (the A10G of ``ml.g5.xlarge``); null on CPU instance types.
    accelerators: int | None = 1
    #: CPU cores each copy reserves; None: none.
    cpu_cores: float | None = None
    #: Memory each copy reserves: pegasus-large's 2.3 GB of float32 weights pass through host
    #: memory while loading (``ml.g5.xlarge`` has 16 GiB).
    min_memory_mb: int = 4096
    #: A cap on each copy's memory; None: no cap.
    max_memory_mb: int | None = None

    def compute(self) -> ComputeRequirements:
        """What each copy reserves."""
        return ComputeRequirements(
            min_memory_mb=self.min_memory_mb,
            max_memory_mb=self.max_memory_mb,
            accelerators=self.accelerators,
            cpu_cores=self.cpu_cores,
        )

    def copy_scaling(self, scale_in_cooldown: int, scale_out_cooldown: int) -> CopyScaling:
        """How the copies scale, with the real-time section's cooldowns."""
        return CopyScaling(
            min_copies=self.min_copies,
            max_copies=self.max_copies,
            invocations_per_copy_target=self.invocations_per_copy_target,
            concurrent_requests_per_copy_target=self.concurrent_requests_per_copy_target,
            scale_in_cooldown_seconds=scale_in_cooldown,
            scale_out_cooldown_seconds=scale_out_cooldown,
            wake_up_cooldown_seconds=self.wake_up_cooldown_seconds,
            wake_up_failure_minutes=self.wake_up_failure_minutes,
        )

    def problems(self, instance_type: str, initial_instance_count: int) -> list[str]:
        """Every problem of this section, as ``"inference_component.<field>: ..."``."""
        prefix = "inference_component."
        problems: list[str] = []
        check_int(problems, f"{prefix}min_instance_count", self.min_instance_count, minimum=0)
        check_int(problems, f"{prefix}max_instance_count", self.max_instance_count, minimum=1)
        if not problems and self.min_instance_count > self.max_instance_count:
            problems.append(
                f"{prefix}min_instance_count: must not exceed max_instance_count "
                f"{self.max_instance_count!r} (got {self.min_instance_count!r})"
            )
        if (
            not problems
            and isinstance(initial_instance_count, int)
            and initial_instance_count > self.max_instance_count
        ):
            problems.append(
                "initial_instance_count: must not exceed inference_component.max_instance_count "
                f"{self.max_instance_count!r} (got {initial_instance_count!r})"
            )
        if self.routing_strategy not in ROUTING_STRATEGIES:
            problems.append(
                f"{prefix}routing_strategy: must be one of {', '.join(ROUTING_STRATEGIES)} "
                f"(got {self.routing_strategy!r})"
            )
        problems += self.compute().problems(instance_type, prefix)
        # The cooldowns are the section's own and checked with it; only the copies' fields here.
        scaling = self.copy_scaling(0, 0)
        problems += scaling.problems(prefix)
        problems += copy_count_problems(self.initial_copies, scaling, prefix)
        return problems


@dataclass(frozen=True, kw_only=True)
class RealtimeHosting:
    """``realtime`` section: instance count, scaling (autoscaling article) and guardrails.

    ``min_capacity``, ``max_capacity``, the cooldowns and ``scheduled_actions`` are written in
    ``scaling`` (``SHARED_SCALING_KEYS``; ``realtime_section`` copies them here) and refused
    under ``realtime``; the defaults below apply where ``scaling`` does not set them. With
    ``inference_component`` the variant-only keys are refused, and ``initial_instance_count``
    and the cooldowns apply to the component.
    """

    #: Instances at deployment (``sizing.py`` derives it and the bounds from a benchmark).
    initial_instance_count: int = 1
    #: From ``scaling``: the fewest instances, at least 1.
    min_capacity: int = 1
    #: From ``scaling``: the most instances.
    max_capacity: int = 4
    #: Target tracking on invocations per instance per minute; None: off.
    invocations_per_instance_target: float | None = 70.0
    #: Target tracking on per-core CPU, 0-100; None: off.
    cpu_utilization_target_percent: float | None = None
    #: From ``scaling``: seconds between scale-in activities.
    scale_in_cooldown_seconds: int = 300
    #: From ``scaling``: seconds between scale-out activities.
    scale_out_cooldown_seconds: int = 60
    #: The spike step policy's alarm threshold; None: no step policy.
    step_threshold_invocations_per_instance: float | None = None
    #: Blue/green updates with a rollback alarm on 5xx errors (and on latency with
    #: ``max_model_latency_ms``); false: SageMaker's default update.
    blue_green: bool = False
    #: With ``blue_green``: ``ALL_AT_ONCE``, ``CANARY`` or ``LINEAR``.
    traffic_routing: str = "ALL_AT_ONCE"
    #: With ``blue_green``: the canary or linear step, in percent.
    step_percent: int = 10
    #: With ``blue_green``: a rollback alarm on model latency above this; None: none.
    max_model_latency_ms: float | None = None
    #: The model as an inference component that scales to zero instances when idle (requests
    #: fail while it wakes); None: the variant names the model and one instance always runs.
    inference_component: InferenceComponentHosting | None = None
    #: From ``scaling``: scheduled changes of the bounds.
    scheduled_actions: tuple[ScheduledCapacity, ...] = ()

    def scaling_settings(self) -> RealtimeScalingSettings:
        """The ``RealtimeScaling`` settings of this section."""
        return RealtimeScalingSettings(
            min_capacity=self.min_capacity,
            max_capacity=self.max_capacity,
            invocations_per_instance_target=self.invocations_per_instance_target,
            cpu_utilization_target_percent=self.cpu_utilization_target_percent,
            scale_in_cooldown_seconds=self.scale_in_cooldown_seconds,
            scale_out_cooldown_seconds=self.scale_out_cooldown_seconds,
            step_threshold_invocations_per_instance=self.step_threshold_invocations_per_instance,
            scheduled_actions=self.scheduled_actions,
        )

    def deployment(self) -> BlueGreenDeployment | None:
        """The blue/green guardrails, or None when ``blue_green`` is off."""
        if not self.blue_green:
            return None
        return BlueGreenDeployment(
            traffic_routing=self.traffic_routing,
            step_percent=self.step_percent,
            max_model_latency_ms=self.max_model_latency_ms,
        )

    def problems(self, instance_type: str) -> list[str]:
        """Every problem of this section, as ``"<field>: ..."``."""
        if self.inference_component is not None:
            return self._component_problems(instance_type)
        problems = self.scaling_settings().problems(instance_type)
        if self.min_capacity == 0:
            # The library's message names the construct; here the configuration key.
            problems = [p for p in problems if not p.startswith("min_capacity:")]
            problems.insert(
                0,
                "min_capacity: a real-time variant keeps at least one instance; to scale to "
                "zero, host the model as an inference component (realtime.inference_component: "
                "requests fail while it wakes) or use hosting 'async' or 'serverless' (got 0)",
            )
        before = len(problems)
        check_int(problems, "initial_instance_count", self.initial_instance_count, minimum=1)
        if len(problems) == before and not (
            isinstance(self.min_capacity, int)
            and isinstance(self.max_capacity, int)
            and self.min_capacity <= self.initial_instance_count <= self.max_capacity
        ):
            problems.append(
                "initial_instance_count: must be within scaling.min_capacity "
                f"{self.min_capacity!r} and scaling.max_capacity {self.max_capacity!r} "
                f"(got {self.initial_instance_count!r})"
            )
        deployment = self.deployment()
        if deployment is not None:
            problems += deployment.problems()
        return problems

    def _component_problems(self, instance_type: str) -> list[str]:
        assert self.inference_component is not None
        problems: list[str] = []
        check_int(problems, "initial_instance_count", self.initial_instance_count, minimum=1)
        for name in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            check_int(problems, name, getattr(self, name), minimum=0)
        return problems + self.inference_component.problems(
            instance_type, self.initial_instance_count
        )


@dataclass(frozen=True, kw_only=True)
class ServerlessHosting:
    """``serverless`` section: nothing billed at idle, a cold start after it."""

    #: Memory of the endpoint, 1024-6144 MB in 1 GB steps.
    memory_size_mb: int = 6144
    #: Concurrent requests, 1-200.
    max_concurrency: int = 10
    #: Concurrency kept warm (and billed), at most ``max_concurrency``; None: none.
    provisioned_concurrency: int | None = None

    def problems(self) -> list[str]:
        """Every problem of this section, as ``"<field>: ..."``."""
        return serverless_problems(
            self.memory_size_mb, self.max_concurrency, self.provisioned_concurrency
        )


# --- validation -------------------------------------------------------------------------------


def hosting_problems(config_dict: Mapping[str, Any]) -> list[str]:
    """Every hosting problem of one environment's configuration mapping, as readable lines.

    ``config_dict`` is the environment's configuration as written (cdk.json section merged with
    ``-c`` overrides): what matters is which keys the user gave, not the defaults.
    """
    hosting = config_dict.get("hosting", "async")
    if hosting not in HOSTING_OPTIONS:
        return [f"hosting: must be one of {', '.join(HOSTING_OPTIONS)} (got {hosting!r})"]
    problems: list[str] = []
    for section in SECTIONS:
        if section in config_dict and section != hosting:
            problems.append(
                f"{section}: only applies to hosting {section!r} (got hosting {hosting!r})"
            )
    if hosting != "async":
        for key, why in _ASYNC_ONLY.items():
            if key in config_dict:
                problems.append(f"{key}: {why}, not hosting {hosting!r} (got {config_dict[key]!r})")
    instance_type = config_dict.get("instance_type", DEFAULT_INSTANCE_TYPE)
    if hosting == "serverless":
        problems += _serverless_problems(config_dict)
    elif hosting == "realtime":
        written = config_dict.get("realtime", {})
        if isinstance(written, Mapping):
            for key in SHARED_SCALING_KEYS:
                if key in written:
                    problems.append(
                        f"realtime.{key}: set scaling.{key}, the one capacity section of every "
                        f"endpoint family (got {written[key]!r})"
                    )
        found: list[str] = []
        section = _section(RealtimeHosting, realtime_section(config_dict), "realtime", found)
        if section is not None and section.inference_component is not None:
            for key, instead in _VARIANT_ONLY.items():
                if key in written:
                    found.append(
                        f"realtime.{key}: only applies to a variant without inference "
                        f"components; with realtime.inference_component {instead} "
                        f"(got {written[key]!r})"
                    )
        if section is not None:
            found += [f"realtime.{p}" for p in section.problems(str(instance_type))]
        problems += [_shared_key_path(p) for p in found]
    elif hosting == "batch":
        if "initial_instance_count" in config_dict:
            problems.append(
                "initial_instance_count: batch transform has no endpoint; use "
                f"batch.instance_count (got {config_dict['initial_instance_count']!r})"
            )
        written = config_dict.get("batch", {})
        if isinstance(written, Mapping) and "instance_type" in written:
            problems.append(
                "batch.instance_type: the job runs on the top-level instance_type "
                f"(got {written['instance_type']!r})"
            )
            written = {k: v for k, v in written.items() if k != "instance_type"}
        section = _section(BatchTransformSettings, written, "batch", problems)
        if section is not None:
            problems += [
                f"batch.{p}"
                for p in batch_settings(section, str(instance_type)).problems()
                if not p.startswith("instance_type:")
            ]
    return problems


def _serverless_problems(config_dict: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "instance_type" in config_dict:
        instance_type = config_dict["instance_type"]
        gpu = isinstance(instance_type, str) and is_gpu_instance(instance_type)
        problems.append(
            "instance_type: serverless endpoints have no instances"
            + (" and no GPUs" if gpu else "")
            + f"; size them with serverless.memory_size_mb (got {instance_type!r})"
        )
    for key in ("initial_instance_count",):
        if key in config_dict:
            problems.append(
                f"{key}: serverless endpoints scale by themselves up to "
                f"serverless.max_concurrency (got {config_dict[key]!r})"
            )
    section = _section(ServerlessHosting, config_dict.get("serverless", {}), "serverless", problems)
    if section is not None:
        problems += [f"serverless.{p}" for p in section.problems()]
    return problems


def realtime_section(config_dict: Mapping[str, Any]) -> Any:
    """The ``realtime`` section as a real-time endpoint reads it: with the keys of ``scaling``
    that it shares (``SHARED_SCALING_KEYS``; the cooldowns only, with an inference component)."""
    written = config_dict.get("realtime", {})
    scaling = config_dict.get("scaling", {})
    if config_dict.get("hosting") != "realtime":
        return written
    if not isinstance(written, Mapping) or not isinstance(scaling, Mapping):
        return written
    component = written.get("inference_component") is not None
    shared = COMPONENT_SCALING_KEYS if component else SHARED_SCALING_KEYS
    return {**written, **{key: scaling[key] for key in shared if key in scaling}}


def batch_settings(section: BatchTransformSettings, instance_type: str) -> BatchTransformSettings:
    """The ``batch`` section (``BatchTransformSettings``, declared once in the construct library)
    on the environment's top-level ``instance_type``, which the job runs on."""
    return replace(section, instance_type=instance_type)


def _shared_key_path(problem: str) -> str:
    """``realtime.max_capacity: ...`` as ``scaling.max_capacity: ...``: where it was written."""
    for key in SHARED_SCALING_KEYS:
        for tail in (":", "["):
            if problem.startswith(f"realtime.{key}{tail}"):
                return "scaling." + problem[len("realtime.") :]
    return problem


def _section(cls: type, data: Any, path: str, problems: list[str]) -> Any:
    """The settings dataclass ``cls`` from ``data`` through the app's one loader."""
    if not isinstance(data, Mapping):
        problems.append(f"{path}: must be an object (got {data!r})")
        return None
    return build(cls, data, path, problems)
