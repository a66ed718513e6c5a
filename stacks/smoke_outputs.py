"""The stack outputs the smoke test reads, and the environment variables that carry them.

The contract between the stacks, which name these outputs and hand them to the pipeline's smoke
step, and the smoke test (``summarizer/client/smoke.py``), which reads them. It lives with the app
(the tools read the app, never the other way round) and needs neither boto3 nor the CDK.
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
