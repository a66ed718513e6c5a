"""A serverless SageMaker endpoint: no instances to manage, billed per request, zero at idle.

Limits (SageMaker API ``ProductionVariantServerlessConfig`` and the developer guide): memory
1024-6144 MB in 1 GB steps, max concurrency 1-200, provisioned concurrency 1-200 and at most the
max concurrency; 4 MB request and response payloads, 60 s per invocation, no GPUs. The first
request after idle waits for a cold start (``ModelSetupTime``) unless provisioned concurrency keeps
capacity warm (and billed).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib._validation import raise_if_problems
from constructs_lib.hosting._common import ModelLike, SynchronousEndpoint, variant_problems
from constructs_lib.hosting.serverless_settings import (
    serverless_problems,
)
from constructs_lib.model.construct import uncompressed_model_problems


class ServerlessEndpoint(SynchronousEndpoint):
    """``AWS::SageMaker::EndpointConfig`` with a ``ServerlessConfig`` variant, and its endpoint.

    The model must run on CPU: give the ``HuggingFaceModel`` a CPU instance type (it picks the
    CPU image from it), and a ``model.tar.gz`` (serverless cannot load uncompressed model data).

    Args:
        model: any model with a name and an execution role.
        memory_size_mb: memory of each serverless instance. Default: ``6144`` (PEGASUS-large
            needs about 2.3 GB for its weights alone).
        max_concurrency: concurrent invocations at most. Default: ``10``.
        provisioned_concurrency: warm capacity, billed. Default: ``None`` (none: a cold start
            after idle and nothing billed at idle).
        variant_name: the production variant's name. Default: ``"AllTraffic"``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelLike,
        memory_size_mb: int = 6144,
        max_concurrency: int = 10,
        provisioned_concurrency: int | None = None,
        variant_name: str = "AllTraffic",
    ) -> None:
        super().__init__(scope, construct_id)
        problems = serverless_problems(memory_size_mb, max_concurrency, provisioned_concurrency)
        problems += variant_problems(variant_name)
        problems += uncompressed_model_problems(model, "serverless endpoints")
        raise_if_problems("ServerlessEndpoint", problems)
        self.model = model
        self.role = model.role
        self.variant_name = variant_name
        self.memory_size_mb = memory_size_mb
        self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=variant_name,
                    model_name=model.model_name,
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        memory_size_in_mb=memory_size_mb,
                        max_concurrency=max_concurrency,
                        provisioned_concurrency=provisioned_concurrency,
                    ),
                )
            ],
        )
        self._create_endpoint()

    def metric_model_setup_time(self, **props: Any) -> cloudwatch.Metric:
        """Microseconds a cold start took to set up the container and model (Average)."""
        return self.metric("ModelSetupTime", **props)

    def metric_memory_utilization(self, **props: Any) -> cloudwatch.Metric:
        """Share of the configured memory in use (Average, percent)."""
        return self.metric("MemoryUtilization", **props)
