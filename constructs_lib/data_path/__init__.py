"""The data path: documents uploaded to S3 are grouped, summarized and recorded as jobs.

``DataPath`` composes ``WorkQueue`` (SQS + DLQ), ``DataPathFunction`` (the Lambdas),
``JobsTable`` and ``SummariesCatalog`` (Glue + Athena); ``DataPathSettings`` (pure Python) is
what configuration sets. The Lambda code itself is ``runtime/``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import SummariesCatalog
    from .construct import DataPath
    from .functions import DataPathFunction
    from .jobs_table import JobsTable
    from .operations import DataPathAlarms
    from .queues import WorkQueue
    from .settings import DataPathSettings, DataPathVpc

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
