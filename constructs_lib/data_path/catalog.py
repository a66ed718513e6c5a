"""The curated summaries as a SQL table: Glue database and table, and an Athena workgroup."""

from __future__ import annotations

import re
from functools import cache

from aws_cdk import Fn, RemovalPolicy, Size, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib import _values as cdk_values

# Columns of a curated row, in the order of the data path contract.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("job_id", "string", "First 32 hex of sha256(bucket/key#version)"),
    ("submission", "string", "First path segment after inputs/ ('-' for none)"),
    ("source_bucket", "string", "Bucket of the source document"),
    ("source_key", "string", "Key of the source document"),
    ("summary", "string", "The generated summary"),
    ("input_tokens", "int", "Tokens of the document as the model read it"),
    ("chunks", "int", "Windows the document was split into"),
    ("rounds", "int", "Summarize-the-summaries rounds"),
    ("model_id", "string", "Hugging Face model id"),
    ("model_revision", "string", "Hub revision ('main' when unpinned)"),
    ("submitted_at", "string", "ISO 8601 UTC; from_iso8601_timestamp() reads it"),
    ("finished_at", "string", "ISO 8601 UTC; from_iso8601_timestamp() reads it"),
)
# Partition projection needs a first day; nothing is written before the project existed.
PROJECTION_START = "2026-01-01"
DEFAULT_BYTES_SCANNED_CUTOFF = Size.gibibytes(10)
GLUE_NAME = re.compile(r"[^a-z0-9_]")


@cache
def stack_id_prefix() -> str:
    """The first 8 hex digits of this stack's id (a token): unique to each create of a stack.

    An intrinsic valid in every stack, so made once per process (jsii round trips).
    """
    return Fn.select(0, Fn.split("-", cdk_values.stack_uuid()))


def glue_name(name: str) -> str:
    """``name`` as Athena likes a database name: lowercase letters, digits and underscores."""
    return GLUE_NAME.sub("_", name.lower())


class SummariesCatalog(Construct):
    """Glue database and table over ``s3://<bucket>/<dataset_prefix>``, and an Athena workgroup.

    The table reads JSON Lines with the OpenX JSON SerDe and is partitioned by ``dt``
    (``yyyy-MM-dd``, the finished date) with partition projection, so new days are queryable
    without a crawler or ``MSCK REPAIR``. The workgroup enforces its configuration: results go
    to ``results_prefix`` encrypted with SSE-KMS and ``key``, and a query stops after
    ``bytes_scanned_cutoff``. The Glue definitions hold no data and go with the stack.

    Rebuilding a stack works: a retained workgroup keeps its saved queries under the old
    stack's name, and the new stack's workgroup is named after the new stack id, so the two
    never collide (a fixed name would fail the create). The Glue database and table are deleted
    with the stack, so their fixed names are free again. A ``workgroup_name`` given with RETAIN
    collides on a rebuild until the old workgroup is deleted.

    Args:
        bucket_name: the bucket of the dataset and the query results.
        key: encrypts the query results (the bucket's key).
        dataset_prefix: the table's location under the bucket.
        results_prefix: where the workgroup writes query results.
        bytes_scanned_cutoff: stops a query that scans more. Default:
            ``DEFAULT_BYTES_SCANNED_CUTOFF`` (10 GB).
        database_name: the Glue database. Default: ``None`` (the stack's name, lower case,
            ``_`` for ``-``).
        table_name: the Glue table. Default: ``"summaries"``.
        workgroup_name: the Athena workgroup. Default: ``None``
            (``<stack>-summaries-<first 8 hex of the stack id>``).
        removal_policy: for the workgroup; with ``DESTROY`` it is deleted together with its
            saved queries. Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        dataset_prefix: str,
        results_prefix: str,
        bytes_scanned_cutoff: Size = DEFAULT_BYTES_SCANNED_CUTOFF,
        database_name: str | None = None,
        table_name: str = "summaries",
        workgroup_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        stack_name = Stack.of(self).stack_name
        self.database_name = database_name or glue_name(stack_name)
        self.table_name = table_name
        self.workgroup_name = workgroup_name or f"{stack_name}-summaries-{stack_id_prefix()}"
        location = f"s3://{bucket_name}/{dataset_prefix}"

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=cdk_values.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description="Summaries produced by the PEGASUS data path",
            ),
        )
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=cdk_values.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table_name,
                description="One row per summarized document (JSON Lines, by finished date)",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(
                        name="dt", type="string", comment="Finished date, yyyy-MM-dd (UTC)"
                    )
                ],
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": f"{PROJECTION_START},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": f"{location}dt=${{dt}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        # A malformed line is skipped instead of failing the whole query.
                        parameters={"ignore.malformed.json": "true"},
                    ),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind, comment=comment)
                        for name, kind, comment in COLUMNS
                    ],
                ),
            ),
        )
        self.table.node.add_dependency(self.database)

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.workgroup_name,
            description="Queries over the summaries dataset",
            state="ENABLED",
            # Lets CloudFormation delete the workgroup together with its saved queries.
            recursive_delete_option=removal_policy == RemovalPolicy.DESTROY,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=int(bytes_scanned_cutoff.to_bytes()),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket_name}/{results_prefix}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        self.workgroup.apply_removal_policy(removal_policy)
