"""Encrypted S3 storage for asynchronous inference: inputs, results and failures."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._nag import (
    acknowledge_all,
    acknowledge_control,
    arn_placeholder,
    checkov_skip,
    checkov_skips,
    nag_resource,
)
from constructs_lib._validation import ConfigurationError, check_int, raise_if_problems
from constructs_lib.endpoint.keys import customer_key

DEFAULT_INPUT_RETENTION_DAYS = 7
DEFAULT_RESULT_RETENTION_DAYS = 30


class AsyncInferenceStorage(Construct):
    """One bucket with ``inputs/``, ``results/`` and ``failures/`` prefixes, and its access logs.

    The data bucket is encrypted with a customer-managed KMS key (rotated yearly, S3 bucket keys
    on to keep KMS request costs flat under bursts), refuses plain HTTP, blocks all public access,
    is versioned, expires each prefix after its retention and logs every access to a second,
    SSE-S3 bucket (S3 server access logging cannot deliver to a KMS-encrypted bucket).

    With ``removal_policy=DESTROY`` the data bucket is emptied and deleted with the stack (a small
    custom resource does the emptying); with ``RETAIN`` data and keys outlive the stack. The
    access-log bucket is always retained: S3 delivers access logs late and best effort, so the
    records of the data bucket's own clean-up arrive after any emptying and would fail the
    bucket's deletion (aws/aws-cdk#16332, #21776). Those records are also the audit trail of the
    deletion. Its lifecycle expires every log, so a retained log bucket empties itself.

    Bring your own bucket (``existing_bucket``) and nothing is created, neither bucket,
    access-log bucket nor key. Grants stay exact: the object actions under each prefix.
    Lifecycle, versioning, access logging, TLS enforcement and deletion stay the bucket owner's,
    so retention days and a removal policy are refused with an existing bucket, and
    ``add_prefix`` only registers a prefix (its expiry is the owner's).

    Args:
        input_retention_days: days before inputs expire; refused with ``existing_bucket``.
            Default: ``None`` (``DEFAULT_INPUT_RETENTION_DAYS``, 7, for a created bucket).
        result_retention_days: days before results and failures expire; refused with
            ``existing_bucket``. Default: ``None`` (``DEFAULT_RESULT_RETENTION_DAYS``, 30, for a
            created bucket).
        removal_policy: ``DESTROY`` empties and deletes the data bucket with the stack;
            ``RETAIN`` keeps data and keys. Refused with ``existing_bucket``. Default: ``None``
            (``RemovalPolicy.RETAIN`` for a created bucket).
        input_prefix: where requests are uploaded. Default: ``"inputs/"``.
        output_prefix: where results land. Default: ``"results/"``.
        failure_prefix: where failures land. Default: ``"failures/"``.
        existing_bucket: your bucket instead of a created one. Default: ``None`` (created).
        existing_key: the customer-managed key that encrypts ``existing_bucket``, so that every
            grant includes it; only with ``existing_bucket``. Default: ``None`` (grants are S3
            only: an SSE-S3 bucket).

    Attributes: ``bucket`` (``s3.IBucket``); ``input_retention_days`` and
    ``result_retention_days`` (None with an existing bucket); ``encryption_key`` (``kms.IKey``,
    None for an existing bucket given without a key); ``key`` (the same, but raising
    ``ConfigurationError`` when there is none, for callers that cannot work without one);
    ``access_logs_bucket`` (None with an existing bucket); ``existing`` (True with an existing
    bucket).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_retention_days: int | None = None,
        result_retention_days: int | None = None,
        removal_policy: RemovalPolicy | None = None,
        input_prefix: str = "inputs/",
        output_prefix: str = "results/",
        failure_prefix: str = "failures/",
        existing_bucket: s3.IBucket | None = None,
        existing_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems: list[str] = []
        if existing_bucket is not None:
            # What we would have to apply to a bucket we do not own: refused, not ignored.
            for name, value in (
                ("input_retention_days", input_retention_days),
                ("result_retention_days", result_retention_days),
                ("removal_policy", removal_policy),
            ):
                if value is not None:
                    problems.append(
                        f"{name}: cannot apply to existing_bucket, whose lifecycle and deletion "
                        f"are its owner's; leave it unset (got {_shown(value)})"
                    )
        else:
            if existing_key is not None:
                problems.append(
                    "existing_key: only applies with existing_bucket (the key that encrypts it); "
                    "a created bucket gets its own key"
                )
            if input_retention_days is None:
                input_retention_days = DEFAULT_INPUT_RETENTION_DAYS
            if result_retention_days is None:
                result_retention_days = DEFAULT_RESULT_RETENTION_DAYS
            check_int(problems, "input_retention_days", input_retention_days, minimum=1)
            check_int(problems, "result_retention_days", result_retention_days, minimum=1)
        for name, prefix in (
            ("input_prefix", input_prefix),
            ("output_prefix", output_prefix),
            ("failure_prefix", failure_prefix),
        ):
            if not prefix.endswith("/") or prefix.startswith("/"):
                problems.append(
                    f"{name}: must end with '/' and not start with one (got {prefix!r})"
                )
        if len({input_prefix, output_prefix, failure_prefix}) != 3:
            problems.append("prefixes: inputs, results and failures need distinct prefixes")
        raise_if_problems("AsyncInferenceStorage", problems)

        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        self.failure_prefix = failure_prefix
        # Days before inputs and results expire; None for an existing bucket (its owner's).
        self.input_retention_days: int | None = input_retention_days
        self.result_retention_days: int | None = result_retention_days
        # Every prefix with a lifecycle rule; add_prefix keeps new ones from overlapping these.
        self.prefixes: list[str] = [input_prefix, output_prefix, failure_prefix]
        self.existing = existing_bucket is not None
        # Asked for by every grant and output: each would be a jsii round trip.
        self._bucket_name: str | None = None
        self._bucket_arn: str | None = None
        self._cfn_data_bucket: s3.CfnBucket | None = None
        if existing_bucket is not None:
            self.bucket: s3.IBucket = existing_bucket
            self.encryption_key: kms.IKey | None = existing_key
            self.access_logs_bucket: s3.IBucket | None = None
            return
        assert input_retention_days is not None and result_retention_days is not None
        removal_policy = removal_policy or RemovalPolicy.RETAIN
        destroy = removal_policy == RemovalPolicy.DESTROY

        key = customer_key(
            self,
            "Key",
            description="Encrypts async inference inputs, results and failures",
            removal_policy=removal_policy,
        )
        self.encryption_key = key
        log_days = max(result_retention_days, 90)
        access_logs_bucket = access_log_bucket(self, "AccessLogs", expiration_days=log_days)
        self.access_logs_bucket = access_logs_bucket

        def expire(rule_id: str, prefix: str, days: int) -> s3.LifecycleRule:
            return s3.LifecycleRule(
                id=rule_id,
                prefix=prefix,
                expiration=cdk_values.days(days),
                noncurrent_version_expiration=cdk_values.days(1),
                abort_incomplete_multipart_upload_after=cdk_values.days(1),
            )

        bucket = private_kms_bucket(
            self,
            "Data",
            key=key,
            access_logs=access_logs_bucket,
            access_logs_prefix="data-bucket/",
            lifecycle_rules=[
                expire("expire-inputs", input_prefix, input_retention_days),
                expire("expire-results", output_prefix, result_retention_days),
                expire("expire-failures", failure_prefix, result_retention_days),
            ],
            removal_policy=removal_policy,
            auto_delete_objects=destroy,
        )
        self.bucket = bucket

        acknowledge_control(
            bucket,
            "s3_bucket_object_lock_enabled_check",
            "Inputs, summaries and failures are transient customer content that must expire "
            "after their retention (and be deletable in dev); Object Lock would keep them longer.",
        )
        # Read once: the grants' acknowledgements name it too (arn_placeholder).
        self._cfn_data_bucket = _cfn_bucket(bucket)
        # Object-level events go to EventBridge natively (AWS Control Tower's CT.S3.PR.4 reads
        # the bucket's own NotificationConfiguration): free without rules, so an organization
        # can watch the bucket. The data path adds its queue here too (data_path/delivery.py).
        self._cfn_data_bucket.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

        if destroy:
            _quiet_auto_delete_provider(self)

    @property
    def key(self) -> kms.IKey:
        """The KMS key of the data bucket: the created one, or ``existing_key``.

        Raises ``ConfigurationError`` for an existing bucket given without ``existing_key``: a
        caller that encrypts with the bucket's key (the data path's table, batch transform) needs
        one. Callers that work without a key read ``encryption_key`` instead.
        """
        if self.encryption_key is None:
            raise ConfigurationError(
                "AsyncInferenceStorage",
                [
                    f"existing_key: {self.node.path} was given existing_bucket without "
                    "existing_key, and a construct using it needs the customer-managed KMS key "
                    "that encrypts the bucket: pass it as existing_key"
                ],
            )
        return self.encryption_key

    def s3_uri(self, prefix: str) -> str:
        """``s3://<bucket>/<prefix>`` (a token until deploy)."""
        return f"s3://{self.bucket_name}/{prefix}"

    @property
    def bucket_name(self) -> str:
        """The data bucket's name (a token until deploy), asked of the CDK once."""
        if self._bucket_name is None:
            self._bucket_name = self.bucket.bucket_name
        return self._bucket_name

    @property
    def bucket_arn(self) -> str:
        """The data bucket's ARN (a token until deploy), asked of the CDK once."""
        if self._bucket_arn is None:
            self._bucket_arn = self.bucket.bucket_arn
        return self._bucket_arn

    @property
    def input_uri(self) -> str:
        return self.s3_uri(self.input_prefix)

    @property
    def output_uri(self) -> str:
        return self.s3_uri(self.output_prefix)

    @property
    def failure_uri(self) -> str:
        return self.s3_uri(self.failure_prefix)

    def objects_arn(self, prefix: str) -> str:
        """ARN of every object under ``prefix``."""
        # What Bucket.arn_for_objects returns (``<bucket ARN>/<pattern>``), without a round trip.
        return f"{self.bucket_arn}/{prefix}*"

    def grant_read_inputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:GetObject`` under the input prefix, and decrypting with the key."""
        return self._grant(grantee, ["s3:GetObject"], [self.input_prefix], ["kms:Decrypt"])

    def grant_write_inputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Upload under the input prefix, including multipart uploads, and encrypt."""
        return self._grant(
            grantee,
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [self.input_prefix],
            ["kms:GenerateDataKey", "kms:Decrypt"],
        )

    def grant_write_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write results and failures as SageMaker does (multipart included) and encrypt."""
        return self._grant(
            grantee,
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [self.output_prefix, self.failure_prefix],
            ["kms:GenerateDataKey", "kms:Decrypt"],
        )

    def grant_read_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read results and failures, and decrypt them."""
        return self._grant(
            grantee, ["s3:GetObject"], [self.output_prefix, self.failure_prefix], ["kms:Decrypt"]
        )

    def add_prefix(self, name: str, prefix: str, *, retention_days: int) -> None:
        """Declare another prefix of the data bucket (e.g. the data path's ``requests/``).

        Its objects, and their noncurrent versions after a day, expire after
        ``retention_days``. ``name`` names the prefix in errors and in the lifecycle rule id.
        The prefix must end with ``/`` and must not overlap any other prefix of the bucket.

        With ``existing_bucket`` the prefix is only registered (grants and the overlap check use
        it): no lifecycle rule can be added to a bucket this stack does not own, so expiring its
        objects is the bucket owner's job.
        """
        problems: list[str] = []
        check_int(problems, f"{name}_retention_days", retention_days, minimum=1)
        if not isinstance(prefix, str) or not prefix.endswith("/") or prefix.startswith("/"):
            problems.append(f"{name}: must end with '/' and not start with one (got {prefix!r})")
        else:
            for other in self.prefixes:
                if prefix.startswith(other) or other.startswith(prefix):
                    problems.append(
                        f"{name}: {prefix!r} overlaps the prefix {other!r} already in the bucket"
                    )
        raise_if_problems("AsyncInferenceStorage", problems)
        self.prefixes.append(prefix)
        if not isinstance(self.bucket, s3.Bucket):
            return
        self.bucket.add_lifecycle_rule(
            id=f"expire-{name.replace('_', '-')}",
            prefix=prefix,
            expiration=cdk_values.days(retention_days),
            noncurrent_version_expiration=cdk_values.days(1),
            abort_incomplete_multipart_upload_after=cdk_values.days(1),
        )

    def grant_read_prefixes(
        self, grantee: iam.IGrantable, *prefixes: str, versions: bool = False
    ) -> iam.Grant:
        """``s3:GetObject`` under each of ``prefixes``, and decrypting with the key.

        With ``versions`` [False] also ``s3:GetObjectVersion``: reading a given version (as an
        S3 event's ``versionId`` names it) is a separate permission on a versioned bucket.
        """
        object_actions = ["s3:GetObject", "s3:GetObjectVersion"] if versions else ["s3:GetObject"]
        return self._grant(grantee, object_actions, list(prefixes), ["kms:Decrypt"])

    def grant_write_prefixes(
        self, grantee: iam.IGrantable, *prefixes: str, multipart: bool = True
    ) -> iam.Grant:
        """Upload under each of ``prefixes`` and encrypt with the key.

        With ``multipart`` [True] multipart uploads too: ``s3:AbortMultipartUpload``, and
        ``kms:Decrypt``, which S3 needs to complete them. Without it, single ``PutObject``
        calls only: ``s3:PutObject`` and ``kms:GenerateDataKey`` (S3 User Guide, "Protecting
        data with SSE-KMS"), for callers that never upload in parts.
        """
        if not multipart:
            return self._grant(grantee, ["s3:PutObject"], list(prefixes), ["kms:GenerateDataKey"])
        return self._grant(
            grantee,
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            list(prefixes),
            ["kms:GenerateDataKey", "kms:Decrypt"],
        )

    def _grant(
        self,
        grantee: iam.IGrantable,
        actions: list[str],
        prefixes: list[str],
        key_actions: list[str],
    ) -> iam.Grant:
        # Exact actions instead of Bucket.grant_*'s "s3:GetObject*"/"s3:Abort*" families: the
        # only wildcard left is the object key under one prefix, acknowledged where it appears.
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=actions,
            resource_arns=[self.objects_arn(prefix) for prefix in prefixes],
        )
        if self.encryption_key is not None:
            grant = grant.combine(self.encryption_key.grant(grantee, *key_actions))
        if isinstance(grantee, Construct):
            findings: dict[str, str] = {}
            for prefix in prefixes:
                # A created bucket appears as <Data.Arn>; an imported one as its ARN literal.
                resource = (
                    nag_resource(self, self.objects_arn(prefix))
                    if self.existing
                    else f"{arn_placeholder(self._cfn_data_bucket or self.bucket)}/{prefix}*"
                )
                findings[f"AwsSolutions-IAM5[Resource::{resource}]"] = (
                    f"Object keys are chosen per request; access is limited to {prefix}."
                )
            acknowledge_all(grantee, findings=findings)
        return grant


def _shown(value: object) -> str:
    if isinstance(value, RemovalPolicy):
        return f"RemovalPolicy.{value.name}"
    return repr(value)


def private_kms_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    access_logs_prefix: str,
    lifecycle_rules: list[s3.LifecycleRule],
    removal_policy: RemovalPolicy,
    auto_delete_objects: bool | None = None,
) -> s3.Bucket:
    """A bucket encrypted with the customer-managed ``key`` (with an S3 Bucket Key, so that KMS
    is asked once per bucket and period rather than per object), TLS-only, private, owned by the
    account, versioned, and logging its requests to ``access_logs`` under ``access_logs_prefix``."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        lifecycle_rules=lifecycle_rules,
        removal_policy=removal_policy,
        auto_delete_objects=auto_delete_objects,
    )


def access_log_bucket(scope: Construct, construct_id: str, *, expiration_days: int) -> s3.Bucket:
    """A bucket for S3 server access logs: SSE-S3, TLS-only, versioned, retained, expiring.

    Server access logs can only be delivered to an SSE-S3 bucket without Object Lock, and they
    arrive late and best effort, so the bucket is never deleted with its stack (late deliveries
    would fail the deletion); each log expires after ``expiration_days`` instead. The controls
    and checks it cannot meet are acknowledged on it, with the reason.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # Ownership is left to CDK: it needs ObjectWriter (log delivery ACL) unless the app
        # sets @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy, as this project's cdk.json does.
        versioned=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=cdk_values.days(expiration_days),
                noncurrent_version_expiration=cdk_values.days(1),
                abort_incomplete_multipart_upload_after=cdk_values.days(1),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    cfn = _cfn_bucket(bucket)
    # Object-level events go to EventBridge (free without rules), so an organization can
    # watch its log buckets; natively, without CDK's notifications custom resource.
    cfn.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
    )
    acknowledge_all(
        bucket,
        controls={
            "s3_bucket_logging_enabled_check": (
                "This is the access-log bucket itself; logging it would log its own logging."
            ),
            "s3_bucket_default_encryption_kms_check": (
                "S3 server access logs can only be delivered to an SSE-S3 bucket, not SSE-KMS."
            ),
            "s3_bucket_object_lock_enabled_check": (
                "S3 cannot deliver server access logs to a bucket with Object Lock (S3 User "
                "Guide, Configuring S3 Object Lock)."
            ),
        },
    )
    checkov_skip(
        cfn,
        "CKV_AWS_18",
        "This is the access-log bucket; logging it into itself would log forever.",
    )
    return bucket


def _cfn_bucket(bucket: s3.Bucket) -> s3.CfnBucket:
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    return cfn


def _quiet_auto_delete_provider(scope: Construct) -> None:
    """Tell cfn-lint, checkov and Control Tower's rules what CDK's auto-delete provider is.

    aws-cdk-lib's singleton provider function both ``GetAtt``s its role and depends on it
    (cfn-lint W3005), and is a plain function outside any VPC. Each suppression is scoped to that
    one generated resource and rule.
    """
    provider = Stack.of(scope).node.try_find_child(
        "Custom::S3AutoDeleteObjectsCustomResourceProvider"
    )
    handler = provider.node.try_find_child("Handler") if provider else None
    if isinstance(handler, CfnResource):
        handler.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        checkov_skips(
            handler,
            {
                "CKV_AWS_115": "CDK's own provider runs once per stack deletion; no cap needed.",
                "CKV_AWS_116": "CloudFormation invokes CDK's provider and retries it.",
                "CKV_AWS_117": "CDK's provider calls only S3's public API; it needs no VPC.",
            },
        )
        acknowledge_control(
            handler,
            "lambda_inside_vpc_check",
            "CDK's auto-delete provider calls only S3's public API while the stack is deleted.",
        )
