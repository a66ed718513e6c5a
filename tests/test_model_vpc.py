"""The model in a VPC: subnets, security group, network-interface permissions, S3 endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ZONES = ["eu-west-1a", "eu-west-1b"]
PRIVATE = ["subnet-0000000000000000a", "subnet-0000000000000000b"]
PUBLIC = ["subnet-0000000000000000c", "subnet-0000000000000000d"]
VPC_ID = "vpc-00000000000000001"
ARCHIVE = "s3://models-bucket/pegasus/model.tar.gz"
DESCRIBE = [
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
]


def _stack(name: str = "VpcModel") -> Any:
    import aws_cdk as cdk

    from tests.conftest import construct_app

    env = cdk.Environment(account="123456789012", region="eu-west-1")
    return cdk.Stack(construct_app(), name, env=env)


def _vpc(stack: Any, *, private: list[str] = PRIVATE, zones: list[str] = ZONES) -> Any:
    from aws_cdk import aws_ec2 as ec2

    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id=VPC_ID,
        availability_zones=zones,
        private_subnet_ids=private or None,
        private_subnet_route_table_ids=[f"rtb-{i}" for i in range(len(private))] or None,
        public_subnet_ids=PUBLIC[: len(zones)],
    )


def _model(stack: Any, code_dir: Path, **options: Any) -> Any:
    from constructs_lib import DlcVersion, HuggingFaceModel, ModelSource

    options.setdefault("source", ModelSource.from_hub("google/pegasus-large", code_dir=code_dir))
    return HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        **options,
    )


@pytest.fixture(scope="module")
def vpc_model(code_dir: Path) -> Any:
    from aws_cdk.assertions import Template

    stack = _stack()
    model = _model(stack, code_dir, vpc=_vpc(stack))
    return Template.from_stack(stack), model, stack


def _statements(template: Any) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_model_runs_in_the_private_subnets_behind_its_own_group(vpc_model: Any) -> None:
    from aws_cdk.assertions import Capture

    template, model, stack = vpc_model
    groups = Capture()
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"VpcConfig": {"Subnets": PRIVATE, "SecurityGroupIds": groups}}
    )
    (group,) = model.security_groups
    assert groups.as_array() == [stack.resolve(group.security_group_id)]
    assert model.connections is not None


def test_the_created_security_group_has_no_ingress_and_only_https_out(vpc_model: Any) -> None:
    from aws_cdk.assertions import Match

    template, _, _ = vpc_model
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "VpcId": VPC_ID,
            "SecurityGroupIngress": Match.absent(),
            "SecurityGroupEgress": [
                {
                    "CidrIp": "0.0.0.0/0",
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "Description": "HTTPS to S3 and the Hub",
                }
            ],
        },
    )


def test_network_interface_permissions_are_limited_to_the_vpc(vpc_model: Any) -> None:
    template, _, _ = vpc_model
    arn = "arn:aws:ec2:eu-west-1:123456789012"
    in_vpc = {"ArnEquals": {"ec2:Vpc": f"{arn}:vpc/{VPC_ID}"}}
    ec2 = [
        (s["Action"], s["Resource"], s.get("Condition"))
        for s in _statements(template)
        if "ec2:" in str(s["Action"]) and "ec2:DescribeVpcs" not in s["Action"]
    ]
    assert sorted(ec2, key=str) == sorted(
        [
            (
                [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                f"{arn}:network-interface/*",
                in_vpc,
            ),
            # The new interface carries no ec2:Vpc key to match: its subnet and group do.
            ("ec2:CreateNetworkInterface", f"{arn}:network-interface/*", None),
            (
                "ec2:CreateNetworkInterface",
                [f"{arn}:security-group/*", f"{arn}:subnet/*"],
                in_vpc,
            ),
        ],
        key=str,
    )


def test_only_the_describe_actions_are_on_every_resource(vpc_model: Any) -> None:
    template, _, _ = vpc_model
    (unscoped,) = [s for s in _statements(template) if "ec2:DescribeVpcs" in s["Action"]]
    # Merged with the other "*" action of the role, which has no resource-level permissions either.
    assert sorted(unscoped["Action"]) == sorted([*DESCRIBE, "ecr:GetAuthorizationToken"])
    assert unscoped["Resource"] == "*"
    assert "Condition" not in unscoped


def test_no_vpc_endpoint_unless_asked(vpc_model: Any) -> None:
    template, model, _ = vpc_model
    template.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    assert model.s3_endpoint is None


def test_a_model_outside_a_vpc_has_no_network_settings(code_dir: Path) -> None:
    from aws_cdk.assertions import Match, Template

    stack = _stack("NoVpc")
    model = _model(stack, code_dir)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::Model", {"VpcConfig": Match.absent()})
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    assert not [s for s in _statements(template) if str(s["Action"]).startswith("['ec2:")]
    assert model.connections is None


def test_given_security_groups_are_used_and_none_is_created(code_dir: Path) -> None:
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk.assertions import Template

    stack = _stack("OwnGroups")
    group = ec2.SecurityGroup.from_security_group_id(stack, "Group", "sg-0123456789abcdef0")
    _model(stack, code_dir, vpc=_vpc(stack), security_groups=[group])
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"]}}
    )


@pytest.fixture(scope="module")
def endpoints(code_dir: Path) -> Any:
    from aws_cdk.assertions import Template

    from constructs_lib import ModelSource

    stack = _stack("Endpoints")
    model = _model(
        stack,
        code_dir,
        source=ModelSource.from_s3(ARCHIVE),
        vpc=_vpc(stack),
        create_vpc_endpoints=True,
    )
    return Template.from_stack(stack), model, stack


def test_the_s3_gateway_endpoint_admits_only_the_role_to_the_model_archive(
    endpoints: Any,
) -> None:
    template, model, stack = endpoints
    ((_, endpoint),) = template.find_resources("AWS::EC2::VPCEndpoint").items()
    properties = endpoint["Properties"]
    assert properties["VpcEndpointType"] == "Gateway"
    assert properties["VpcId"] == VPC_ID
    # The route tables of the model's private subnets, not the public ones.
    assert properties["RouteTableIds"] == ["rtb-0", "rtb-1"]
    assert properties["PolicyDocument"]["Statement"] == [
        {
            "Action": "s3:GetObject",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": stack.resolve(model.role.role_arn)}},
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Resource": {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":s3:::models-bucket/pegasus/model.tar.gz"],
                ]
            },
        }
    ]


def test_allow_s3_through_endpoint_is_a_no_op_without_one(vpc_model: Any) -> None:
    _, model, _ = vpc_model
    model.allow_s3_through_endpoint(["s3:GetObject"], ["arn:aws:s3:::other/*"])
    assert model.s3_endpoint is None


# --- refused network settings -------------------------------------------------------------------


def _problems(code_dir: Path, name: str, vpc_options: dict[str, Any] | None, **options: Any) -> Any:
    from constructs_lib import ConfigurationError

    stack = _stack(name)
    if vpc_options is not None:
        options["vpc"] = _vpc(stack, **vpc_options)
    with pytest.raises(ConfigurationError) as raised:
        _model(stack, code_dir, **options)
    return raised.value.problems


def test_network_settings_without_a_vpc_are_refused_together(code_dir: Path) -> None:
    from aws_cdk import aws_ec2 as ec2

    problems = _problems(
        code_dir,
        "NoVpcSettings",
        None,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        create_vpc_endpoints=True,
    )
    assert [p.split(" (got")[0] for p in problems] == [
        "vpc_subnets: only applies with a vpc",
        "create_vpc_endpoints: only applies with a vpc",
    ]
    assert problems[1] == "create_vpc_endpoints: only applies with a vpc (got True)"


def test_a_vpc_without_private_subnets_is_refused(code_dir: Path) -> None:
    assert _problems(code_dir, "PublicOnly", {"private": []}) == (
        "vpc: the model's subnets must be private (with egress or isolated); the selection "
        "holds public subnets, because the VPC has no private ones",
    )


def test_public_subnets_are_refused_when_selected(code_dir: Path) -> None:
    from aws_cdk import aws_ec2 as ec2

    problems = _problems(
        code_dir,
        "PublicSelected",
        {},
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
    )
    assert problems == (
        "vpc_subnets: the model's subnets must be private (with egress or isolated); the "
        "selection holds public subnets",
    )


def test_subnets_in_one_availability_zone_are_refused(code_dir: Path) -> None:
    problems = _problems(code_dir, "OneZone", {"zones": ["eu-west-1a"], "private": PRIVATE})
    assert problems == (
        "vpc: the subnets must span at least two availability zones, as SageMaker requires "
        "(got ['eu-west-1a'])",
    )


def test_one_subnet_is_refused(code_dir: Path) -> None:
    problems = _problems(code_dir, "OneSubnet", {"zones": ["eu-west-1a"], "private": PRIVATE[:1]})
    assert problems == (
        "vpc: SageMaker needs 2 to 16 subnets in at least two availability zones (got 1 subnet)",
    )


def test_more_than_five_security_groups_are_refused(code_dir: Path) -> None:
    from aws_cdk import aws_ec2 as ec2

    stack = _stack("SixGroups")
    groups = [
        ec2.SecurityGroup.from_security_group_id(stack, f"G{i}", f"sg-0000000000000000{i}")
        for i in range(6)
    ]
    from constructs_lib import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        _model(stack, code_dir, vpc=_vpc(stack), security_groups=groups)
    assert raised.value.problems == (
        "security_groups: SageMaker takes 1 to 5 security groups (got 6)",
    )


def test_a_selection_the_vpc_cannot_satisfy_is_a_configuration_error(code_dir: Path) -> None:
    from aws_cdk import aws_ec2 as ec2

    problems = _problems(
        code_dir,
        "NoIsolated",
        {},
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "vpc_subnets: There are no 'Isolated' subnet groups in this VPC. Available types: "
    )
