"""A multi-container endpoint: up to 15 containers on one instance fleet, direct or serial.

With direct invocation each request names its container (``TargetContainerHostname``), so
unrelated models (the article's English and German models) share instances; the
``sagemaker:TargetContainerHostname`` IAM condition decides who may call which container. All
containers stay loaded: no cold start per model, unlike a multi-model endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib._validation import raise_if_problems
from constructs_lib.hosting._common import CONTAINER_METRICS, build_metric
from constructs_lib.hosting.containers import MultiContainerModel, hostnames_condition
from constructs_lib.hosting.realtime import RealtimeEndpoint
from constructs_lib.hosting.realtime_settings import BlueGreenDeployment


class MultiContainerEndpoint(RealtimeEndpoint):
    """A real-time endpoint serving a ``MultiContainerModel`` (``Direct`` or ``Serial``).

    ``grant_invoke(grantee, container_hostnames=[...])`` limits a caller to some containers
    (``StringLike`` patterns with ``*``/``?`` as in the article, each required to match a
    container); without ``container_hostnames`` the caller may invoke every container.
    ``metric_container_*`` return the per-container metrics (dimensions ``EndpointName``,
    ``VariantName``, ``ContainerName``; published for direct invocation) and
    ``container_widgets`` a dashboard row of them.

    Args:
        model: the multi-container model to serve.
        instance_type: the variant's instance type.
        initial_instance_count: as ``RealtimeEndpoint``. Default: ``1``.
        variant_name: as ``RealtimeEndpoint``. Default: ``"AllTraffic"``.
        volume_key: as ``RealtimeEndpoint``. Default: ``None`` (SageMaker's AWS-managed key).
        container_startup_timeout_seconds: as ``RealtimeEndpoint``. Default: ``600``.
        deployment: as ``RealtimeEndpoint``. Default: ``None`` (no blue/green guardrails).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: MultiContainerModel,
        instance_type: str,
        initial_instance_count: int = 1,
        variant_name: str = "AllTraffic",
        volume_key: kms.IKey | None = None,
        container_startup_timeout_seconds: int = 600,
        deployment: BlueGreenDeployment | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            model=model,
            instance_type=instance_type,
            initial_instance_count=initial_instance_count,
            variant_name=variant_name,
            volume_key=volume_key,
            container_startup_timeout_seconds=container_startup_timeout_seconds,
            deployment=deployment,
        )
        self.multi_container_model = model

    def grant_invoke(
        self, grantee: iam.IGrantable, container_hostnames: Sequence[str] | None = None
    ) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint, optionally for some containers only.

        ``container_hostnames`` (default None: every container) adds ``StringLike`` on
        ``sagemaker:TargetContainerHostname``. Serial endpoints take no hostname, so a
        restriction there is refused.
        """
        if container_hostnames is None:
            return super().grant_invoke(grantee)
        if self.multi_container_model.mode != "Direct":
            raise_if_problems(
                "grant_invoke",
                [
                    "container_hostnames: only apply to Direct invocation; a Serial endpoint "
                    f"runs every container (got {list(container_hostnames)!r})"
                ],
            )
        condition = hostnames_condition(self.multi_container_model, container_hostnames)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[self.endpoint_arn],
            conditions=condition,
        )

    def metric_container(self, metric_name: str, hostname: str, **props: Any) -> cloudwatch.Metric:
        """A per-container metric of ``CONTAINER_METRICS`` for the container ``hostname``."""
        if hostname not in self.multi_container_model.hostnames:
            raise ValueError(
                f"hostname: {hostname!r} is not a container of this endpoint "
                f"(containers: {', '.join(self.multi_container_model.hostnames)})"
            )
        return build_metric(
            CONTAINER_METRICS,
            metric_name,
            {
                "EndpointName": self.endpoint_name,
                "VariantName": self.variant_name,
                "ContainerName": hostname,
            },
            **props,
        )

    def metric_container_latency(self, hostname: str, **props: Any) -> cloudwatch.Metric:
        """Microseconds the container took to answer, as SageMaker sees it (Average)."""
        return self.metric_container("ContainerLatency", hostname, **props)

    def metric_container_invocations(self, hostname: str, **props: Any) -> cloudwatch.Metric:
        """Requests sent to the container (Sum)."""
        return self.metric_container("Invocations", hostname, **props)

    def metric_container_5xx_errors(self, hostname: str, **props: Any) -> cloudwatch.Metric:
        """Requests the container answered with a 5xx code (Sum)."""
        return self.metric_container("Invocation5XXErrors", hostname, **props)

    def container_widgets(self) -> list[cloudwatch.IWidget]:
        """Graphs of invocations, latency and 5xx errors per container, for a dashboard row."""
        hostnames = self.multi_container_model.hostnames
        return [
            cloudwatch.GraphWidget(
                title="Invocations per container",
                left=[self.metric_container_invocations(h, label=h) for h in hostnames],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="ContainerLatency (µs, average)",
                left=[self.metric_container_latency(h, label=h) for h in hostnames],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="5xx errors per container",
                left=[self.metric_container_5xx_errors(h, label=h) for h in hostnames],
                width=8,
            ),
        ]
