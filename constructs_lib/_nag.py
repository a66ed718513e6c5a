"""cdk-nag acknowledgements, each naming the one finding it covers and why.

Acknowledgements are construct metadata in aws-cdk-lib itself (``Validations``), so the library
does not depend on cdk-nag; the tests run the AwsSolutions pack over the whole app.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``'s subtree."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))


def arn_placeholder(element: IConstruct) -> str:
    """How cdk-nag prints ``GetAtt <element>.Arn`` in a finding: ``<LogicalId.Arn>``."""
    cfn = element.node.default_child if not isinstance(element, CfnElement) else element
    assert isinstance(cfn, CfnElement)
    return f"<{Stack.of(element).resolve(cfn.logical_id)}.Arn>"


def checkov_skip(resource: IConstruct, check_id: str, reason: str) -> None:
    """Suppress one checkov check on ``resource``'s CloudFormation resource, with the reason.

    checkov reads ``Metadata.checkov.skip`` of each resource; entries are added to what is there.
    """
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    assert isinstance(cfn, CfnResource), f"{resource.node.path} has no CloudFormation resource"
    metadata = cfn.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s.get("id") != check_id]
    skips.append({"id": check_id, "comment": reason})
    cfn.add_metadata("checkov", {**metadata, "skip": skips})


def acknowledge_control(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AWS Control Tower proactive control (cfn-guard rule) on ``scope``'s subtree.

    ``rule`` is the rule name the cfn-guard validator reports, e.g.
    ``s3_bucket_logging_enabled_check`` (CT.S3.PR.2).
    """
    Validations.of(scope).acknowledge(
        Acknowledgment(id=f"cdk-validator-cfnguard::{rule}", reason=reason)
    )
