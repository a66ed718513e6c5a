"""The stack outputs the smoke test reads, and the environment variables that carry them.

Kept apart from ``smoke.py`` (which needs boto3) so that the pipeline stack can name them while
synthesizing with nothing but the CDK installed (``make synth``).
"""

from __future__ import annotations

# Stack output -> the environment variable the pipeline's smoke step gets it in.
OUTPUT_ENV = {
    "EndpointName": "SMOKE_ENDPOINT_NAME",
    "OutputLocation": "SMOKE_OUTPUT_LOCATION",
    "FailureLocation": "SMOKE_FAILURE_LOCATION",
    "DataBucketName": "SMOKE_DATA_BUCKET",
    "RequestPrefix": "SMOKE_REQUEST_PREFIX",
    "JobsTableName": "SMOKE_JOBS_TABLE",
}
