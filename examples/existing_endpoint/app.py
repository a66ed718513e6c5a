#!/usr/bin/env python3
"""Scale and monitor an asynchronous endpoint that another team (or the console) created.

Nothing of the endpoint is created here: the app adds the scale-to-zero policies, the dashboard
and the alarms to it by name, grants a submitting role what it needs on the team's data lake
bucket and key, and applies the organization's guardrails to every role it makes.

From a clone of this repository (in your own project, constructs_lib is pip-installed instead):

    PYTHONPATH=. node_modules/.bin/cdk synth \
        --app ".venv/bin/python examples/existing_endpoint/app.py" \
        -c endpoint_name=research-summarizer -c bucket=research-data-lake -c key_arn=arn:aws:kms:...
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import (
    AsyncEndpoint,
    AsyncEndpointMonitoring,
    AsyncEndpointScaling,
    MonitoringSettings,
    ScalingSettings,
    apply_org_guardrails,
)

DEFAULTS = {
    "endpoint_name": "research-summarizer",
    "bucket": "research-data-lake",
    "key_arn": "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    "alarm_email": "oncall@example.com",
}


class ExistingEndpointOperations(cdk.Stack):
    """Scaling, dashboard, alarms and a submitter role for an endpoint created elsewhere."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: dict[str, str]) -> None:
        super().__init__(scope, construct_id)
        endpoint = AsyncEndpoint.from_endpoint_attributes(
            self,
            "Endpoint",
            endpoint_name=settings["endpoint_name"],
            bucket=s3.Bucket.from_bucket_name(self, "Lake", settings["bucket"]),
            key=kms.Key.from_key_arn(self, "LakeKey", settings["key_arn"]),
            input_prefix="summarizer/in/",
            output_prefixes=("summarizer/out/", "summarizer/failed/"),
        )
        AsyncEndpointScaling(
            self, "Scaling", endpoint=endpoint, settings=ScalingSettings(max_capacity=3)
        )
        AsyncEndpointMonitoring(
            self,
            "Monitoring",
            endpoint=endpoint,
            settings=MonitoringSettings(alarm_emails=(settings["alarm_email"],)),
        )
        submitter = iam.Role(
            self,
            "Submitter",
            assumed_by=iam.AccountRootPrincipal(),
            description="Submits articles to the research summarizer",
        )
        endpoint.grant_invoke_async(submitter)


BOUNDARY = "arn:aws:iam::123456789012:policy/workload-boundary"


def build(app: cdk.App) -> ExistingEndpointOperations:
    """The example stack in ``app``, settings from ``-c`` context (or the defaults above)."""
    settings = {key: str(app.node.try_get_context(key) or value) for key, value in DEFAULTS.items()}
    stack = ExistingEndpointOperations(app, "ExistingEndpointOperations", settings=settings)
    apply_org_guardrails(
        stack, permissions_boundary_arn=BOUNDARY, role_path="/workloads/", tags={"team": "research"}
    )
    return stack


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
