"""The data path's Lambda functions: shared asset, Powertools layer, own role and encrypted logs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import _values as cdk_values
from .._nag import acknowledge, acknowledge_control, checkov_skips
from .settings import DataPathVpc

# The Lambda asset is this folder with everything but runtime/ left out, so handlers are
# "runtime.<module>.handler" and the CDK constructs next to it never ship.
ASSET_DIR = Path(__file__).resolve().parent
ASSET_EXCLUDE = ["*", "!runtime", "!runtime/**", "**/__pycache__", "**/*.pyc"]

RUNTIME = lambda_.Runtime.PYTHON_3_12
# The library version the runtime code is tested with (requirements-dev.txt pins the same).
POWERTOOLS_VERSION = "3.37.0"


def _quiet_redundant_depends_on(resource: object) -> None:
    """Tell cfn-lint that the function's DependsOn on its role (W3005) is aws-cdk-lib's.

    ``lambda.Function`` both ``GetAtt``s its role and depends on it; the suppression is scoped
    to that one resource and rule.
    """
    if isinstance(resource, CfnResource):
        resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def quiet_bucket_notifications_handler(scope: Construct) -> None:
    """cfn-lint and cdk-nag findings of aws-cdk-lib's stack-wide S3 notifications handler."""
    # aws-cdk-lib's singleton id for it (a constant); looking it up beats walking the stack.
    child = Stack.of(scope).node.try_find_child(NOTIFICATIONS_HANDLER_ID)
    if child is None:
        return
    _quiet_redundant_depends_on(child.node.default_child)
    acknowledge(
        child,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "aws-cdk-lib's own S3 notifications handler runs only during deployments to put "
        "the bucket's notification configuration; the managed policy lets it write "
        "its logs and nothing else.",
    )
    acknowledge_control(
        child,
        "lambda_inside_vpc_check",
        "aws-cdk-lib's S3 notifications handler calls only S3's public API, during deployments.",
    )
    checkov_skips(
        child,
        {
            "CKV_AWS_115": "aws-cdk-lib's handler runs once per deployment; no cap needed.",
            "CKV_AWS_116": "CloudFormation invokes aws-cdk-lib's handler and retries it.",
            "CKV_AWS_117": "aws-cdk-lib's handler calls only S3's public API; no VPC.",
        },
    )


def powertools_layer_parameter(architecture: lambda_.Architecture) -> str:
    """The public SSM parameter holding the Powertools layer ARN for this architecture.

    Powertools for AWS Lambda (Python) publishes, in every region it serves, one parameter per
    release, ``/aws/service/powertools/python/<arch>/python<x.y>/<version>``, whose value is
    that region's layer ARN (account 017000801446, the region's own layer version number).
    CloudFormation resolves it at deploy time, so the synthesized template stays region-agnostic
    and never hard-codes a layer version that differs between regions.
    """
    arch = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"/aws/service/powertools/python/{arch}/python3.12/{POWERTOOLS_VERSION}"


def powertools_layer(
    scope: Construct, architecture: lambda_.Architecture, layer_arn: str | None = None
) -> lambda_.ILayerVersion:
    """Powertools' public layer: ``layer_arn`` if given, else the ARN from its SSM parameter."""
    arn = layer_arn or ssm.StringParameter.value_for_string_parameter(
        scope, powertools_layer_parameter(architecture)
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


class DataPathFunction(Construct):
    """A Python 3.12 Lambda function of the data path, with its own role and log group.

    The role starts empty apart from writing to its own log group (no managed policy); callers
    grant the rest. The log group keeps ``log_retention`` and is encrypted with ``key``. With
    ``tracing`` the function sends X-Ray traces (and its role may put trace segments);
    without it Powertools' tracer is switched off. ``reserved_concurrency`` None reserves
    nothing. ``vpc`` [None: no VPC] puts the function's network interfaces in those subnets and
    security groups, and lets its role manage them (nothing else of EC2).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        timeout: Duration,
        memory_size: int,
        reserved_concurrency: int | None,
        architecture: lambda_.Architecture,
        tracing: bool,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        vpc: DataPathVpc | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the data path's {construct_id.lower()}",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            encryption_key=key,
            removal_policy=removal_policy,
        )
        # Written here instead of AWSLambdaBasicExecutionRole: only this function's log group.
        # Lambda creates the group's streams itself; the group exists before the function.
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resource_arns=[self.log_group.log_group_arn],
        )
        env = {**environment, "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true"}
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=architecture,
            handler=handler,
            code=lambda_.Code.from_asset(str(ASSET_DIR), exclude=ASSET_EXCLUDE),
            layers=[layer],
            role=self.role,
            environment=env,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE if tracing else None,
            log_group=self.log_group,
        )
        outside_vpc: dict[str, str] = {}
        if vpc is None:
            acknowledge_control(
                self.function,
                "lambda_inside_vpc_check",
                "Outside a VPC unless data_path.vpc is set: the function calls only AWS APIs (S3, "
                "SQS, DynamoDB, SageMaker runtime) over TLS with IAM.",
            )
            outside_vpc["CKV_AWS_117"] = "Outside a VPC unless data_path.vpc is set."
        else:
            self._place_in(vpc)
        unreserved = (
            {
                "CKV_AWS_115": (
                    "No reservation by default: a new account (concurrency limit 10) can reserve "
                    "none; the SQS event source's maximum concurrency caps the function instead."
                )
            }
            if reserved_concurrency is None
            else {}
        )
        checkov_skips(
            self.function,
            {
                **unreserved,
                **outside_vpc,
                "CKV_AWS_116": (
                    "Invoked by an SQS event source: failed messages go to the queue's own DLQ."
                ),
                "CKV_AWS_173": (
                    "The environment holds names and limits only, no secrets; Lambda encrypts it."
                ),
            },
        )
        _quiet_redundant_depends_on(self.function.node.default_child)
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The data path contract pins Python 3.12, the runtime its handlers and the Powertools "
            "layer they load are built and tested for; move together with the contract.",
        )
        if tracing or vpc is not None:
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Actions without resource-level permissions, added only when needed: "
                "xray:PutTraceSegments and xray:PutTelemetryRecords with tracing, "
                "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets in a VPC.",
            )

    def _place_in(self, vpc: DataPathVpc) -> None:
        """VpcConfig, and what Lambda does with the role to manage the network interfaces.

        Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC",
        execution role permissions (those of AWSLambdaVPCAccessExecutionRole, scoped here):
        ec2:CreateNetworkInterface in these subnets and security groups;
        ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and
        ec2:UnassignPrivateIpAddresses on this account's and region's interfaces;
        ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets, which only work on "*".
        """
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)
        )
        ec2 = f"arn:{cdk_values.PARTITION}:ec2:{cdk_values.REGION}:{cdk_values.ACCOUNT_ID}"
        interfaces = f"{ec2}:network-interface/*"
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["ec2:CreateNetworkInterface"],
            resource_arns=[
                interfaces,
                *(f"{ec2}:subnet/{subnet}" for subnet in vpc.subnet_ids),
                *(f"{ec2}:security-group/{group}" for group in vpc.security_group_ids),
            ],
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resource_arns=[interfaces],
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resource_arns=["*"],
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            "Lambda creates and deletes the function's network interfaces, whose ids it "
            "chooses, in this account and region only.",
        )
