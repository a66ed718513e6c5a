"""A multi-model endpoint: many models of one runtime behind one endpoint, loaded on demand.

The container runs in ``Mode: MultiModel`` over an S3 prefix of ``model.tar.gz`` archives; each
request names its archive (``TargetModel``, relative to the prefix). SageMaker downloads and loads
a model on its first request (a cold start, watched by ``ModelLoadingWaitTime`` and
``ModelCacheHit``) and unloads idle ones under memory pressure. Adding a model is an upload.
On GPU instances SageMaker serves multi-model endpoints only through Triton, so this construct
(on the Hugging Face PyTorch DLC) takes CPU instance types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib._nag import acknowledge, arn_placeholder
from constructs_lib._validation import check_int, raise_if_problems
from constructs_lib.endpoint.construct import LOCAL_STORAGE_FAMILIES, instance_variant
from constructs_lib.hosting._common import (
    SynchronousEndpoint,
    execution_role,
    variant_problems,
)
from constructs_lib.model import dlc_image
from constructs_lib.model.construct import MODEL_SERVER_ENVIRONMENT, role_policy
from constructs_lib.model.instance_types import instance_type_problems


class MultiModelEndpoint(SynchronousEndpoint):
    """Model (``Mode: MultiModel``), endpoint configuration and endpoint over an S3 prefix.

    ``grant_invoke(grantee, target_models=[...])`` adds the ``sagemaker:TargetModel`` condition;
    ``grant_add_models(grantee)`` lets a publisher upload new archives under the prefix.

    Args:
        artifacts_bucket: the bucket that holds the model archives.
        dlc_version: picks the Hugging Face CPU image.
        instance_type: a CPU instance type (the DLC serves multi-model endpoints on CPU only).
        artifacts_prefix: the archives' prefix in the bucket. Default: ``"models/"``.
        artifacts_key: the bucket's KMS key, granted for reading. Default: ``None`` (the bucket
            is not KMS-encrypted).
        initial_instance_count: instances of the variant. Default: ``1``.
        task: ``HF_TASK`` of the container. Default: ``"summarization"``.
        environment: more container variables. Default: ``None`` (none).
        model_cache: keep loaded models in memory; turn it off for very many, rarely used
            models. Default: ``True``.
        variant_name: the production variant's name. Default: ``"AllTraffic"``.
        volume_key: encrypts the instance volume where the model cache lives. Default:
            ``None`` (SageMaker's AWS-managed key).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket: s3.IBucket,
        dlc_version: dlc_image.DlcVersion,
        instance_type: str,
        artifacts_prefix: str = "models/",
        artifacts_key: kms.IKey | None = None,
        initial_instance_count: int = 1,
        task: str = "summarization",
        environment: Mapping[str, str] | None = None,
        model_cache: bool = True,
        variant_name: str = "AllTraffic",
        volume_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = instance_type_problems("instance_type", instance_type)
        if not problems and dlc_image.is_gpu_instance(instance_type):
            problems.append(
                "instance_type: multi-model endpoints on GPU need a Triton container; the "
                f"Hugging Face DLC serves them on CPU instances only (got {instance_type!r})"
            )
        if not artifacts_prefix.endswith("/") or artifacts_prefix.startswith("/"):
            problems.append(
                "artifacts_prefix: must end with '/' and not start with one "
                f"(got {artifacts_prefix!r})"
            )
        problems += dlc_version.problems("dlc_version")
        check_int(problems, "initial_instance_count", initial_instance_count, minimum=1)
        problems += variant_problems(variant_name)
        if volume_key is not None and (
            dlc_image.instance_family(instance_type) in LOCAL_STORAGE_FAMILIES
        ):
            problems.append(
                "volume_key: instance types with local NVMe storage refuse a volume key (their "
                f"storage is encrypted by the hardware) (got instance type {instance_type!r})"
            )
        raise_if_problems("MultiModelEndpoint", problems)

        self.artifacts_bucket = artifacts_bucket
        self.artifacts_prefix = artifacts_prefix
        self.artifacts_key = artifacts_key
        self.variant_name = variant_name
        self.instance_type = instance_type
        self.model_data_url = f"s3://{artifacts_bucket.bucket_name}/{artifacts_prefix}"
        self.role = execution_role(
            self, "ExecutionRole", description="SageMaker execution role of a multi-model endpoint"
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resource_arns=[dlc_image.repository_arn(self, version=dlc_version)],
        )
        self._grant_prefix(self.role, ["s3:GetObject"], ["kms:Decrypt"], "reads archives")

        env = {**MODEL_SERVER_ENVIRONMENT, "HF_TASK": task, **(environment or {})}
        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=dlc_image.image_uri(self, version=dlc_version, instance_type=instance_type),
                mode="MultiModel",
                model_data_url=self.model_data_url,
                environment=env,
                multi_model_config=sagemaker.CfnModel.MultiModelConfigProperty(
                    model_cache_setting="Enabled" if model_cache else "Disabled"
                ),
            ),
        )
        self.cfn_model.node.add_dependency(role_policy(self.role))
        self._create_endpoint_config(
            variant=instance_variant(
                variant_name=variant_name,
                model_name=self.cfn_model.attr_model_name,
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
            ),
            instance_type=instance_type,
            volume_key=volume_key,
        )
        # Named after its instance type: a new type replaces the endpoint (scaling allows that).
        self._create_endpoint(instance_type=instance_type)

    @property
    def model_name(self) -> str:
        """The multi-model ``AWS::SageMaker::Model``'s name."""
        return self.cfn_model.attr_model_name

    def grant_invoke(
        self, grantee: iam.IGrantable, target_models: Sequence[str] | None = None
    ) -> iam.Grant:
        """``sagemaker:InvokeEndpoint``, optionally only for some ``TargetModel`` values.

        ``target_models`` (default None: every model under the prefix) are ``StringLike``
        patterns on ``sagemaker:TargetModel``, e.g. ``["en/*", "summarizer-v2.tar.gz"]``.
        """
        if target_models is None:
            return super().grant_invoke(grantee)
        if isinstance(target_models, str) or not target_models:
            raise_if_problems(
                "grant_invoke",
                [f"target_models: must be a non-empty list of patterns (got {target_models!r})"],
            )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[self.endpoint_arn],
            conditions={"StringLike": {"sagemaker:TargetModel": list(target_models)}},
        )

    def grant_add_models(self, grantee: iam.IGrantable) -> iam.Grant:
        """Upload archives under the prefix (multipart included) and encrypt them.

        A new archive is servable on its first request: no deployment is needed.
        """
        return self._grant_prefix(
            grantee,
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            ["kms:GenerateDataKey", "kms:Decrypt"],
            "uploads archives",
        )

    def _grant_prefix(
        self, grantee: iam.IGrantable, actions: list[str], key_actions: list[str], why: str
    ) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=actions,
            resource_arns=[self.artifacts_bucket.arn_for_objects(f"{self.artifacts_prefix}*")],
        )
        if self.artifacts_key is not None:
            grant = grant.combine(self.artifacts_key.grant(grantee, *key_actions))
        if isinstance(grantee, Construct) and isinstance(self.artifacts_bucket, Construct):
            bucket = (
                arn_placeholder(self.artifacts_bucket)
                if isinstance(self.artifacts_bucket, s3.Bucket)
                else self.artifacts_bucket.bucket_arn
            )
            acknowledge(
                grantee,
                f"AwsSolutions-IAM5[Resource::{bucket}/{self.artifacts_prefix}*]",
                f"A multi-model endpoint {why} by key under {self.artifacts_prefix} (the "
                "TargetModel of each request); nothing outside that prefix.",
            )
        return grant

    def metric_model_cache_hit(self, **props: Any) -> cloudwatch.Metric:
        """Share of requests whose model was already loaded (Average)."""
        return self.metric("ModelCacheHit", **props)

    def metric_loaded_model_count(self, **props: Any) -> cloudwatch.Metric:
        """Models loaded per instance (Average; Sum for the whole endpoint)."""
        return self.metric("LoadedModelCount", **props)

    def metric_model_loading_wait_time(self, **props: Any) -> cloudwatch.Metric:
        """Microseconds a request waited for its model to download and load (Average)."""
        return self.metric("ModelLoadingWaitTime", **props)
