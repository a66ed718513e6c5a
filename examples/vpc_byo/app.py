#!/usr/bin/env python3
"""Our asynchronous summarizer inside a platform team's VPC, on its data lake bucket and key.

The network (a VPC with two private subnets) and the data lake (a bucket encrypted with the
organization's KMS key) exist already and are imported, not created: the app creates the model
in those private subnets behind a security group of its own (no ingress, HTTPS out), an S3
gateway endpoint on the subnets' route tables (the VPC is the summarizer's own; the endpoint's
policy admits only the model's role to the model archive and the data lake), the endpoint with
its success and error topics, and applies the organization's permissions boundary and role
path to every role. Weights are staged in S3 (``make stage-model``), because a private subnet
without a NAT cannot reach the Hugging Face Hub; the container then needs no network of its own,
so it is network-isolated as well (the VPC is there because the organization requires every
model to have one, for example with an SCP on ``sagemaker:VpcSubnets``).

From a clone of this repository (in your own project, constructs_lib is pip-installed instead):

    PYTHONPATH=. node_modules/.bin/cdk synth \
        --app ".venv/bin/python examples/vpc_byo/app.py" -c bucket=research-data-lake
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import (
    AsyncEndpoint,
    AsyncInferenceStorage,
    AsyncNotifications,
    DlcVersion,
    HuggingFaceModel,
    ModelSource,
    apply_org_guardrails,
)

DEFAULTS = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "bucket": "research-data-lake",
    "key_arn": "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    "model_data_uri": "s3://research-data-lake/models/pegasus-large/model.tar.gz",
}
# The network team's private subnets and their route tables, one per availability zone.
PRIVATE_SUBNETS = {
    "eu-west-1a": ("subnet-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60001"),
    "eu-west-1b": ("subnet-0a1b2c3d4e5f60002", "rtb-0a1b2c3d4e5f60002"),
}
BOUNDARY = "arn:aws:iam::123456789012:policy/workload-boundary"


class PrivateSummarizer(cdk.Stack):
    """The summarizer's model, endpoint and topics in an existing VPC, on an existing bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: dict[str, str], **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=settings["vpc_id"],
            availability_zones=list(PRIVATE_SUBNETS),
            private_subnet_ids=[subnet for subnet, _ in PRIVATE_SUBNETS.values()],
            private_subnet_route_table_ids=[table for _, table in PRIVATE_SUBNETS.values()],
        )
        lake_key = kms.Key.from_key_arn(self, "LakeKey", settings["key_arn"])
        # Lifecycle, logging and deletion of the lake stay with its owner: no retention here.
        self.storage = AsyncInferenceStorage(
            self,
            "Storage",
            existing_bucket=s3.Bucket.from_bucket_name(self, "Lake", settings["bucket"]),
            existing_key=lake_key,
            input_prefix="summarizer/in/",
            output_prefix="summarizer/out/",
            failure_prefix="summarizer/failed/",
        )
        self.model = HuggingFaceModel(
            self,
            "Model",
            # A staged archive that already holds code/ (built from model_code/).
            source=ModelSource.from_s3(settings["model_data_uri"], key_arn=settings["key_arn"]),
            instance_type="ml.g5.xlarge",
            dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
            enable_network_isolation=True,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            create_vpc_endpoints=True,
        )
        self.endpoint = AsyncEndpoint(
            self,
            "Endpoint",
            model=self.model,
            storage=self.storage,
            notifications=AsyncNotifications(self, "Notifications"),
            instance_type="ml.g5.xlarge",
        )


def build(app: cdk.App) -> PrivateSummarizer:
    """The example stack in ``app``, settings from ``-c`` context (or the defaults above)."""
    settings = {key: str(app.node.try_get_context(key) or value) for key, value in DEFAULTS.items()}
    stack = PrivateSummarizer(app, "PrivateSummarizer", settings=settings)
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
