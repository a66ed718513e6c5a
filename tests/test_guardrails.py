"""Organization guardrails: every role, CDK's own custom-resource roles included, is governed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import construct_app, endpoint_in

BOUNDARY = "arn:aws:iam::123456789012:policy/workload-boundary"
PREFIX = "acme-"


@pytest.fixture(scope="module")
def governed(code_dir: Path) -> Any:
    from aws_cdk import RemovalPolicy, Stack
    from aws_cdk.assertions import Template

    from constructs_lib.guardrails import apply_org_guardrails
    from constructs_lib.storage import AsyncInferenceStorage

    app = construct_app()
    stack = Stack(app, "Governed")
    endpoint_in(stack, code_dir)
    # DESTROY adds CDK's auto-delete provider, whose role is a plain CfnResource.
    AsyncInferenceStorage(stack, "Scratch", removal_policy=RemovalPolicy.DESTROY)
    apply_org_guardrails(
        stack,
        permissions_boundary_arn=BOUNDARY,
        role_path="/workloads/summarizer/",
        role_name_prefix=PREFIX,
        tags={"cost-center": "research-42"},
    )
    return Template.from_stack(stack)


def test_every_role_gets_the_boundary_path_and_a_prefixed_name(governed: Any) -> None:
    roles = governed.find_resources("AWS::IAM::Role")
    kinds = {lid for lid in roles if "CustomResourceProvider" in lid}
    assert kinds, "the auto-delete provider's role must be among the governed roles"
    names = []
    for role in roles.values():
        properties = role["Properties"]
        assert properties["PermissionsBoundary"] == BOUNDARY
        assert properties["Path"] == "/workloads/summarizer/"
        assert properties["RoleName"].startswith(PREFIX)
        assert len(properties["RoleName"]) <= 64
        names.append(properties["RoleName"])
    assert len(set(names)) == len(names)


def test_tags_reach_taggable_resources(governed: Any) -> None:
    for bucket in governed.find_resources("AWS::S3::Bucket").values():
        assert {"Key": "cost-center", "Value": "research-42"} in bucket["Properties"]["Tags"]


def test_role_names_are_deterministic(code_dir: Path, governed: Any) -> None:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

    from constructs_lib.guardrails import apply_org_guardrails

    app = construct_app()
    stack = Stack(app, "Governed")
    endpoint_in(stack, code_dir)
    apply_org_guardrails(stack, role_name_prefix=PREFIX)
    again = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    first = governed.find_resources("AWS::IAM::Role")
    for logical_id, role in again.items():
        assert role["Properties"]["RoleName"] == first[logical_id]["Properties"]["RoleName"]


def test_a_role_named_outside_the_prefix_keeps_its_name_and_is_reported() -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Annotations, Match, Template

    from constructs_lib.guardrails import apply_org_guardrails

    stack = Stack(construct_app(), "Named")
    principal = iam.ServicePrincipal("codebuild.amazonaws.com")
    iam.Role(stack, "Legacy", role_name="legacy-runner", assumed_by=principal)
    iam.Role(stack, "Conforming", role_name=f"{PREFIX}runner", assumed_by=principal)
    apply_org_guardrails(stack, role_name_prefix=PREFIX, role_path="/workloads/")
    names = {
        role["Properties"]["RoleName"]
        for role in Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    }
    assert names == {"legacy-runner", f"{PREFIX}runner"}
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("guardrail prefix")
    )
    assert [w.entry.data for w in warnings] == [
        "role name 'legacy-runner' does not start with the guardrail prefix 'acme-': a service "
        "control policy that requires the prefix refuses it. Name it with the prefix, or leave it "
        "unnamed. [ack: pegasus:role-name-outside-prefix]"
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"permissions_boundary_arn": "boundary"},
            "permissions_boundary_arn: must be an IAM managed policy ARN like "
            "'arn:aws:iam::123456789012:policy/boundary' (got 'boundary')",
        ),
        (
            {"role_path": "workloads"},
            "role_path: must start and end with '/', printable ASCII without spaces, at most 512 "
            "characters, e.g. '/workloads/' (got 'workloads')",
        ),
        (
            {"role_name_prefix": "a" * 33},
            "role_name_prefix: must be 1 to 32 letters, digits or '+=,.@_-' (role names are at "
            f"most 64 characters and need room for a unique suffix) (got '{'a' * 33}')",
        ),
        (
            {"tags": {"aws:owner": "x"}},
            "tags: key 'aws:owner' must be 1 to 128 letters, digits, spaces or '+-=._:/@' and "
            "must not start with 'aws:'",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_value(settings: dict[str, Any], message: str) -> None:
    from constructs_lib.guardrails import guardrail_problems

    assert guardrail_problems(**settings) == [message]
