"""Data capture of a real-time endpoint into the data bucket: where, how much, for how long, who.

``EndpointDataCapture`` sets ``DataCaptureConfig`` on a real-time endpoint's configuration (the
one endpoint type whose capture AWS documents; ``data_capture_settings`` says which are not),
writing to ``captures/`` of an ``AsyncInferenceStorage`` bucket under its KMS key, with an S3
lifecycle rule that expires the captures. SageMaker writes one JSON Lines file per batch of
captured invocations under ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``
("Capture data from real-time endpoint",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html).
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib._validation import raise_if_problems
from constructs_lib.endpoint.storage import AsyncInferenceStorage
from constructs_lib.hosting.data_capture_settings import CAPTURE_PREFIX, DataCaptureSettings


class CapturedEndpoint(Protocol):
    """What data capture needs of an endpoint: its configuration and its execution role."""

    @property
    def cfn_endpoint_config(self) -> sagemaker.CfnEndpointConfig: ...

    @property
    def role(self) -> iam.IRole: ...


class EndpointDataCapture(Construct):
    """Captures a sample of a real-time endpoint's requests and responses to the data bucket.

    The endpoint gets ``DataCaptureConfig``: ``settings.sampling_percentage`` of its
    invocations, ``settings.capture_modes``, the JSON and CSV content types stored as text,
    written under ``prefix`` of ``storage``'s bucket, encrypted with the bucket's KMS key
    (``KmsKeyId``; none for a brought SSE-S3 bucket). The endpoint's execution role may write
    there (and use the key); the prefix expires after ``settings.retention_days``.
    ``grant_read`` lets an analyst or a job list and read the captures.

    What a caller must know: captures are customer content (whole requests and responses) and
    cost S3 storage, PUT requests and KMS requests (docs/data-capture.md); ``DataCaptureConfig`` is
    create-only, so turning capture on, off or changing it replaces the endpoint configuration
    and updates the endpoint. Refused for asynchronous endpoints (their capture is not
    documented; their requests and results are in S3 already) and serverless ones (documented as
    unsupported).

    Args:
        endpoint: a ``RealtimeEndpoint``, or any endpoint with ``cfn_endpoint_config`` and
            ``role``.
        storage: the bucket (and key) the captures are written to.
        settings: sampling, modes and retention (``DataCaptureSettings``, enabled).
        prefix: the captures' prefix in the bucket. Default: ``CAPTURE_PREFIX``
            (``"captures/"``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: CapturedEndpoint,
        storage: AsyncInferenceStorage,
        settings: DataCaptureSettings,
        prefix: str = CAPTURE_PREFIX,
    ) -> None:
        problems = [f"settings.{p}" for p in settings.problems()]
        if settings.enabled is not True:
            problems.append(
                "settings.enabled: is false; leave EndpointDataCapture out to capture nothing "
                f"(got {settings.enabled!r})"
            )
        problems += endpoint_problems(endpoint)
        raise_if_problems("EndpointDataCapture", problems)
        super().__init__(scope, construct_id)
        self.storage = storage
        self.settings = settings
        self.prefix = prefix
        # A lifecycle rule expires what SageMaker writes (and the prefix may not overlap others).
        storage.add_prefix("captures", prefix, retention_days=settings.retention_days)
        self.destination_uri = storage.s3_uri(prefix)
        key = storage.encryption_key
        headers = None
        if settings.json_content_types or settings.csv_content_types:
            headers = sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=list(settings.json_content_types) or None,
                csv_content_types=list(settings.csv_content_types) or None,
            )
        endpoint.cfn_endpoint_config.data_capture_config = (
            sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=settings.sampling_percentage,
                destination_s3_uri=self.destination_uri,
                kms_key_id=None if key is None else key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode)
                    for mode in settings.capture_modes
                ],
                capture_content_type_header=headers,
            )
        )
        # SageMaker writes the captures with the endpoint's execution role (as it writes async
        # results): objects under the prefix, in parts for large batches, with the bucket key.
        storage.grant_write_prefixes(endpoint.role, prefix)
        model = getattr(endpoint, "model", None)
        allow = getattr(model, "allow_s3_through_endpoint", None)
        if allow is not None:
            # A model in a VPC with its own S3 gateway endpoint writes through it.
            allow(["s3:PutObject", "s3:AbortMultipartUpload"], [storage.objects_arn(prefix)])

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """List and read the captures (and decrypt them): for audits, debugging and building
        evaluation sets. Nothing else of the bucket."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.storage.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{self.prefix}*"]}},
        )
        return grant.combine(self.storage.grant_read_prefixes(grantee, self.prefix))


def endpoint_problems(endpoint: Any) -> list[str]:
    """Why ``endpoint`` cannot have data capture, as readable lines (none when it can)."""
    from constructs_lib.endpoint.construct import AsyncEndpoint

    if isinstance(endpoint, AsyncEndpoint):
        return [
            "endpoint: data capture is documented for real-time endpoints only; for "
            "asynchronous endpoints AWS does not document it, and their requests and results "
            "are S3 objects already (inputs/, requests/, results/, failures/, each with its "
            "retention)"
        ]
    from constructs_lib.hosting.serverless import ServerlessEndpoint

    kind = type(endpoint).__name__
    if isinstance(endpoint, ServerlessEndpoint):
        return [
            "endpoint: serverless endpoints do not support data capture (SageMaker developer "
            "guide, Serverless Inference, feature exclusions)"
        ]
    if getattr(endpoint, "cfn_endpoint_config", None) is None or not hasattr(endpoint, "role"):
        return [
            f"endpoint: needs cfn_endpoint_config and role, as a RealtimeEndpoint has (got {kind})"
        ]
    return []
