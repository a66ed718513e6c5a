#!/usr/bin/env python3
"""A serial inference pipeline: clean the article, summarize it, redact the summary.

Three containers on the same instances, called in order by SageMaker for every request: the
pre-processing and post-processing steps have their own code archives (and could have their own
images and dependencies), so a change to a business rule redeploys neither the model nor its
container. ``docs/hosting.md`` explains how this differs from a multi-container endpoint in
serial mode.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import DlcVersion, ModelSource
from constructs_lib.hosting import (
    ContainerSpec,
    InferencePipeline,
    RealtimeEndpoint,
    RealtimeScaling,
    RealtimeScalingSettings,
)

HERE = Path(__file__).resolve().parent
MODEL_CODE = HERE.parent.parent / "model_code"
DLC = DlcVersion(transformers="4.51.3", pytorch="2.6.0")
INSTANCE_TYPE = "ml.g5.xlarge"


class SummarizationPipelineStack(cdk.Stack):
    """The pipeline model, a real-time endpoint for it, its scaling and a caller role."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        pipeline = InferencePipeline(
            self,
            "Pipeline",
            instance_type=INSTANCE_TYPE,
            pre_processing=[
                ContainerSpec(
                    hostname="clean",
                    dlc_version=DLC,
                    source=ModelSource.from_local(HERE / "pre_processing"),
                    task=None,
                )
            ],
            model=ContainerSpec(
                hostname="summarize",
                dlc_version=DLC,
                source=ModelSource.from_hub("google/pegasus-large", code_dir=MODEL_CODE),
            ),
            post_processing=[
                ContainerSpec(
                    hostname="redact",
                    dlc_version=DLC,
                    source=ModelSource.from_local(HERE / "post_processing"),
                    task=None,
                )
            ],
        )
        self.endpoint = RealtimeEndpoint(
            self, "Endpoint", model=pipeline, instance_type=INSTANCE_TYPE
        )
        RealtimeScaling(
            self,
            "Scaling",
            endpoint=self.endpoint,
            settings=RealtimeScalingSettings(min_capacity=1, max_capacity=2),
        )
        caller = iam.Role(self, "Caller", assumed_by=iam.AccountRootPrincipal())
        self.endpoint.grant_invoke(caller)
        cdk.CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)


def build(app: cdk.App) -> cdk.Stack:
    """The example's one stack in ``app``."""
    return SummarizationPipelineStack(app, "SummarizationPipeline")


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
