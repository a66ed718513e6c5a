"""What people get: the Athena analyst's grant (the client's is ``DataPath.grant_client``), and
the listing grant that lets the data path's functions tell a missing object from a refusal."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from ..storage import AsyncInferenceStorage
from .catalog import SummariesCatalog
from .layout import ATHENA_RESULTS_PREFIX, DATASET_PREFIX


def grant_query(
    grantee: iam.IGrantable, *, storage: AsyncInferenceStorage, catalog: SummariesCatalog
) -> iam.Grant:
    """Run Athena queries over the summaries in this data path's workgroup.

    The workgroup's query actions, the Glue database and table definitions, listing and
    reading the dataset, writing and reading ``athena-results/``, and the storage key.
    """
    stack = Stack.of(catalog)
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=[
            "athena:StartQueryExecution",
            "athena:StopQueryExecution",
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetWorkGroup",
        ],
        resource_arns=[
            stack.format_arn(
                service="athena", resource="workgroup", resource_name=catalog.workgroup_name
            )
        ],
    )
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["glue:GetDatabase", "glue:GetTable"],
            resource_arns=[
                stack.format_arn(service="glue", resource="catalog"),
                stack.format_arn(
                    service="glue", resource="database", resource_name=catalog.database_name
                ),
                stack.format_arn(
                    service="glue",
                    resource="table",
                    resource_name=f"{catalog.database_name}/{catalog.table_name}",
                ),
            ],
        )
    )
    # Athena lists the table's location and the results prefix; nothing else of the bucket.
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[storage.bucket_arn],
            conditions={
                "StringLike": {"s3:prefix": [f"{DATASET_PREFIX}*", f"{ATHENA_RESULTS_PREFIX}*"]}
            },
        )
    )
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetBucketLocation"],
            resource_arns=[storage.bucket_arn],
        )
    )
    grant = grant.combine(
        storage.grant_read_prefixes(grantee, DATASET_PREFIX, ATHENA_RESULTS_PREFIX)
    )
    return grant.combine(storage.grant_write_prefixes(grantee, ATHENA_RESULTS_PREFIX))


def grant_list_prefixes(
    grantee: iam.IGrantable, *, storage: AsyncInferenceStorage, prefixes: list[str]
) -> iam.Grant:
    """``s3:ListBucket`` on the data bucket, for keys under ``prefixes`` only.

    Without it S3 answers a read of a missing object with 403 AccessDenied instead of 404
    NoSuchKey (GetObject's "Permissions" in the S3 API reference), so a function could not
    tell an object that expired from a permission mistake. The ``s3:prefix`` condition keeps
    the listing to the prefixes the function reads anyway.
    """
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucket"],
        resource_arns=[storage.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    )
