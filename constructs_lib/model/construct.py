"""A Hugging Face model on the PyTorch inference DLC, with its own least-privilege role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import acknowledge_all, checkov_skip, nag_resource, nag_resources
from constructs_lib._validation import is_token, raise_if_problems
from constructs_lib._values import INSTANCE_NAMESPACE
from constructs_lib.model import dlc_image
from constructs_lib.model.archive import write_model_archive
from constructs_lib.model.s3_uri import parse_s3_uri
from constructs_lib.model.source import (
    RESERVED_ENVIRONMENT,
    ModelSource,
    container_environment_problems,
    environment_problems,
)

if TYPE_CHECKING:
    # Imported where a VPC is used: aws_ec2 is aws-cdk-lib's largest Python module (about 0.1 s
    # to import) and a model outside a VPC does not need it (aws_lambda still imports it).
    from aws_cdk import aws_ec2 as ec2

# Async payloads can be large and slow: lift the model server's request/response size caps and
# set its response timeout. multi-model-server 1.1.11 reads MMS_DEFAULT_RESPONSE_TIMEOUT in
# MINUTES (its ConfigManager multiplies it by 60: 900 meant 15 hours of a hung worker), so the
# seconds variable is used. 900 s is InvokeEndpointAsync's default InvocationTimeoutSeconds (and
# the data path's): longer is useless, as SageMaker has failed the request by then; keep it at
# the invocation timeout callers use (at most 3,600). It also bounds model loading (model_fn).
MODEL_SERVER_ENVIRONMENT = {
    "MMS_MAX_REQUEST_SIZE": "2000000000",
    "MMS_MAX_RESPONSE_SIZE": "2000000000",
    "MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS": "900",
}


def uncompressed_model_problems(model: object, where: str) -> list[str]:
    """A model with uncompressed data (``model_data_compression="none"``) where SageMaker does
    not take ``ModelDataSource``: "Currently you cannot use ModelDataSource with AWS
    Marketplace, SageMaker AI batch transform, SageMaker Serverless Inference endpoints, and
    SageMaker multi-model endpoints" ("Deploying uncompressed models")."""
    if getattr(model, "model_data_compression", "gzip") != "none":
        return []
    return [
        f"model: {where} cannot load uncompressed model data (ModelDataSource); stage a "
        "model.tar.gz (model_data_compression 'gzip') for them (got a model with "
        "model_data_compression 'none')"
    ]


def role_policy(role: iam.IRole) -> IConstruct:
    """The construct holding ``role``'s grants: its default policy, else the role itself.

    Depending on the policy rather than the role avoids a DependsOn that a ``GetAtt`` of the role
    already implies (cfn-lint W3005), while still waiting for the permissions.
    """
    for child_id in ("DefaultPolicy", "Policy"):
        child = role.node.try_find_child(child_id)
        if child is not None:
            return child
    return role


class HuggingFaceModel(Construct):
    """``AWS::SageMaker::Model`` on the Hugging Face PyTorch inference DLC.

    Its weights and inference code come from ``source``: ``ModelSource.from_hub`` (weights from
    the Hub at every cold start, our code as a deterministic ``model.tar.gz`` asset),
    ``ModelSource.from_s3`` (a staged archive or prefix that already holds weights and
    ``code/``, which shortens and de-risks cold starts) or ``ModelSource.from_local``. The image
    URI is resolved per region by mapping (no SDK call at synth time) and follows the instance
    type: GPU families get the GPU image.

    The execution role may only pull this one image repository, read the model data, and write
    the endpoint's logs and metrics. Callers add what the endpoint needs (see ``AsyncEndpoint``).

    Args:
        source: where the weights and the inference code come from, made by a
            ``ModelSource`` factory; a Hub source needs its ``code_dir``.
        instance_type: the instance type the model will run on; it picks the CPU or GPU
            image and must be a family the DLC can run (``instance_types``: Graviton, Neuron
            and GPUs newer than the image's CUDA are refused).
        dlc_version: the transformers and PyTorch versions of the DLC image.
        task: the pipeline task (``HF_TASK``). Default: ``"summarization"``.
        environment: container variables added to the model server settings, which they
            may override; ``HF_MODEL_ID``, ``HF_MODEL_REVISION`` and ``HF_TASK`` are the
            construct's own. Default: ``None`` (no more variables).
        role: the execution role. Default: ``None`` (a new least-privilege role).
        enable_network_isolation: cut the container off the network; the weights must come
            with the model data (``from_s3`` or ``from_local``). Default: ``False``.
        vpc: place the model's network interfaces in this VPC. Default: ``None``
            (SageMaker's own network). The role then gets the EC2 network-interface
            permissions SageMaker documents for VPC-hosted models, those that support it
            limited to this VPC. A private subnet reaches S3 only through an S3 gateway
            endpoint and the Hub only through a NAT.
        vpc_subnets: the subnets, at least two in two availability zones as SageMaker
            requires; public subnets are refused. Only with ``vpc``. Default: ``None`` (the
            VPC's private subnets).
        security_groups: 1 to 5 groups for the interfaces. Only with ``vpc``. Default:
            ``None`` (one new group with no ingress and HTTPS-only egress).
        create_vpc_endpoints: create an S3 gateway endpoint on the subnets' route tables,
            with a policy admitting only this role's access to its buckets' objects. Only
            with ``vpc``, and only on a VPC dedicated to the model: the endpoint reroutes
            all S3 traffic of those route tables and its policy would refuse every other
            workload's. Default: ``False``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: ModelSource,
        instance_type: str,
        dlc_version: dlc_image.DlcVersion,
        task: str = "summarization",
        environment: Mapping[str, str] | None = None,
        role: iam.IRole | None = None,
        enable_network_isolation: bool = False,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        create_vpc_endpoints: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = dlc_version.problems("dlc_version")
        problems += dlc_version.instance_type_problems("instance_type", instance_type)
        if not isinstance(source, ModelSource):
            problems.append(
                "source: must be a ModelSource (ModelSource.from_hub, from_s3 or from_local) "
                f"(got {source!r})"
            )
        elif source.kind == "hub" and source.code_dir is None:
            problems.append(
                "source: HuggingFaceModel serves with your inference code: give "
                f"ModelSource.from_hub(..., code_dir=<folder with inference.py>) (got {source})"
            )
        elif enable_network_isolation and not source.weights_in_model_data:
            problems.append(
                "enable_network_isolation: needs the weights in the model data "
                "(ModelSource.from_s3 or from_local), an isolated container cannot download "
                f"from the Hub (got {source})"
            )
        problems += environment_problems(
            "environment", environment or {}, reserved=RESERVED_ENVIRONMENT
        )
        subnets = None
        if vpc is None:
            for name, value in (
                ("vpc_subnets", vpc_subnets),
                ("security_groups", security_groups),
                ("create_vpc_endpoints", create_vpc_endpoints or None),
            ):
                if value is not None:
                    problems.append(f"{name}: only applies with a vpc (got {value!r})")
        else:
            try:
                subnets = _select(vpc, vpc_subnets)
            except RuntimeError as raised:  # jsii: a selection the VPC cannot satisfy
                problems.append(f"vpc_subnets: {_cdk_message(raised)}")
            else:
                problems += _network_problems(subnets, vpc_subnets, security_groups)
        raise_if_problems("HuggingFaceModel", problems)

        self.role: iam.IRole = role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=cdk_values.service_principal("sagemaker.amazonaws.com"),
            description="SageMaker execution role of the summarization model",
        )
        stack = Stack.of(self)
        self.image_uri = dlc_image.image_uri(
            stack, version=dlc_version, instance_type=instance_type
        )
        self._grant_hosting_basics(stack, dlc_version, in_vpc=vpc is not None)
        # The S3 objects the model itself reads, for a gateway endpoint's policy (and the bucket
        # it lists, for uncompressed model data).
        archive_arns: list[str] = []
        listed_buckets: list[str] = []

        env: dict[str, str] = {"HF_TASK": task, **MODEL_SERVER_ENVIRONMENT}
        if not dlc_image.is_gpu_instance(instance_type):
            # The model server starts one worker per GPU, but one per vCPU on a CPU instance, each
            # with its own copy of the model; requests are served one at a time anyway.
            env["SAGEMAKER_MODEL_SERVER_WORKERS"] = "1"
        self.source = source
        if source.kind == "s3":
            assert source.uri is not None
            self.model_data_url = self._grant_staged_data(
                source.uri, source.compression, source.key_arn, archive_arns, listed_buckets
            )
        else:
            assert source.code_dir is not None
            if source.kind == "hub":
                env["HF_MODEL_ID"] = str(source.model_id)
                if source.revision:
                    env["HF_MODEL_REVISION"] = source.revision
            archive = s3_assets.Asset(
                self,
                "CodeArchive",
                path=str(write_model_archive(source.code_dir, weights_dir=source.weights_dir)),
            )
            # The one archive object, not Asset.grant_read's whole-bucket read.
            archive_arns.append(archive.bucket.arn_for_objects(archive.s3_object_key))
            iam.Grant.add_to_principal(
                grantee=self.role, actions=["s3:GetObject"], resource_arns=archive_arns
            )
            self.model_data_url = archive.s3_object_url
        env.update(environment or {})
        raise_if_problems("HuggingFaceModel", container_environment_problems("environment", env))

        # "gzip" (an archive at model_data_url) or "none" (files under the model_data_url prefix).
        self.model_data_compression = source.compression
        self.security_groups: list[ec2.ISecurityGroup] = []
        self.s3_endpoint: ec2.GatewayVpcEndpoint | None = None
        vpc_config = None
        if vpc is not None and subnets is not None:
            self.security_groups = list(security_groups or [self._security_group(vpc)])
            self._grant_network_interfaces(vpc)
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[group.security_group_id for group in self.security_groups],
                subnets=subnets.subnet_ids,
            )
            if create_vpc_endpoints:
                from aws_cdk import aws_ec2 as ec2

                self.s3_endpoint = vpc.add_gateway_endpoint(
                    "S3Endpoint",
                    service=ec2.GatewayVpcEndpointAwsService.S3,
                    # The route tables of exactly the model's subnets.
                    subnets=[ec2.SubnetSelection(subnets=subnets.subnets)],
                )
                self.allow_s3_through_endpoint(["s3:GetObject"], archive_arns)
                self.allow_s3_through_endpoint(["s3:ListBucket"], listed_buckets)

        uncompressed = source.compression == "none"
        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image_uri,
                model_data_url=None if uncompressed else self.model_data_url,
                model_data_source=(
                    sagemaker.CfnModel.ModelDataSourceProperty(
                        s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                            s3_uri=self.model_data_url,
                            s3_data_type="S3Prefix",
                            compression_type="None",
                        )
                    )
                    if uncompressed
                    else None
                ),
                environment=env,
            ),
            # No network access from the container: weights and code come with the model data,
            # which SageMaker downloads before the container starts.
            enable_network_isolation=True if enable_network_isolation else None,
            vpc_config=vpc_config,
        )
        if source.kind == "hub":
            checkov_skip(
                self.cfn_model,
                "CKV_AWS_370",
                "Weights come from the Hugging Face Hub, which needs the network; stage them in "
                "S3 (model_data_uri) to run the model network-isolated.",
            )
        # The role's ARN reference already orders the model after the role; its policy (image
        # pull, archive read) must exist too before SageMaker validates the model.
        self.cfn_model.node.add_dependency(role_policy(self.role))

    @property
    def model_name(self) -> str:
        return self.cfn_model.attr_model_name

    @property
    def connections(self) -> ec2.Connections | None:
        """The model's security groups as ``Connections`` (None outside a VPC), e.g. to let it
        reach a database: ``db.connections.allow_default_port_from(model.connections)``."""
        if not self.security_groups:
            return None
        from aws_cdk import aws_ec2 as ec2

        return ec2.Connections(security_groups=self.security_groups)

    def allow_s3_through_endpoint(self, actions: Sequence[str], object_arns: Sequence[str]) -> None:
        """Admit the execution role's ``actions`` on ``object_arns`` through the S3 endpoint.

        A no-op without ``create_vpc_endpoints``. ``AsyncEndpoint`` calls it for its data bucket;
        the other hosting constructs do not: call it for any bucket they, or the container, read
        or write through the VPC (batch transform inputs and outputs, for one).
        """
        if self.s3_endpoint is None or not object_arns:
            return
        self.s3_endpoint.add_to_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=list(object_arns),
                # An endpoint policy names principals by condition: only this model's role.
                conditions={"ArnEquals": {"aws:PrincipalArn": self.role.role_arn}},
            )
        )

    def _grant_staged_data(
        self,
        uri: str,
        compression: str,
        key_arn: str | None,
        archive_arns: list[str],
        listed_buckets: list[str],
    ) -> str:
        """Let the role read staged model data (adding what it reads to ``archive_arns`` and
        ``listed_buckets``, for a gateway endpoint's policy) and return the model data URL."""
        location = parse_s3_uri(uri)
        assert location is not None
        bucket, key = location
        bucket_arn = f"arn:{cdk_values.PARTITION}:s3:::{bucket}"
        if compression == "none":
            # Every object under the prefix, which SageMaker lists to find them.
            archive_arns.append(f"{bucket_arn}/{key}*")
            listed_buckets.append(bucket_arn)
            iam.Grant.add_to_principal(
                grantee=self.role,
                actions=["s3:ListBucket"],
                resource_arns=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{key}*"]}},
            )
            acknowledge_all(
                self.role,
                findings={
                    f"AwsSolutions-IAM5[Resource::{nag_resource(self, archive_arns[0])}]": (
                        "Uncompressed model data is every object under its staged prefix "
                        "(one model version, written once by make stage-model)."
                    )
                },
            )
        else:
            archive_arns.append(f"{bucket_arn}/{key}")
        iam.Grant.add_to_principal(
            grantee=self.role, actions=["s3:GetObject"], resource_arns=archive_arns
        )
        if key_arn is not None:
            # The model data is SSE-KMS encrypted (make stage-model): reading it decrypts.
            iam.Grant.add_to_principal(
                grantee=self.role, actions=["kms:Decrypt"], resource_arns=[key_arn]
            )
        return uri

    def _security_group(self, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        from aws_cdk import aws_ec2 as ec2

        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Summarization model: no ingress, HTTPS out only",
            allow_all_outbound=False,
        )
        # The container only calls out (S3 through the gateway endpoint, the Hub through a NAT);
        # SageMaker delivers invocations over its own channel, so no ingress rule is needed.
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 and the Hub")
        return group

    def _grant_network_interfaces(self, vpc: ec2.IVpc) -> None:
        """The EC2 permissions of "Give SageMaker Hosted Endpoints Access to Resources in Your
        Amazon VPC" (SageMaker Developer Guide): SageMaker creates the model's network interfaces
        with the execution role.

        Scoped with the Service Authorization Reference's resource types and condition keys:
        ``ec2:Vpc`` exists on the network interface for the interface-permission actions and
        ``DeleteNetworkInterface``, and on the subnet and security group (not the new interface)
        for ``CreateNetworkInterface``. A condition on a key the request lacks would deny it.
        """
        stack = Stack.of(self)

        def ec2_arn(kind: str, name: str = "*") -> str:
            return stack.format_arn(service="ec2", resource=kind, resource_name=name)

        # Describe* support no resource-level permissions: "*" is the only resource they take.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeNetworkInterfaces",
                ],
                resources=["*"],
            )
        )
        in_this_vpc = {"ArnEquals": {"ec2:Vpc": ec2_arn("vpc", vpc.vpc_id)}}
        interfaces = ec2_arn("network-interface")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[interfaces],
                conditions=in_this_vpc,
            )
        )
        # The new interface has no VPC yet to match; the subnet and group it goes into do.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ec2:CreateNetworkInterface"], resources=[interfaces])
        )
        placement = [ec2_arn("subnet"), ec2_arn("security-group")]
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"], resources=placement, conditions=in_this_vpc
            )
        )
        reasons = {
            interfaces: "SageMaker names the model's network interfaces when it creates them; "
            "all but their creation are limited to this VPC by the ec2:Vpc condition.",
            placement[0]: "Interfaces may only be created in subnets of this VPC (ec2:Vpc "
            "condition); the selected subnet is SageMaker's choice among those given.",
            placement[1]: "Interfaces may only be created with security groups of this VPC "
            "(ec2:Vpc condition).",
        }
        spelled = nag_resources(self, list(reasons))
        acknowledge_all(
            self.role,
            findings={
                f"AwsSolutions-IAM5[Resource::{resource}]": reason
                for resource, reason in zip(spelled, reasons.values(), strict=True)
            },
        )

    def _grant_hosting_basics(
        self, stack: Stack, dlc_version: dlc_image.DlcVersion, *, in_vpc: bool
    ) -> None:
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resource_arns=[dlc_image.repository_arn(stack, version=dlc_version)],
        )
        # GetAuthorizationToken has no resource-level permissions: "*" is the only valid resource.
        iam.Grant.add_to_principal(
            grantee=self.role, actions=["ecr:GetAuthorizationToken"], resource_arns=["*"]
        )
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/Endpoints/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resource_arns=[log_group_arn, f"{log_group_arn}:log-stream:*"],
        )
        reason = (
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level "
            "permissions; PutMetricData is pinned to the instance-metrics namespace by a "
            "condition."
        )
        if in_vpc:
            reason += " In a VPC, the EC2 Describe* actions SageMaker needs support none either."
        logs_reason = (
            "The endpoint's name is generated after this role's policy exists (the endpoint "
            "depends on it), so logs are scoped to SageMaker endpoint log groups."
        )
        acknowledge_all(
            self.role,
            findings={
                "AwsSolutions-IAM5[Resource::*]": reason,
                **{
                    f"AwsSolutions-IAM5[Resource::{resource}]": logs_reason
                    for resource in nag_resources(
                        stack, [log_group_arn, f"{log_group_arn}:log-stream:*"]
                    )
                },
            },
        )
        # PutMetricData has no resource-level permissions; the condition pins the namespace. The
        # hosting agent publishes the instance metrics (CPU, memory, GPU, disk) into
        # /aws/sagemaker/Endpoints; the AWS/SageMaker metrics are published by the service itself,
        # and no customer may publish into an AWS/ namespace anyway. Our handler emits no metrics.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": INSTANCE_NAMESPACE}},
            )
        )


def _select(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> ec2.SelectedSubnets:
    # CDK's default selection is private with egress, else isolated, else public: the last is
    # refused by _network_problems.
    if selection is None:
        return vpc.select_subnets()
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )


def _cdk_message(raised: RuntimeError) -> str:
    # aws-cdk-lib prefixes its error code ("ThereSubnetGroups: ..."); the sentence is the message.
    first = str(raised).splitlines()[0] if str(raised) else repr(raised)
    return first.split(": ", 1)[1] if ": " in first else first


def _network_problems(
    subnets: ec2.SelectedSubnets,
    selection: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> list[str]:
    problems: list[str] = []
    name = "vpc_subnets" if selection is not None else "vpc"
    if subnets.has_public:
        problems.append(
            f"{name}: the model's subnets must be private (with egress or isolated); the "
            "selection holds public subnets"
            + ("" if selection is not None else ", because the VPC has no private ones")
        )
    ids = subnets.subnet_ids
    all_zones = subnets.availability_zones
    zones = set(all_zones)
    if not any(is_token(i) for i in ids) and not 2 <= len(ids) <= 16:
        problems.append(
            f"{name}: SageMaker needs 2 to 16 subnets in at least two availability zones "
            f"(got {len(ids)} subnet{'s' if len(ids) != 1 else ''})"
        )
    elif not any(is_token(zone) for zone in all_zones) and len(zones) < 2:
        problems.append(
            f"{name}: the subnets must span at least two availability zones, as SageMaker "
            f"requires (got {sorted(zones)})"
        )
    if security_groups is not None and not 1 <= len(security_groups) <= 5:
        problems.append(
            f"security_groups: SageMaker takes 1 to 5 security groups (got {len(security_groups)})"
        )
    return problems
