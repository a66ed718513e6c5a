#!/usr/bin/env python3
"""A multi-model endpoint: many summarizer variants from one S3 prefix, loaded on demand.

Archives are uploaded under ``models/`` of an encrypted bucket (each a ``model.tar.gz`` with the
weights and ``code/inference.py``, e.g. built by ``python -m constructs_lib.model.archive``).
A request names its archive: ``TargetModel="summarizer/news-v3.tar.gz"``. The first request for
an archive loads it (watch ``ModelLoadingWaitTime``); later ones hit the cache. A publisher
role (e.g. the training pipeline) adds models by upload, without a deployment; the caller role
may invoke only the ``summarizer/`` archives.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib import AsyncInferenceStorage, DlcVersion
from constructs_lib.hosting import MultiModelEndpoint, RealtimeScaling, RealtimeScalingSettings


class ManySummarizersStack(cdk.Stack):
    """Encrypted artifact bucket, the multi-model endpoint, publisher and caller roles."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # The async storage construct is reused for its KMS key, TLS-only policy, versioning and
        # access logs; models/ is outside its expiring prefixes.
        artifacts = AsyncInferenceStorage(self, "Artifacts")
        self.endpoint = MultiModelEndpoint(
            self,
            "Endpoint",
            artifacts_bucket=artifacts.bucket,
            artifacts_key=artifacts.key,
            artifacts_prefix="models/",
            dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
            instance_type="ml.c5.2xlarge",
        )
        publisher = iam.Role(
            self,
            "Publisher",
            assumed_by=iam.AccountRootPrincipal(),
            description="Uploads new model archives under models/",
        )
        self.endpoint.grant_add_models(publisher)
        caller = iam.Role(
            self,
            "Caller",
            assumed_by=iam.AccountRootPrincipal(),
            description="Invokes the summarizer/ models of the multi-model endpoint",
        )
        self.endpoint.grant_invoke(caller, target_models=["summarizer/*"])
        RealtimeScaling(
            self,
            "Scaling",
            endpoint=self.endpoint,
            settings=RealtimeScalingSettings(min_capacity=1, max_capacity=3),
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Model cache hit ratio",
                left=[self.endpoint.metric_model_cache_hit()],
            ),
            cloudwatch.GraphWidget(
                title="Loaded models (per instance) and load wait (µs)",
                left=[self.endpoint.metric_loaded_model_count()],
                right=[self.endpoint.metric_model_loading_wait_time()],
            ),
        )
        cdk.CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        cdk.CfnOutput(self, "ModelsLocation", value=self.endpoint.model_data_url)


def build(app: cdk.App) -> cdk.Stack:
    """The example's one stack in ``app``."""
    return ManySummarizersStack(app, "MultiModelSummarizers")


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
