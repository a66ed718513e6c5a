"""The jobs table: one item per document (or direct request), with the outcome of its summary."""

from __future__ import annotations

from functools import cached_property

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Names shared with runtime/jobs.py through the data path contract.
PARTITION_KEY = "job_id"
TTL_ATTRIBUTE = "expires_at"
BY_STATUS_INDEX = "by-status"
BY_SUBMISSION_INDEX = "by-submission"

# What the dispatcher and the recorder do to a job: read it, create it, move it forward with
# conditional writes. No Scan, no DeleteItem, no batch writes (they cannot carry a condition).
RECORD_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
# The recorder alone reads a request's jobs in batches.
BATCH_READ_ACTION = "dynamodb:BatchGetItem"
READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
# DynamoDB calls KMS on the caller's behalf for a table on a customer-managed key.
KEY_READ_ACTIONS = ["kms:Decrypt", "kms:DescribeKey"]
KEY_WRITE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]


class JobsTable(Construct):
    """DynamoDB table of jobs: key ``job_id``, GSIs ``by-status`` and ``by-submission``.

    On-demand capacity, point-in-time recovery, encrypted with ``key`` (the storage key, so one
    key guards the documents and what is known about them), TTL on ``expires_at``.

    Args:
        key: encrypts the table.
        removal_policy: with ``RETAIN`` the table outlives the stack and has deletion
            protection on. Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        self.table.add_global_secondary_index(
            index_name=BY_STATUS_INDEX,
            partition_key=dynamodb.Attribute(name="status", type=string),
            sort_key=dynamodb.Attribute(name="updated_at", type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table.add_global_secondary_index(
            index_name=BY_SUBMISSION_INDEX,
            partition_key=dynamodb.Attribute(name="submission", type=string),
            sort_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )

    # The functions' environments and every grant name the table: each read of a table
    # attribute is a jsii round trip, so each is read once.
    @cached_property
    def table_name(self) -> str:
        return self.table.table_name

    @cached_property
    def table_arn(self) -> str:
        return self.table.table_arn

    def index_arns(self) -> list[str]:
        """ARNs of the two GSIs, named exactly (no ``index/*``)."""
        return [f"{self.table_arn}/index/{name}" for name in (BY_STATUS_INDEX, BY_SUBMISSION_INDEX)]

    def grant_record(self, grantee: iam.IGrantable, *, batch_reads: bool = False) -> iam.Grant:
        """Read and conditionally write jobs (the dispatcher's and recorder's part).

        With ``batch_reads`` [False] also ``dynamodb:BatchGetItem`` (the recorder's).
        """
        actions = [*RECORD_ACTIONS, BATCH_READ_ACTION] if batch_reads else RECORD_ACTIONS
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=actions, resource_arns=[self.table_arn]
        )
        return grant.combine(self.key.grant(grantee, *KEY_WRITE_ACTIONS))

    def grant_find_waiting(self, grantee: iam.IGrantable) -> iam.Grant:
        """Query the ``by-status`` index: the recorder finds the jobs still waiting for a
        request whose body is gone (the key use comes with ``grant_record``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table_arn}/index/{BY_STATUS_INDEX}"],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read jobs and query both indexes (what a client's ``status``/``failures`` needs)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=READ_ACTIONS,
            resource_arns=[self.table_arn, *self.index_arns()],
        )
        return grant.combine(self.key.grant(grantee, *KEY_READ_ACTIONS))
