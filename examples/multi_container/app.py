#!/usr/bin/env python3
"""An English and a German model behind one multi-container endpoint (direct invocation).

The multi-container article's first use case: two models that serve different geographies at
different times share one instance fleet instead of two endpoints running around the clock.
Each application gets a role that may invoke only its own container (the
``sagemaker:TargetContainerHostname`` condition), and the dashboard shows invocations, latency
and errors per container.

Invoke with ``TargetContainerHostname="englishModel"`` (or ``"germanModel"``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import DlcVersion, ModelSource
from constructs_lib.hosting import (
    ContainerSpec,
    MultiContainerEndpoint,
    MultiContainerModel,
    RealtimeScaling,
    RealtimeScalingSettings,
)

DLC = DlcVersion(transformers="4.51.3", pytorch="2.6.0")
INSTANCE_TYPE = "ml.m5.xlarge"


class SentimentStack(cdk.Stack):
    """Both models, the endpoint, one caller role per language, scaling and a dashboard."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        model = MultiContainerModel(
            self,
            "Models",
            instance_type=INSTANCE_TYPE,
            mode="Direct",
            containers=[
                ContainerSpec(
                    hostname="englishModel",
                    dlc_version=DLC,
                    source=ModelSource.from_hub(
                        "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
                    ),
                    task="text-classification",
                ),
                ContainerSpec(
                    hostname="germanModel",
                    dlc_version=DLC,
                    source=ModelSource.from_hub("oliverguhr/german-sentiment-bert"),
                    task="text-classification",
                ),
            ],
        )
        self.endpoint = MultiContainerEndpoint(
            self, "Endpoint", model=model, instance_type=INSTANCE_TYPE, initial_instance_count=2
        )
        for language, hostname in (("English", "englishModel"), ("German", "germanModel")):
            role = iam.Role(
                self,
                f"{language}App",
                assumed_by=iam.AccountRootPrincipal(),
                description=f"The {language} application: may invoke {hostname} only",
            )
            self.endpoint.grant_invoke(role, container_hostnames=[hostname])
        # The article's policy: 70 invocations per instance per minute, 1 to 4 instances.
        RealtimeScaling(
            self,
            "Scaling",
            endpoint=self.endpoint,
            settings=RealtimeScalingSettings(
                min_capacity=1,
                max_capacity=4,
                invocations_per_instance_target=70,
                scale_in_cooldown_seconds=300,
                scale_out_cooldown_seconds=60,
            ),
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(*self.endpoint.container_widgets())
        cdk.CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)


def build(app: cdk.App) -> cdk.Stack:
    """The example's one stack in ``app``."""
    return SentimentStack(app, "MultiContainerSentiment")


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
