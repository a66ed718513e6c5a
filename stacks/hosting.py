"""Choosing how the summarizer is hosted: ``hosting`` in the configuration, and what it builds.

``hosting`` is ``async`` (default: the asynchronous endpoint of ``SummarizationStack``),
``realtime``, ``serverless`` or ``batch``. Each non-async option has its own section in an
environment's configuration (``realtime``, ``serverless``, ``batch``), and ``hosting_problems``
checks what each option allows before anything is built:

- ``realtime``: instances always on; no scale-to-zero (``realtime.min_capacity`` >= 1), its own
  scaling section instead of the async ``scaling``.
- ``serverless``: no instances, so no ``instance_type`` (and no GPU), no ``scaling``.
- ``batch``: no endpoint, so nothing to scale; the job runs on ``instance_type``.

``build_hosting`` makes the resources of a non-async option in a stack that already has the
storage, the notification topics and the model. This module does not import ``stacks.config``,
so the configuration can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions

from constructs_lib._validation import ConfigurationError, check_int
from constructs_lib.dlc_image import is_gpu_instance
from constructs_lib.hosting._common import SynchronousEndpoint
from constructs_lib.hosting.batch_settings import BatchTransformSettings
from constructs_lib.hosting.realtime import BlueGreenDeployment, RealtimeEndpoint
from constructs_lib.hosting.realtime_scaling import RealtimeScaling, RealtimeScalingSettings
from constructs_lib.hosting.serverless import ServerlessEndpoint, serverless_problems
from constructs_lib.model import HuggingFaceModel
from constructs_lib.notifications import AsyncNotifications
from constructs_lib.settings_io import build, plain
from constructs_lib.storage import AsyncInferenceStorage

HOSTING_OPTIONS = ("async", "realtime", "serverless", "batch")
SECTIONS = ("realtime", "serverless", "batch")
# Serverless endpoints run the CPU image; HuggingFaceModel picks the image from an instance type.
SERVERLESS_IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"

# Top-level keys of the async endpoint that mean nothing for another option, and why.
_ASYNC_ONLY = {
    "max_concurrent_invocations_per_instance": "only async endpoints queue invocations",
    "include_response_in_notifications": "only async endpoints notify per invocation",
}


@dataclass(frozen=True, kw_only=True)
class RealtimeHosting:
    """``realtime`` section: instance count, scaling (autoscaling article) and guardrails.

    Defaults: 1 instance at start, 1 to 4 instances, 70 invocations per instance per minute
    (``sizing.py`` derives all three from a benchmark), no CPU policy, cooldowns 300 s in and
    60 s out, no step policy, no blue/green (``blue_green`` true: ``traffic_routing``
    ``ALL_AT_ONCE`` with a rollback alarm on 5xx errors, plus latency if
    ``max_model_latency_ms`` is given).
    """

    initial_instance_count: int = 1
    min_capacity: int = 1
    max_capacity: int = 4
    invocations_per_instance_target: float | None = 70.0
    cpu_utilization_target_percent: float | None = None
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    step_threshold_invocations_per_instance: float | None = None
    blue_green: bool = False
    traffic_routing: str = "ALL_AT_ONCE"
    step_percent: int = 10
    max_model_latency_ms: float | None = None

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
        problems = self.scaling_settings().problems(instance_type)
        before = len(problems)
        check_int(problems, "initial_instance_count", self.initial_instance_count, minimum=1)
        if len(problems) == before and not (
            isinstance(self.min_capacity, int)
            and isinstance(self.max_capacity, int)
            and self.min_capacity <= self.initial_instance_count <= self.max_capacity
        ):
            problems.append(
                "initial_instance_count: must be within min_capacity "
                f"{self.min_capacity!r} and max_capacity {self.max_capacity!r} "
                f"(got {self.initial_instance_count!r})"
            )
        deployment = self.deployment()
        if deployment is not None:
            problems += deployment.problems()
        return problems


@dataclass(frozen=True, kw_only=True)
class ServerlessHosting:
    """``serverless`` section. Defaults: 6144 MB, max concurrency 10, no provisioned concurrency
    (nothing billed at idle, a cold start after it)."""

    memory_size_mb: int = 6144
    max_concurrency: int = 10
    provisioned_concurrency: int | None = None

    def problems(self) -> list[str]:
        """Every problem of this section, as ``"<field>: ..."``."""
        return serverless_problems(
            self.memory_size_mb, self.max_concurrency, self.provisioned_concurrency
        )


@dataclass(frozen=True, kw_only=True)
class BatchHosting:
    """``batch`` section: the transform job's shape (``BatchTransformSettings``' defaults:
    1 instance, ``MultiRecord`` mini-batches of at most 6 MB, 1 concurrent request per
    instance, 600 s and 1 retry per request, 360 min per job, on demand only). The job runs on
    the top-level ``instance_type``."""

    instance_count: int = 1
    batch_strategy: str = "MultiRecord"
    max_payload_mb: int = 6
    max_concurrent_transforms: int = 1
    invocation_timeout_seconds: int = 600
    invocation_max_retries: int = 1
    job_timeout_minutes: int = 360
    schedule: str | None = None
    schedule_timezone: str = "UTC"

    def transform_settings(self, instance_type: str) -> BatchTransformSettings:
        """The ``BatchTransform`` settings of this section on ``instance_type``."""
        return BatchTransformSettings(instance_type=instance_type, **plain(self))

    def problems(self, instance_type: str) -> list[str]:
        """Every problem of this section, as ``"<field>: ..."``."""
        return [
            p
            for p in self.transform_settings(instance_type).problems()
            if not p.startswith("instance_type:")
        ]


@dataclass(frozen=True, kw_only=True)
class HostingConfig:
    """The part of an environment's configuration that ``build_hosting`` reads.

    ``AppConfig`` gets the same fields (``hosting``, ``realtime``, ``serverless``, ``batch``)
    when the choice is wired into ``stacks/config.py``; ``instance_type`` and
    ``removal_policy`` are the existing top-level ones.
    """

    hosting: str = "async"
    instance_type: str = "ml.g5.xlarge"
    removal_policy: str = "retain"
    realtime: RealtimeHosting = field(default_factory=RealtimeHosting)
    serverless: ServerlessHosting = field(default_factory=ServerlessHosting)
    batch: BatchHosting = field(default_factory=BatchHosting)

    @classmethod
    def from_dict(cls, config_dict: Mapping[str, Any]) -> HostingConfig:
        """The hosting part of ``config_dict``, or one ``ConfigurationError`` listing every
        problem. Keys that are not about hosting are ignored here (the app config owns them)."""
        problems = hosting_problems(config_dict)
        if problems:
            raise ConfigurationError("Invalid hosting configuration", problems)
        values: dict[str, Any] = {}
        for key in ("hosting", "instance_type", "removal_policy"):
            if key in config_dict:
                values[key] = config_dict[key]
        for key, section_class in _SECTION_CLASSES.items():
            if key in config_dict:
                values[key] = _section(section_class, config_dict[key], key, [])
        return cls(**values)


class HostingChoice(Protocol):
    """What ``build_hosting`` reads of a configuration (``HostingConfig`` or ``AppConfig``)."""

    @property
    def hosting(self) -> str: ...

    @property
    def instance_type(self) -> str: ...

    @property
    def removal_policy(self) -> str: ...

    @property
    def realtime(self) -> RealtimeHosting: ...

    @property
    def serverless(self) -> ServerlessHosting: ...

    @property
    def batch(self) -> BatchHosting: ...


_SECTION_CLASSES: dict[str, type] = {
    "realtime": RealtimeHosting,
    "serverless": ServerlessHosting,
    "batch": BatchHosting,
}


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
    instance_type = config_dict.get("instance_type", HostingConfig.instance_type)
    if hosting == "serverless":
        problems += _serverless_problems(config_dict)
    elif hosting == "realtime":
        if "scaling" in config_dict:
            problems.append(
                "scaling: is the async endpoint's; a real-time endpoint scales with "
                "realtime.min_capacity / max_capacity / invocations_per_instance_target"
            )
        section = _section(RealtimeHosting, config_dict.get("realtime", {}), "realtime", problems)
        if section is not None:
            problems += [f"realtime.{p}" for p in section.problems(str(instance_type))]
    elif hosting == "batch":
        if "scaling" in config_dict:
            problems.append(
                "scaling: batch transform has no endpoint to scale; size the job with "
                "batch.instance_count"
            )
        if "initial_instance_count" in config_dict:
            problems.append(
                "initial_instance_count: batch transform has no endpoint; use "
                f"batch.instance_count (got {config_dict['initial_instance_count']!r})"
            )
        section = _section(BatchHosting, config_dict.get("batch", {}), "batch", problems)
        if section is not None:
            problems += [f"batch.{p}" for p in section.problems(str(instance_type))]
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
    for key in ("scaling", "initial_instance_count"):
        if key in config_dict:
            problems.append(
                f"{key}: serverless endpoints scale by themselves up to "
                f"serverless.max_concurrency (got {config_dict[key]!r})"
            )
    section = _section(ServerlessHosting, config_dict.get("serverless", {}), "serverless", problems)
    if section is not None:
        problems += [f"serverless.{p}" for p in section.problems()]
    return problems


def _section(cls: type, data: Any, path: str, problems: list[str]) -> Any:
    """The settings dataclass ``cls`` from ``data`` through the app's one loader."""
    if not isinstance(data, Mapping):
        problems.append(f"{path}: must be an object (got {data!r})")
        return None
    return build(cls, data, path, problems)


# --- building ---------------------------------------------------------------------------------


@dataclass
class HostingResources:
    """What ``build_hosting`` made: the endpoint and its scaling, or the batch state machine."""

    endpoint: SynchronousEndpoint | None = None
    scaling: RealtimeScaling | None = None
    batch: Any = None  # a BatchTransform (imported lazily, see build_hosting)


def model_instance_type(config: HostingChoice) -> str:
    """The instance type to give ``HuggingFaceModel`` so it picks the right image.

    Serverless endpoints run on CPU: the model gets ``SERVERLESS_IMAGE_INSTANCE_TYPE``.
    """
    return (
        SERVERLESS_IMAGE_INSTANCE_TYPE if config.hosting == "serverless" else config.instance_type
    )


def build_hosting(
    stack: Stack,
    config: HostingChoice,
    storage: AsyncInferenceStorage,
    notifications: AsyncNotifications,
    model: HuggingFaceModel,
) -> HostingResources:
    """Build the ``realtime``, ``serverless`` or ``batch`` option of ``config`` in ``stack``.

    Call it instead of ``AsyncEndpoint``/``AsyncEndpointScaling``/``AsyncEndpointMonitoring``
    when ``config.hosting`` is not ``async``. Endpoints get a dashboard and a 5xx-error alarm
    on the error topic; batch failures are published to the error topic. Adds the stack outputs
    of the option.
    """
    if config.hosting not in HOSTING_OPTIONS or config.hosting == "async":
        raise ConfigurationError(
            "build_hosting",
            [
                "hosting: build_hosting builds realtime, serverless or batch "
                f"(got {config.hosting!r}); async is SummarizationStack's own"
            ],
        )
    resources = HostingResources()
    if config.hosting == "batch":
        # Imported here: Step Functions and Scheduler cost 0.4 s to import, paid only for batch.
        from constructs_lib.hosting.batch_transform import BatchTransform

        resources.batch = BatchTransform(
            stack,
            "Batch",
            model=model,
            storage=storage,
            settings=config.batch.transform_settings(config.instance_type),
            failure_topic=notifications.error,
            removal_policy=_removal_policy(config.removal_policy),
        )
        outputs = {
            "StateMachineArn": (
                resources.batch.state_machine.state_machine_arn,
                "Start an execution to summarize every article under BatchInputLocation",
            ),
            "BatchInputLocation": (resources.batch.input_uri, "Upload JSON Lines files here"),
            "BatchOutputLocation": (resources.batch.output_uri, "Summaries (<file>.out) land here"),
        }
    else:
        if config.hosting == "realtime":
            realtime = RealtimeEndpoint(
                stack,
                "Endpoint",
                model=model,
                instance_type=config.instance_type,
                initial_instance_count=config.realtime.initial_instance_count,
                deployment=config.realtime.deployment(),
            )
            resources.endpoint = realtime
            resources.scaling = RealtimeScaling(
                stack, "Scaling", endpoint=realtime, settings=config.realtime.scaling_settings()
            )
        else:
            resources.endpoint = ServerlessEndpoint(
                stack,
                "Endpoint",
                model=model,
                memory_size_mb=config.serverless.memory_size_mb,
                max_concurrency=config.serverless.max_concurrency,
                provisioned_concurrency=config.serverless.provisioned_concurrency,
            )
        _add_error_alarm(stack, resources.endpoint, notifications)
        dashboard = cloudwatch.Dashboard(stack, "Dashboard")
        dashboard.add_widgets(*resources.endpoint.dashboard_widgets())
        outputs = {
            "EndpointName": (resources.endpoint.endpoint_name, "Pass to InvokeEndpoint"),
        }
    for output_id, (value, description) in outputs.items():
        CfnOutput(stack, output_id, value=value, description=description)
    return resources


def _add_error_alarm(
    stack: Stack, endpoint: SynchronousEndpoint, notifications: AsyncNotifications
) -> None:
    alarm = cloudwatch.Alarm(
        stack,
        "ModelErrorsAlarm",
        alarm_description="The model answered requests with 5xx errors.",
        metric=endpoint.metric_invocation_5xx_errors(),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    notifications.error.allow_service_publish("cloudwatch.amazonaws.com")
    alarm.add_alarm_action(cw_actions.SnsAction(notifications.error_topic))


def _removal_policy(name: str) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if name == "destroy" else RemovalPolicy.RETAIN
