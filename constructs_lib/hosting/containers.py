"""A SageMaker model of several containers: the base of multi-container endpoints and pipelines.

``HuggingFaceModel`` makes a model of one container; a multi-container endpoint (direct or
serial invocation) and a serial inference pipeline need one ``AWS::SageMaker::Model`` whose
``Containers`` list holds 2 to 15 container definitions, each with a unique hostname.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import raise_if_problems
from constructs_lib.hosting._common import HOSTNAME, execution_role
from constructs_lib.model import dlc_image
from constructs_lib.model.archive import write_model_archive
from constructs_lib.model.construct import MODEL_SERVER_ENVIRONMENT, role_policy
from constructs_lib.model.instance_types import instance_type_problems
from constructs_lib.model.s3_uri import parse_s3_uri
from constructs_lib.model.source import ModelSource

MODES = ("Direct", "Serial")
MAX_CONTAINERS = 15
# The SageMaker API limits each container environment value to 1,024 characters.
MAX_ENV_VALUE = 1024


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """One container of a multi-container model: its image and where its model comes from."""

    #: The container's hostname, 1-63 letters, digits or inner hyphens, unique in the model.
    hostname: str
    #: Where its weights and code come from, made by a ``ModelSource`` factory: the Hub
    #: (``from_hub``, with or without ``code_dir``), a staged ``model.tar.gz`` (``from_s3``;
    #: uncompressed data is not taken here), or local folders (``from_local``; code alone makes
    #: a pre- or post-processing container).
    source: ModelSource
    #: The Hugging Face PyTorch inference DLC (resolved per region and instance type); exactly
    #: one of ``dlc_version`` and ``image_uri``. Default: ``None``.
    dlc_version: dlc_image.DlcVersion | None = None
    #: Your own image instead of the DLC. Default: ``None``.
    image_uri: str | None = None
    #: The repository of ``image_uri``, the only one the role may pull from; required with
    #: ``image_uri``. Default: ``None``.
    image_repository_arn: str | None = None
    #: ``HF_TASK`` of a DLC container; ``None`` sets none. Default: ``"summarization"``.
    task: str | None = "summarization"
    #: Variables added to the container environment. Default: ``{}`` (none).
    environment: Mapping[str, str] = field(default_factory=dict)

    def problems(self, prefix: str) -> list[str]:
        """Problems with this container, each prefixed with ``prefix`` (e.g. ``containers[0]``)."""
        problems: list[str] = []
        if not isinstance(self.hostname, str) or not HOSTNAME.match(self.hostname):
            problems.append(
                f"{prefix}.hostname: must be 1-63 letters, digits or inner hyphens "
                f"(got {self.hostname!r})"
            )
        if (self.dlc_version is None) == (self.image_uri is None):
            problems.append(f"{prefix}: give exactly one of dlc_version and image_uri")
        if self.image_uri is not None and self.image_repository_arn is None:
            problems.append(
                f"{prefix}.image_repository_arn: required with image_uri, to grant the pull "
                "of that one repository"
            )
        if self.dlc_version is not None:
            problems += self.dlc_version.problems(f"{prefix}.dlc_version")
        if not isinstance(self.source, ModelSource):
            problems.append(
                f"{prefix}.source: must be a ModelSource (ModelSource.from_hub, from_s3 or "
                f"from_local) (got {self.source!r})"
            )
        elif self.source.compression != "gzip":
            problems.append(
                f"{prefix}.source: a multi-container model takes a model.tar.gz, not "
                f"uncompressed model data (got {self.source})"
            )
        for name, value in self.environment.items():
            if len(value) > MAX_ENV_VALUE:
                problems.append(
                    f"{prefix}.environment.{name}: at most {MAX_ENV_VALUE} characters "
                    f"(got {len(value)})"
                )
        return problems


def containers_problems(containers: Sequence[ContainerSpec], mode: str) -> list[str]:
    """Problems with the container list as a whole and with each container."""
    problems: list[str] = []
    if mode not in MODES:
        problems.append(f"mode: must be one of {', '.join(MODES)} (got {mode!r})")
    # Direct invocation can address a single container; serial needs at least two to chain.
    low = 2 if mode == "Serial" else 1
    if not low <= len(containers) <= MAX_CONTAINERS:
        problems.append(
            f"containers: {mode} mode takes {low} to {MAX_CONTAINERS} containers "
            f"(got {len(containers)})"
        )
    seen: set[str] = set()
    for index, container in enumerate(containers):
        problems += container.problems(f"containers[{index}]")
        hostname = container.hostname
        if isinstance(hostname, str):
            if hostname.lower() in seen:
                problems.append(
                    f"containers[{index}].hostname: must be unique (got {hostname!r} twice)"
                )
            seen.add(hostname.lower())
    return problems


class MultiContainerModel(Construct):
    """``AWS::SageMaker::Model`` with ``Containers`` and ``InferenceExecutionConfig.Mode``.

    The execution role may pull exactly the images used, read exactly the archives used, and
    write SageMaker logs and metrics.

    Args:
        containers: the containers, 1 to 15 (2 or more in ``"Serial"`` mode), unique hostnames.
        instance_type: picks the CPU or GPU DLC image.
        mode: ``"Direct"``: each request names its container with ``TargetContainerHostname``;
            ``"Serial"``: every container runs in order, each one's output the next one's input.
            Default: ``"Direct"``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        containers: Sequence[ContainerSpec],
        instance_type: str,
        mode: str = "Direct",
    ) -> None:
        super().__init__(scope, construct_id)
        problems = containers_problems(containers, mode)
        problems += instance_type_problems("instance_type", instance_type)
        raise_if_problems(type(self).__name__, problems)
        self.mode = mode
        self.containers = tuple(containers)
        self.hostnames = tuple(c.hostname for c in containers)
        self.role: iam.IRole = execution_role(
            self, "ExecutionRole", description="SageMaker execution role of a multi-container model"
        )
        repositories: list[str] = []
        definitions = []
        for index, container in enumerate(containers):
            image, repository = self._image(container, instance_type)
            if repository not in repositories:
                repositories.append(repository)
            definitions.append(
                sagemaker.CfnModel.ContainerDefinitionProperty(
                    container_hostname=container.hostname,
                    image=image,
                    model_data_url=self._model_data(index, container),
                    environment=self._environment(container),
                )
            )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resource_arns=repositories,
        )
        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            containers=definitions,
            inference_execution_config=sagemaker.CfnModel.InferenceExecutionConfigProperty(
                mode=mode
            ),
        )
        self.cfn_model.node.add_dependency(role_policy(self.role))

    @property
    def model_name(self) -> str:
        """The model's generated name."""
        return self.cfn_model.attr_model_name

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role."""
        return self.role

    def matching_hostnames(self, pattern: str) -> list[str]:
        """Hostnames matched by an IAM ``StringLike`` pattern (``*`` and ``?`` wildcards)."""
        # IAM StringLike is case-sensitive; fnmatchcase has the same * and ? semantics.
        return [h for h in self.hostnames if fnmatch.fnmatchcase(h, pattern)]

    def _image(self, container: ContainerSpec, instance_type: str) -> tuple[str, str]:
        if container.dlc_version is not None:
            return (
                dlc_image.image_uri(
                    self, version=container.dlc_version, instance_type=instance_type
                ),
                dlc_image.repository_arn(self, version=container.dlc_version),
            )
        assert container.image_uri is not None and container.image_repository_arn is not None
        return container.image_uri, container.image_repository_arn

    def _model_data(self, index: int, container: ContainerSpec) -> str | None:
        source = container.source
        if source.kind == "s3":
            assert source.uri is not None
            location = parse_s3_uri(source.uri)
            assert location is not None
            bucket, key = location
            iam.Grant.add_to_principal(
                grantee=self.role,
                actions=["s3:GetObject"],
                resource_arns=[f"arn:{cdk_values.PARTITION}:s3:::{bucket}/{key}"],
            )
            if source.key_arn is not None:
                # The archive is SSE-KMS encrypted: reading it decrypts.
                iam.Grant.add_to_principal(
                    grantee=self.role, actions=["kms:Decrypt"], resource_arns=[source.key_arn]
                )
            return source.uri
        if source.code_dir is None:
            return None
        archive = s3_assets.Asset(
            self,
            f"Code{index}",
            path=str(write_model_archive(source.code_dir, weights_dir=source.weights_dir)),
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["s3:GetObject"],
            resource_arns=[archive.bucket.arn_for_objects(archive.s3_object_key)],
        )
        return archive.s3_object_url

    @staticmethod
    def _environment(container: ContainerSpec) -> dict[str, str] | None:
        env: dict[str, str] = {}
        if container.dlc_version is not None:
            env.update(MODEL_SERVER_ENVIRONMENT)
            if container.task:
                env["HF_TASK"] = container.task
        if container.source.kind == "hub":
            env["HF_MODEL_ID"] = str(container.source.model_id)
            if container.source.revision:
                env["HF_MODEL_REVISION"] = container.source.revision
        env.update(container.environment)
        return env or None


def hostnames_condition(model: MultiContainerModel, patterns: Sequence[str]) -> dict[str, Any]:
    """The ``sagemaker:TargetContainerHostname`` condition for ``patterns``, checked first.

    Raises ``ConfigurationError`` when a pattern matches no container of ``model`` (a typo would
    otherwise grant nothing and fail only at invocation time).
    """
    problems: list[str] = []
    if isinstance(patterns, str):
        problems.append(f"container_hostnames: must be a list of hostnames (got {patterns!r})")
    elif not patterns:
        problems.append("container_hostnames: must name at least one container (got [])")
    else:
        for pattern in patterns:
            if not model.matching_hostnames(pattern):
                problems.append(
                    f"container_hostnames: {pattern!r} matches no container "
                    f"(containers: {', '.join(model.hostnames)})"
                )
    raise_if_problems("grant_invoke", problems)
    return {"StringLike": {"sagemaker:TargetContainerHostname": list(patterns)}}
