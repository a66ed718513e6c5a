"""Console links of an endpoint (commercial partition), shown on its dashboard."""

from __future__ import annotations

from constructs_lib import _values as cdk_values


def log_group_console_url(endpoint_name: str) -> str:
    """Console URL of the log group ``/aws/sagemaker/Endpoints/<endpoint_name>``.

    Built for the commercial partition (``console.aws.amazon.com``); China and GovCloud consoles
    live on other domains. Endpoint names are letters, digits and hyphens, so the name needs no
    escaping; the slashes of the log group name are escaped the way the console does (``$252F``).
    """
    return (
        f"https://{cdk_values.REGION}.console.aws.amazon.com/cloudwatch/home?region={cdk_values.REGION}"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252F"
        f"{endpoint_name}"
    )


def endpoint_console_url(endpoint_name: str) -> str:
    """Console URL of the endpoint in SageMaker (commercial partition, like the log link)."""
    return (
        f"https://{cdk_values.REGION}.console.aws.amazon.com/sagemaker/home?region={cdk_values.REGION}"
        f"#/endpoints/{endpoint_name}"
    )
