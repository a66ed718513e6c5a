"""cdk-nag acknowledgements, each naming the one finding it covers and why.

Acknowledgements are construct metadata in aws-cdk-lib itself (``Validations``), so the library
does not depend on cdk-nag; the tests run the AwsSolutions pack over the whole app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from weakref import WeakKeyDictionary

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Validations
from constructs import IConstruct

# Every jsii call is a round trip to the CDK's Node process (0.3 to 1 ms). A construct is
# acknowledged on, and its ARN placeholder asked for, several times: each is fetched once.
_VALIDATIONS: WeakKeyDictionary[IConstruct, Validations] = WeakKeyDictionary()
_PLACEHOLDERS: WeakKeyDictionary[IConstruct, str] = WeakKeyDictionary()


def _validations(scope: IConstruct) -> Validations:
    found = _VALIDATIONS.get(scope)
    if found is None:
        found = _VALIDATIONS[scope] = Validations.of(scope)
    return found


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``'s subtree."""
    acknowledge_all(scope, findings={finding: reason})


def acknowledge_all(
    scope: IConstruct,
    *,
    controls: Mapping[str, str] | None = None,
    findings: Mapping[str, str] | None = None,
) -> None:
    """Acknowledge Control Tower ``controls`` (rule -> reason, as ``acknowledge_control``), then
    cdk-nag ``findings`` (finding -> reason, as ``acknowledge``) on ``scope``'s subtree.

    One jsii round trip for all of them, where each of those functions makes one per finding.
    """
    acknowledgments = [
        Acknowledgment(id=f"cdk-validator-cfnguard::{rule}", reason=reason)
        for rule, reason in (controls or {}).items()
    ] + [
        Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason)
        for finding, reason in (findings or {}).items()
    ]
    if acknowledgments:
        _validations(scope).acknowledge(*acknowledgments)


def arn_placeholder(element: IConstruct) -> str:
    """How cdk-nag prints ``GetAtt <element>.Arn`` in a finding: ``<LogicalId.Arn>``."""
    placeholder = _PLACEHOLDERS.get(element)
    if placeholder is None:
        cfn = element.node.default_child if not isinstance(element, CfnElement) else element
        if not isinstance(cfn, CfnElement):
            raise TypeError(f"{element.node.path} has no CloudFormation element")
        placeholder = _PLACEHOLDERS[element] = f"<{Stack.of(element).resolve(cfn.logical_id)}.Arn>"
    return placeholder


def checkov_skip(resource: IConstruct, check_id: str, reason: str) -> None:
    """Suppress one checkov check on ``resource``'s CloudFormation resource, with the reason."""
    checkov_skips(resource, {check_id: reason})


def checkov_skips(resource: IConstruct, reasons: Mapping[str, str]) -> None:
    """Suppress checkov checks (id -> reason) on ``resource``'s CloudFormation resource.

    checkov reads ``Metadata.checkov.skip`` of each resource; entries are added to what is there
    (in one metadata write, not one per check).
    """
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    metadata = cfn.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s.get("id") not in reasons]
    skips += [{"id": check_id, "comment": reason} for check_id, reason in reasons.items()]
    cfn.add_metadata("checkov", {**metadata, "skip": skips})


def acknowledge_control(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AWS Control Tower proactive control (cfn-guard rule) on ``scope``'s subtree.

    ``rule`` is the rule name the cfn-guard validator reports, e.g.
    ``s3_bucket_logging_enabled_check`` (CT.S3.PR.2).
    """
    acknowledge_all(scope, controls={rule: reason})


def nag_resource(scope: IConstruct, value: str) -> str:
    """``value`` (a string with tokens) spelled as cdk-nag prints it in an IAM5 finding.

    ``Ref`` becomes ``<Name>``, ``GetAtt`` becomes ``<Resource.Attribute>`` and literals stay, so
    an acknowledgement matches whether the stack is environment-agnostic (``<AWS::AccountId>``)
    or pinned to an account and region (the literal values).
    """
    (spelled,) = nag_resources(scope, [value])
    return spelled


def nag_resources(scope: IConstruct, values: Sequence[str]) -> list[str]:
    """Each of ``values`` spelled as ``nag_resource`` does, resolved in one jsii round trip
    (none more for ``Stack.of`` when ``scope`` is the stack)."""

    def spell(part: object) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and "Ref" in part:
            return f"<{part['Ref']}>"
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            resource, attribute = part["Fn::GetAtt"]
            return f"<{resource}.{attribute}>"
        if isinstance(part, dict) and "Fn::Join" in part:
            separator, parts = part["Fn::Join"]
            return str(separator).join(spell(p) for p in parts)
        raise ValueError(f"cannot spell {part!r} as cdk-nag does")

    stack = scope if isinstance(scope, Stack) else Stack.of(scope)
    return [spell(part) for part in stack.resolve(list(values))]
