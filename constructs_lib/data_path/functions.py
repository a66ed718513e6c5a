"""The data path's Lambda functions: shared asset, Powertools (layer or bundled), own role and
encrypted logs."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    CfnResource,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge, acknowledge_all, acknowledge_control, checkov_skips
from constructs_lib._validation import ConfigurationError
from constructs_lib.data_path.settings import POWERTOOLS_VERSION, DataPathVpc

# The Lambda asset is this folder with everything but runtime/ left out, so handlers are
# "runtime.<module>.handler" and the CDK constructs next to it never ship.
ASSET_DIR = Path(__file__).resolve().parent
ASSET_EXCLUDE = ["*", "!runtime", "!runtime/**", "**/__pycache__", "**/*.pyc"]

RUNTIME = lambda_.Runtime.PYTHON_3_12
POWERTOOLS_DISTRIBUTION = "aws-lambda-powertools"


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
    arch = architecture_name(architecture)
    return f"/aws/service/powertools/python/{arch}/python3.12/{POWERTOOLS_VERSION}"


def architecture_name(architecture: lambda_.Architecture) -> str:
    """``arm64`` or ``x86_64``, as Powertools names its layers and parameters."""
    return "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"


def powertools_layer(
    scope: Construct, architecture: lambda_.Architecture, layer_arn: str | None = None
) -> lambda_.ILayerVersion:
    """Powertools' public layer: ``layer_arn`` if given, else the ARN from its SSM parameter."""
    arn = layer_arn or ssm.StringParameter.value_for_string_parameter(
        scope, powertools_layer_parameter(architecture)
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


def _runtime_files() -> list[tuple[str, Path]]:
    """(path in the asset, file) of the runtime package, as ASSET_EXCLUDE ships it."""
    runtime = ASSET_DIR / "runtime"
    return [
        (path.relative_to(ASSET_DIR).as_posix(), path)
        for path in sorted(runtime.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def _distribution_files(name: str) -> list[tuple[str, Path]]:
    """(path in the asset, installed file) of a pure-Python distribution, as pip placed it."""
    from importlib import metadata

    distribution = metadata.distribution(name)
    wheel = distribution.read_text("WHEEL") or ""
    if "Root-Is-Purelib: true" not in wheel:
        raise ConfigurationError(
            "DataPath",
            [
                f"powertools: 'bundled' copies pure-Python distributions only, and the installed "
                f"{name} {distribution.version} is built for a platform (WHEEL: {wheel.strip()!r})"
            ],
        )
    found = []
    for file in distribution.files or []:
        parts = Path(str(file)).parts
        # Console scripts live outside site-packages ("../../bin/..."); caches are the builder's.
        if parts[0] == ".." or "__pycache__" in parts or str(file).endswith(".pyc"):
            continue
        found.append((Path(str(file)).as_posix(), Path(str(distribution.locate_file(file)))))
    return found


@cache
def bundled_files() -> tuple[tuple[str, Path], ...]:
    """The runtime package plus the installed Powertools and what it requires (no extras).

    Read from the app's own environment (requirements.txt pins Powertools), so synthesis stays
    offline and without Docker; the version must be the one the runtime is tested with.
    """
    from importlib import metadata

    try:
        powertools = metadata.distribution(POWERTOOLS_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        installed = "not installed"
    else:
        installed = powertools.version
    if installed != POWERTOOLS_VERSION:
        raise ConfigurationError(
            "DataPath",
            [
                f"powertools: 'bundled' packages the installed {POWERTOOLS_DISTRIBUTION}, which "
                f"must be {POWERTOOLS_VERSION}, the version the runtime is tested with "
                f"(installed: {installed}; `pip install -r requirements.txt` installs it)"
            ],
        )
    names = [POWERTOOLS_DISTRIBUTION] + [
        match.group(0)
        for requirement in powertools.requires or []
        if "extra ==" not in requirement
        and (match := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement))
    ]
    files = _runtime_files()
    for name in names:
        files += _distribution_files(name)
    return tuple(sorted(files))


@jsii.implements(ILocalBundling)
class _CopyFiles:
    """Local bundling: copy the given files into the asset; never Docker."""

    def __init__(self, files: tuple[tuple[str, Path], ...]) -> None:
        self._files = files

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        out = Path(output_dir)
        for relative, source in self._files:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return True


def function_code(*, bundle_powertools: bool) -> lambda_.Code:
    """The runtime package; with ``bundle_powertools`` also Powertools and its requirements.

    The bundled asset's hash is that of its files, so it changes exactly when they do.
    """
    if not bundle_powertools:
        return lambda_.Code.from_asset(str(ASSET_DIR), exclude=ASSET_EXCLUDE)
    files = bundled_files()
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return lambda_.Code.from_asset(
        str(ASSET_DIR),
        exclude=ASSET_EXCLUDE,
        asset_hash=digest.hexdigest(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Required by the API, never pulled: the local bundler always succeeds.
            image=DockerImage.from_registry("local-bundling-only"),
            local=_CopyFiles(files),
        ),
    )


class DataPathFunction(Construct):
    """A Python 3.12 Lambda function of the data path, with its own role and log group.

    The role starts empty apart from writing to its own log group (no managed policy); callers
    grant the rest.

    Args:
        handler: the handler, e.g. ``runtime.dispatcher.handler``.
        description: the function's description.
        environment: its environment variables.
        layer: Powertools' layer; ``None`` bundles Powertools into the function's code.
        key: encrypts the log group.
        timeout: the function's timeout.
        memory_size: MB.
        reserved_concurrency: reserved concurrent executions; ``None`` reserves nothing.
        architecture: the function's architecture.
        tracing: send X-Ray traces (the role may put trace segments); without it Powertools'
            tracer is switched off.
        log_retention: the log group's retention.
        removal_policy: for the log group.
        vpc: puts the function's network interfaces in those subnets and security groups, and
            lets its role manage them (nothing else of EC2). Default: ``None`` (no VPC).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        layer: lambda_.ILayerVersion | None,
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
            assumed_by=cdk_values.service_principal("lambda.amazonaws.com"),
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
            code=function_code(bundle_powertools=layer is None),
            layers=[layer] if layer is not None else None,
            role=self.role,
            environment=env,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE if tracing else None,
            log_group=self.log_group,
        )
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        controls: dict[str, str] = {}
        outside_vpc: dict[str, str] = {}
        if vpc is None:
            controls["lambda_inside_vpc_check"] = (
                "Outside a VPC unless data_path.vpc is set: the function calls only AWS APIs (S3, "
                "SQS, DynamoDB, SageMaker runtime) over TLS with IAM."
            )
            outside_vpc["CKV_AWS_117"] = "Outside a VPC unless data_path.vpc is set."
        else:
            self._place_in(vpc, cfn)
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
            cfn,
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
        _quiet_redundant_depends_on(cfn)
        acknowledge_all(
            self.function,
            controls=controls,
            findings={
                "AwsSolutions-L1": (
                    "The data path contract pins Python 3.12, the runtime its handlers and the "
                    "Powertools release they load are built and tested for; move together with "
                    "the contract."
                )
            },
        )
        if tracing or vpc is not None:
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Actions without resource-level permissions, added only when needed: "
                "xray:PutTraceSegments and xray:PutTelemetryRecords with tracing, "
                "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets in a VPC.",
            )

    def _place_in(self, vpc: DataPathVpc, cfn: lambda_.CfnFunction) -> None:
        """VpcConfig, and what Lambda does with the role to manage the network interfaces.

        Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC",
        execution role permissions (those of AWSLambdaVPCAccessExecutionRole, scoped here):
        ec2:CreateNetworkInterface in these subnets and security groups;
        ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and
        ec2:UnassignPrivateIpAddresses on this account's and region's interfaces;
        ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets, which only work on "*".
        """
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
