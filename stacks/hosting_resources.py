"""The resources of a non-async hosting option: ``build_hosting`` (``stacks/hosting.py`` chooses).

``SummarizationStack`` calls it instead of building the async endpoint when an environment's
``hosting`` is ``realtime``, ``serverless`` or ``batch``; the constructs it uses are the
library's (``constructs_lib.hosting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions

from constructs_lib._validation import ConfigurationError
from constructs_lib.endpoint.notifications import AsyncNotifications
from constructs_lib.endpoint.storage import AsyncInferenceStorage
from constructs_lib.hosting._common import SynchronousEndpoint
from constructs_lib.hosting.realtime import RealtimeEndpoint
from constructs_lib.hosting.realtime_scaling import RealtimeScaling
from constructs_lib.hosting.serverless import ServerlessEndpoint
from constructs_lib.model.construct import HuggingFaceModel

from .config import AppConfig
from .hosting import HOSTING_OPTIONS, batch_settings

# Serverless endpoints run the CPU image; HuggingFaceModel picks the image from an instance type.
SERVERLESS_IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"


@dataclass
class HostingResources:
    """What ``build_hosting`` made: the endpoint and its scaling, or the batch state machine."""

    endpoint: SynchronousEndpoint | None = None
    scaling: RealtimeScaling | None = None
    batch: Any = None  # a BatchTransform (imported lazily, see build_hosting)


def model_instance_type(config: AppConfig) -> str:
    """The instance type to give ``HuggingFaceModel`` so it picks the right image.

    Serverless endpoints run on CPU: the model gets ``SERVERLESS_IMAGE_INSTANCE_TYPE``.
    """
    return (
        SERVERLESS_IMAGE_INSTANCE_TYPE if config.hosting == "serverless" else config.instance_type
    )


def build_hosting(
    stack: Stack,
    config: AppConfig,
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
            settings=batch_settings(config.batch, config.instance_type),
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
    elif config.hosting == "realtime" and config.realtime.inference_component is not None:
        outputs = _build_inference_component(stack, config, notifications, model, resources)
    else:
        if config.hosting == "realtime":
            realtime = RealtimeEndpoint(
                stack,
                "Endpoint",
                model=model,
                instance_type=config.instance_type,
                initial_instance_count=config.realtime.initial_instance_count,
                container_startup_timeout_seconds=config.container_startup_timeout_seconds,
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
        _add_error_alarm(stack, resources.endpoint.metric_invocation_5xx_errors(), notifications)
        dashboard = cloudwatch.Dashboard(stack, "Dashboard")
        dashboard.add_widgets(*resources.endpoint.dashboard_widgets())
        outputs = {
            "EndpointName": (resources.endpoint.endpoint_name, "Pass to InvokeEndpoint"),
        }
    for output_id, (value, description) in outputs.items():
        CfnOutput(stack, output_id, value=value, description=description)
    return resources


def _build_inference_component(
    stack: Stack,
    config: AppConfig,
    notifications: AsyncNotifications,
    model: HuggingFaceModel,
    resources: HostingResources,
) -> dict[str, tuple[str, str]]:
    """The model as one inference component on a real-time endpoint that scales to zero."""
    # Imported here: only this choice loads the inference component construct.
    from constructs_lib.hosting.inference_components import (
        InferenceComponentEndpoint,
        InferenceComponentSpec,
    )

    realtime = config.realtime
    section = realtime.inference_component
    assert section is not None
    endpoint = InferenceComponentEndpoint(
        stack,
        "Endpoint",
        instance_type=config.instance_type,
        initial_instance_count=realtime.initial_instance_count,
        min_instance_count=section.min_instance_count,
        max_instance_count=section.max_instance_count,
        routing_strategy=section.routing_strategy,
        components=[
            InferenceComponentSpec(
                id="Summarizer",
                model=model,
                compute=section.compute(),
                initial_copies=section.initial_copies,
                scaling=section.copy_scaling(
                    realtime.scale_in_cooldown_seconds, realtime.scale_out_cooldown_seconds
                ),
            )
        ],
    )
    resources.endpoint = endpoint
    (component,) = endpoint.components
    _add_error_alarm(stack, component.metric_invocation_5xx_errors(), notifications)
    for alarm in component.alarms:
        alarm.add_alarm_action(cw_actions.SnsAction(notifications.error_topic))
    dashboard = cloudwatch.Dashboard(stack, "Dashboard")
    if component.alarms:
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Waking from zero", alarms=component.alarms, width=24, height=3
            )
        )
    dashboard.add_widgets(*endpoint.dashboard_widgets())
    return {
        "EndpointName": (endpoint.endpoint_name, "Pass to InvokeEndpoint"),
        "InferenceComponentName": (
            component.inference_component_name,
            "Pass to InvokeEndpoint as InferenceComponentName",
        ),
    }


def _add_error_alarm(
    stack: Stack, metric: cloudwatch.IMetric, notifications: AsyncNotifications
) -> None:
    alarm = cloudwatch.Alarm(
        stack,
        "ModelErrorsAlarm",
        alarm_description="The model answered requests with 5xx errors.",
        metric=metric,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    if notifications.error is not None:  # a topic of our own (a given one is its owner's)
        notifications.error.allow_service_publish("cloudwatch.amazonaws.com")
    alarm.add_alarm_action(cw_actions.SnsAction(notifications.error_topic))


def _removal_policy(name: str) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if name == "destroy" else RemovalPolicy.RETAIN
