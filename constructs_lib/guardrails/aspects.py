"""Organization guardrails for every IAM role in a scope: permissions boundary, path, name prefix.

Enterprise accounts often require, through service control policies, that every role carries a
permissions boundary, lives under a path, or has a name that starts with a prefix. CDK makes roles
in two shapes: ``iam.Role`` (``AWS::IAM::Role`` through ``CfnRole``) and the roles of CDK's own
custom-resource providers (for example the S3 auto-delete provider), which are plain
``CfnResource`` objects of type ``AWS::IAM::Role``. ``OrgGuardrails`` is an aspect that reaches
both, so a platform team applies it once to its app, its stage or one of our constructs::

    Aspects.of(app).add(OrgGuardrails(permissions_boundary_arn=..., role_path="/workloads/"))

Tags are ordinary CDK tags (``Tags.of(scope).add``); ``apply_org_guardrails`` does both.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping

import jsii
from aws_cdk import (
    Annotations,
    AspectPriority,
    Aspects,
    CfnResource,
    IAspect,
    Names,
    Stack,
    Tags,
)
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from constructs_lib._validation import raise_if_problems
from constructs_lib.guardrails.settings import (
    ROLE_NAME_LIMIT,
    GuardrailSettings,
    guardrail_problems,
)


def prefixed_role_name(prefix: str, role: IConstruct) -> str:
    """``prefix`` + a name unique to ``role``'s path, within IAM's 64-character limit.

    Derived from the construct path, not random, so synthesis stays deterministic.
    """
    unique = Names.unique_id(role)
    digest = hashlib.sha256(role.node.path.encode()).hexdigest()[:8]
    room = ROLE_NAME_LIMIT - len(prefix) - len(digest) - 1
    return f"{prefix}{unique[: max(room, 0)]}-{digest}"


@jsii.implements(IAspect)
class OrgGuardrails:
    """An aspect that puts a permissions boundary, a path and a name prefix on every IAM role.

    A role name prefix gives every unnamed role a physical name (``prefix`` + a deterministic
    unique suffix); changing it later replaces the roles. A role already named without the
    prefix keeps its name, with a synthesis warning. Invalid settings raise
    ``ConfigurationError`` listing every problem.

    Args:
        permissions_boundary_arn: the managed policy set as every role's permissions boundary.
            Default: ``None`` (left as CDK makes it).
        role_path: the path of every role, e.g. ``/workloads/summarizer/``; a role's ARN
            includes it. Default: ``None`` (left as CDK makes it: ``/``).
        role_name_prefix: the prefix of every role's physical name. Default: ``None`` (left as
            CDK makes it: unnamed roles stay unnamed).
    """

    def __init__(
        self,
        *,
        permissions_boundary_arn: str | None = None,
        role_path: str | None = None,
        role_name_prefix: str | None = None,
    ) -> None:
        raise_if_problems(
            "OrgGuardrails",
            guardrail_problems(
                permissions_boundary_arn=permissions_boundary_arn,
                role_path=role_path,
                role_name_prefix=role_name_prefix,
            ),
        )
        self.permissions_boundary_arn = permissions_boundary_arn
        self.role_path = role_path
        self.role_name_prefix = role_name_prefix

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnRole):
            if self.permissions_boundary_arn:
                node.permissions_boundary = self.permissions_boundary_arn
            if self.role_path:
                node.path = self.role_path
            # iam.Role leaves an unnamed role's name as a lazy token that resolves to nothing.
            if self.role_name_prefix:
                name = Stack.of(node).resolve(node.role_name)
                if name is None:
                    node.role_name = prefixed_role_name(self.role_name_prefix, node)
                elif isinstance(name, str) and not name.startswith(self.role_name_prefix):
                    # A name chosen by its author is kept; say that the organization may refuse it.
                    Annotations.of(node).add_warning_v2(
                        "pegasus:role-name-outside-prefix",
                        f"role name {name!r} does not start with the guardrail prefix "
                        f"{self.role_name_prefix!r}: a service control policy that requires the "
                        "prefix refuses it. Name it with the prefix, or leave it unnamed.",
                    )
        elif isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::IAM::Role":
            # CDK's custom-resource provider roles: not CfnRole, so set the properties directly.
            if self.permissions_boundary_arn:
                node.add_property_override("PermissionsBoundary", self.permissions_boundary_arn)
            if self.role_path:
                node.add_property_override("Path", self.role_path)
            if self.role_name_prefix:
                node.add_property_override(
                    "RoleName", prefixed_role_name(self.role_name_prefix, node)
                )


def apply_org_guardrails(
    scope: IConstruct,
    *,
    permissions_boundary_arn: str | None = None,
    role_path: str | None = None,
    role_name_prefix: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Apply ``OrgGuardrails`` and ``tags`` to every resource under ``scope`` (an app, a
    stage, a stack or one construct; aspects stop at a ``Stage``, so apply them to each stage's
    stacks too).

    Args:
        permissions_boundary_arn: as ``OrgGuardrails``. Default: ``None`` (no boundary).
        role_path: as ``OrgGuardrails``. Default: ``None`` (no path).
        role_name_prefix: as ``OrgGuardrails``. Default: ``None`` (no prefix).
        tags: tags put on every taggable resource. Default: ``None`` (no tags).
    """
    raise_if_problems("apply_org_guardrails", guardrail_problems(tags=tags))
    if permissions_boundary_arn or role_path or role_name_prefix:
        Aspects.of(scope).add(
            OrgGuardrails(
                permissions_boundary_arn=permissions_boundary_arn,
                role_path=role_path,
                role_name_prefix=role_name_prefix,
            ),
            # It changes resources: run it with the mutating aspects, before any validation.
            priority=AspectPriority.MUTATING,
        )
    for key, value in (tags or {}).items():
        Tags.of(scope).add(key, value)


def apply_guardrail_settings(scope: IConstruct, settings: GuardrailSettings) -> None:
    """``apply_org_guardrails`` with an environment's ``guardrails`` section.

    Args:
        settings: the boundary, role path, role name prefix and tags (``GuardrailSettings``).
    """
    apply_org_guardrails(scope, **dataclasses.asdict(settings))
