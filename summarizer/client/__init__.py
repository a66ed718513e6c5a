"""The summarizer client: the ``summarizer`` command and its Python API (boto3 only, no CDK).

``SummarizerClient.for_environment("dev")`` finds stack ``PegasusSummarizer-dev``'s outputs and
can ``submit_paths``/``submit_texts``, ``wait``, list ``jobs``, read ``summaries``, list
``failures``, ``retry`` them, and ``invoke_direct`` (a request straight to the endpoint).
"""

from __future__ import annotations

from summarizer.client.api import (
    Counts,
    DirectInvocation,
    Job,
    StackOutputs,
    Submission,
    SummarizerClient,
)
from summarizer.client.errors import (
    AwsError,
    NotFound,
    StackError,
    SummarizerError,
    UsageError,
    WaitTimeout,
)

__all__ = [
    "AwsError",
    "Counts",
    "DirectInvocation",
    "Job",
    "NotFound",
    "StackError",
    "StackOutputs",
    "Submission",
    "SummarizerClient",
    "SummarizerError",
    "UsageError",
    "WaitTimeout",
]
