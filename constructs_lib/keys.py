"""Customer-managed KMS keys as every construct of this library makes them.

One factory, so that every key gets the same protections: yearly rotation, a short deletion
window where the data is meant to be destroyed, and a key-policy statement that lets only AWS
services create grants (AWS Control Tower proactive control CT.KMS.PR.3). Services such as
SageMaker (the endpoint's volume key) and DynamoDB create grants for AWS resources, which the
statement allows; a person or workload with ``kms:*`` through the account root cannot hand out
standing grants on the key.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import _values as cdk_values


def deny_grants_except_for_aws_services() -> iam.PolicyStatement:
    """The key-policy statement of CT.KMS.PR.3: CreateGrant only for or by AWS services."""
    return iam.PolicyStatement(
        sid="AllowGrantsOnlyForAwsResources",
        effect=iam.Effect.DENY,
        principals=[cdk_values.any_principal()],
        actions=["kms:CreateGrant"],
        resources=["*"],
        conditions={
            "BoolIfExists": {
                "kms:GrantIsForAWSResource": "false",
                "aws:PrincipalIsAWSService": "false",
            }
        },
    )


def customer_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> kms.Key:
    """A rotated customer-managed key; with ``DESTROY`` it is scheduled for deletion in 7 days.

    Default ``removal_policy``: ``RETAIN`` (data encrypted under a deleted key is lost for good).
    """
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
        pending_window=cdk_values.days(7) if removal_policy == RemovalPolicy.DESTROY else None,
    )
    key.add_to_resource_policy(deny_grants_except_for_aws_services())
    return key
