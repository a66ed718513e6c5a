"""Data capture settings (``data_capture`` in ``cdk.json``): pure Python, no CDK import.

SageMaker can write a sample of a real-time endpoint's requests and responses to S3
(``DataCaptureConfig`` of the endpoint configuration; "Capture data from real-time endpoint",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html; "You do
not need to use Model Monitor to capture request or response payloads"). Where it is documented:

- real-time endpoints: yes;
- serverless endpoints: no ("Some of the features currently available for SageMaker Real-time
  Inference are not supported for Serverless Inference, including ... data capture",
  https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html);
- asynchronous endpoints: not documented either way. The API accepts ``DataCaptureConfig`` next
  to ``AsyncInferenceConfig``, but no page says what ``InvokeEndpointAsync`` captures, so this
  library does not promise it. An async request and its result are S3 objects already
  (``inputs/``, ``requests/``, ``results/``, ``failures/``, each with its retention): they are the
  record of what the endpoint received and answered;
- batch transform: its own ``DataCaptureConfig`` on the transform job, not an endpoint's.

SageMaker Model Monitor is closed to new customers ("Amazon SageMaker Model Monitor is no longer
open to new customers",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-availability-change.html): captures
here serve audit, debugging and evaluation sets, and no monitoring schedule reads them.

The limits are the API's (``DataCaptureConfig``, ``CaptureOption``, ``CaptureContentTypeHeader``):
sampling 0-100 %, capture modes ``Input``, ``Output`` or ``InputAndOutput``, at most 10 JSON and
10 CSV content types, each ``type/subtype``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from constructs_lib._validation import check_int

CAPTURE_MODES = ("Input", "Output", "InputAndOutput")
# CaptureContentTypeHeader: 1-10 entries of 1-256 characters each.
CONTENT_TYPE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*/[a-zA-Z0-9](-*[a-zA-Z0-9.])*$")
MAX_CONTENT_TYPES = 10
MAX_CONTENT_TYPE_LENGTH = 256
# Where captures land in the data bucket: <prefix><endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl.
CAPTURE_PREFIX = "captures/"
# S3 lifecycle expiration Days is an Integer (32 bits) in the S3 API.
MAX_RETENTION_DAYS = 2**31 - 1


@dataclass(frozen=True, kw_only=True)
class DataCaptureSettings:
    """What a real-time endpoint writes to ``captures/`` of the data bucket, and for how long.

    Content types in neither list (``text/plain`` bodies among them) are stored base64-encoded.
    """

    #: Captures are customer content (whole articles and their summaries), so nothing is
    #: captured unless asked for.
    enabled: bool = False
    #: The share of requests captured, 0-100 ("A lower value is recommended for Endpoints with
    #: high traffic").
    sampling_percentage: int = 10
    #: Request, response or both per entry (``InputAndOutput`` is one entry for both).
    capture_modes: tuple[str, ...] = ("Input", "Output")
    #: Stored as JSON text: what the summarizer reads and writes.
    json_content_types: tuple[str, ...] = ("application/json", "application/jsonlines")
    #: Stored as CSV text.
    csv_content_types: tuple[str, ...] = ()
    #: Captures expire after this many days (an S3 lifecycle rule on the prefix).
    retention_days: int = 30

    def problems(self) -> list[str]:
        """Every problem, as ``"<field>: ... (got ...)"``."""
        problems: list[str] = []
        if not isinstance(self.enabled, bool):
            problems.append(f"enabled: must be true or false (got {self.enabled!r})")
        check_int(problems, "sampling_percentage", self.sampling_percentage, minimum=0, maximum=100)
        modes = list(self.capture_modes)
        if not modes:
            problems.append(
                f"capture_modes: must name at least one of {', '.join(CAPTURE_MODES)} (got [])"
            )
        for mode in modes:
            if mode not in CAPTURE_MODES:
                problems.append(
                    f"capture_modes: each must be one of {', '.join(CAPTURE_MODES)} (got {mode!r})"
                )
        if len(set(modes)) != len(modes):
            problems.append(f"capture_modes: each mode at most once (got {modes!r})")
        if "InputAndOutput" in modes and len(modes) > 1:
            problems.append(
                "capture_modes: InputAndOutput already captures both; give it alone "
                f"(got {modes!r})"
            )
        for field in ("json_content_types", "csv_content_types"):
            problems += _content_type_problems(field, getattr(self, field))
        both = set(self.json_content_types) & set(self.csv_content_types)
        if both:
            problems.append(
                "csv_content_types: a content type is stored as JSON or as CSV, not both "
                f"(got {sorted(both)!r} in both lists)"
            )
        check_int(
            problems, "retention_days", self.retention_days, minimum=1, maximum=MAX_RETENTION_DAYS
        )
        return problems


def _content_type_problems(field: str, values: Any) -> list[str]:
    problems: list[str] = []
    values = list(values)
    if len(values) > MAX_CONTENT_TYPES:
        problems.append(
            f"{field}: at most {MAX_CONTENT_TYPES} content types, SageMaker's limit "
            f"(got {len(values)})"
        )
    for value in values:
        if (
            not isinstance(value, str)
            or len(value) > MAX_CONTENT_TYPE_LENGTH
            or not CONTENT_TYPE.match(value)
        ):
            problems.append(
                f"{field}: each must be a content type 'type/subtype' of letters, digits, '-' "
                f"and '.', at most {MAX_CONTENT_TYPE_LENGTH} characters (got {value!r})"
            )
    if len(set(values)) != len(values):
        problems.append(f"{field}: each content type at most once (got {values!r})")
    return problems
