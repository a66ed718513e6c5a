"""The data path: documents uploaded to S3 are grouped, summarized and recorded as jobs.

``DataPath`` composes ``WorkQueue`` (SQS + DLQ), ``DataPathFunction`` (the Lambdas),
``JobsTable`` and ``SummariesCatalog`` (Glue + Athena); ``DataPathSettings`` (pure Python) is
what configuration sets. The Lambda code itself is ``runtime/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructs_lib._exports import lazy_exports

if TYPE_CHECKING:
    from constructs_lib.data_path.catalog import SummariesCatalog
    from constructs_lib.data_path.construct import DataPath
    from constructs_lib.data_path.functions import DataPathFunction
    from constructs_lib.data_path.jobs_table import JobsTable
    from constructs_lib.data_path.operations import DataPathAlarms
    from constructs_lib.data_path.queues import WorkQueue
    from constructs_lib.data_path.settings import DataPathSettings, DataPathVpc

# Lazy, like constructs_lib itself: the settings and the runtime import no CDK.
_EXPORTS = {
    "DataPath": "construct",
    "DataPathAlarms": "operations",
    "DataPathFunction": "functions",
    "DataPathSettings": "settings",
    "DataPathVpc": "settings",
    "JobsTable": "jobs_table",
    "SummariesCatalog": "catalog",
    "WorkQueue": "queues",
}
__all__ = [
    "DataPath",
    "DataPathAlarms",
    "DataPathFunction",
    "DataPathSettings",
    "DataPathVpc",
    "JobsTable",
    "SummariesCatalog",
    "WorkQueue",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
