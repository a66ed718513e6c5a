"""Settings of the data path (documents in, jobs recorded): pure Python, no CDK import.

The stack, the dispatcher Lambda (through its environment), the capacity planner and the scaling
simulator all read this one dataclass, so what is planned and simulated is what is deployed.
"""

from __future__ import annotations

import dataclasses
import re

from constructs_lib._validation import check_int, is_token

# Lambda's SQS event source: ScalingConfig.MaximumConcurrency accepts 2 to 1,000.
MIN_MAX_CONCURRENCY = 2


# The Powertools for AWS Lambda (Python) release the runtime is tested with (requirements.txt
# pins the same; the functions load its public layer or bundle it).
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_MODES = ("layer", "bundled")
LAYER_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:"
    r"layer:(?P<name>[A-Za-z0-9_-]{1,140}):[1-9]\d*$"
)
# The regions where Powertools publishes its public SSM parameters
# (/aws/service/powertools/python/<arch>/python<x.y>/<version>): its repository's SSM workflow
# (.github/workflows/update_ssm.yml) writes them in these commercial regions only, none in the
# China, GovCloud or ISO partitions, although it publishes layers in me-central-1 and
# me-south-1, cn-north-1 (account 498634801083) and the GovCloud regions (its "Install" page).
POWERTOOLS_SSM_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)
# Region name prefix -> partition (longest prefix first).
PARTITIONS = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


def partition_of(region: str) -> str:
    """The partition of ``region``: ``aws`` unless its name says otherwise."""
    return next((p for prefix, p in PARTITIONS if region.startswith(prefix)), "aws")


def powertools_layer_problems(
    name: str, arn: str | None, *, region: str | None = None
) -> list[str]:
    """Problems with a Powertools layer ARN: its shape and partition, and for a known region,
    that it is in that region (a function can only use a layer of its own region)."""
    if arn is None or is_token(arn):
        return []
    match = LAYER_ARN.match(arn)
    if not match:
        return [
            f"{name}: must be a Lambda layer version ARN like 'arn:aws:lambda:eu-west-1:"
            "017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27' (got "
            f"{arn!r})"
        ]
    problems = []
    if match["partition"] != partition_of(match["region"]):
        problems.append(
            f"{name}: region {match['region']} is in partition {partition_of(match['region'])}, "
            f"not {match['partition']} (got {arn!r})"
        )
    if region is not None and match["region"] != region:
        problems.append(
            f"{name}: must be a layer in the stack's region {region}, as Lambda requires "
            f"(got {arn!r})"
        )
    return problems


def layer_architecture_problems(name: str, arn: str | None, architecture: str) -> list[str]:
    """A problem when ``arn`` is a Powertools layer built for another Python or architecture
    (``arm64``/``x86_64``) than the functions'."""
    match = LAYER_ARN.match(arn) if arn is not None and not is_token(arn) else None
    layer = match["name"] if match else ""
    if layer.startswith("AWSLambdaPowertoolsPython") and not layer.endswith(
        f"-python312-{architecture}"
    ):
        return [
            f"{name}: the functions run Python 3.12 on {architecture}; use Powertools' "
            f"...-python312-{architecture} layer (got {arn!r})"
        ]
    return []


SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
# Lambda's VpcConfig: at most 16 subnets and 5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataPathVpc:
    """Subnets and security groups of an existing VPC for the data path's functions.

    The subnets need routes to the AWS APIs the functions call (README, "The data path in a
    VPC"): without a NAT gateway, gateway endpoints for S3 and DynamoDB and interface endpoints
    for SQS and the SageMaker runtime (and X-Ray with tracing); the security groups must allow
    HTTPS out to them.
    """

    #: Private subnets of the functions, in at least two availability zones.
    subnet_ids: tuple[str, ...] = ()
    #: Security groups of the functions: HTTPS out to the AWS APIs they call.
    security_group_ids: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        problems: list[str] = []
        for name, values, pattern, most, example in (
            ("subnet_ids", self.subnet_ids, SUBNET_ID, MAX_SUBNETS, "subnet-0123456789abcdef0"),
            (
                "security_group_ids",
                self.security_group_ids,
                SECURITY_GROUP_ID,
                MAX_SECURITY_GROUPS,
                "sg-0123456789abcdef0",
            ),
        ):
            if not 1 <= len(values) <= most or len(set(values)) != len(values):
                problems.append(
                    f"{name}: must list 1 to {most} distinct ids, Lambda's limits "
                    f"(got {list(values)!r})"
                )
            for value in values:
                if not is_token(value) and not pattern.match(value):
                    problems.append(f"{name}: {value!r} is not an id like {example!r}")
        return problems


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataPathSettings:
    """How uploaded documents are grouped into requests and how their jobs are kept.

    A group is sent when it holds ``max_documents_per_request`` documents or
    ``max_request_bytes`` bytes, or when the oldest document has waited
    ``batching_window_seconds`` (the SQS event source's batching window). A document of
    ``large_document_bytes`` or more is sent in a request of its own.
    """

    #: The data path (upload -> dispatcher -> endpoint -> recorder) is built.
    enabled: bool = True
    #: The most documents in one request.
    max_documents_per_request: int = 32
    #: The most bytes of documents in one request.
    max_request_bytes: int = 4_000_000
    #: How long the oldest document of a group may wait (the SQS batching window).
    batching_window_seconds: int = 20
    #: A document of this size or more is sent in a request of its own.
    large_document_bytes: int = 500_000
    #: ``InvocationTimeoutSeconds`` of each request.
    invocation_timeout_seconds: int = 900
    #: ``RequestTTLSeconds``: how long a request may wait in the endpoint's queue.
    request_ttl_seconds: int = 21_600
    #: Receives before a message moves to its queue's DLQ (both queues).
    max_receive_count: int = 5
    #: Job records expire (DynamoDB TTL) and curated summaries are deleted after this many days.
    job_ttl_days: int = 90
    #: Lambda concurrency reserved for the dispatcher; None: no reservation (a new account's
    #: limit, 10, leaves nothing to reserve: Lambda keeps 100 unreserved, or the whole limit
    #: when it is lower).
    dispatcher_reserved_concurrency: int | None = None
    #: The same for the recorder.
    recorder_reserved_concurrency: int | None = None
    #: The SQS event source's maximum concurrency for the dispatcher (fewer, larger groups
    #: for the endpoint): it reserves nothing, so it deploys in any account; None: no cap.
    #: With a reservation it must not exceed it.
    dispatcher_max_concurrency: int | None = 2
    #: The same for the recorder (the table's write rate).
    recorder_max_concurrency: int | None = 5
    #: X-Ray tracing of both functions.
    tracing: bool = False
    #: ``layer``: Powertools from its public layer; ``bundled``: the installed
    #: ``aws-lambda-powertools`` (the pinned version) goes into the functions' code.
    powertools: str = "layer"
    #: The layer's ARN; None: the ARN in Powertools' public SSM parameter, resolved at deploy
    #: time, which Powertools publishes only in the commercial regions of
    #: ``POWERTOOLS_SSM_REGIONS``.
    powertools_layer_arn: str | None = None
    #: Existing subnets for both functions (AWS Control Tower's CT.LAMBDA.PR.3 wants them in a
    #: VPC); None: outside any VPC.
    vpc: DataPathVpc | None = None

    def problems(self) -> list[str]:
        problems: list[str] = []
        check_int(
            problems,
            "max_documents_per_request",
            self.max_documents_per_request,
            minimum=1,
            maximum=10_000,
        )
        check_int(
            problems,
            "max_request_bytes",
            self.max_request_bytes,
            minimum=1_000,
            maximum=1_000_000_000,
        )
        check_int(
            problems,
            "batching_window_seconds",
            self.batching_window_seconds,
            minimum=0,
            maximum=300,
        )
        check_int(
            problems,
            "large_document_bytes",
            self.large_document_bytes,
            minimum=1,
            maximum=1_000_000_000,
        )
        check_int(
            problems,
            "invocation_timeout_seconds",
            self.invocation_timeout_seconds,
            minimum=1,
            maximum=3_600,
        )
        check_int(
            problems, "request_ttl_seconds", self.request_ttl_seconds, minimum=60, maximum=21_600
        )
        check_int(problems, "max_receive_count", self.max_receive_count, minimum=1, maximum=1_000)
        check_int(problems, "job_ttl_days", self.job_ttl_days, minimum=1, maximum=36_500)
        if self.vpc is not None:
            problems += [f"vpc.{p}" for p in self.vpc.problems()]
        if self.powertools not in POWERTOOLS_MODES:
            problems.append(
                f"powertools: must be one of {', '.join(POWERTOOLS_MODES)} "
                f"(got {self.powertools!r})"
            )
        elif self.powertools == "bundled" and self.powertools_layer_arn is not None:
            problems.append(
                "powertools_layer_arn: only applies with powertools 'layer'; 'bundled' puts "
                f"Powertools in the functions' code (got {self.powertools_layer_arn!r})"
            )
        problems += powertools_layer_problems("powertools_layer_arn", self.powertools_layer_arn)
        for function in ("dispatcher", "recorder"):
            problems += concurrency_problems(
                function,
                getattr(self, f"{function}_reserved_concurrency"),
                getattr(self, f"{function}_max_concurrency"),
            )
        return problems


def concurrency_problems(function: str, reserved: object, maximum: object) -> list[str]:
    """Problems with one function's reservation and its event source's maximum concurrency.

    Lambda: a reservation is 0 or more (0 stops the function, refused here) and an SQS event
    source's ``ScalingConfig.MaximumConcurrency`` 2 to 1,000. A maximum above the reservation
    would have the poller invoke more than Lambda lets run ("Configuring maximum concurrency for
    Amazon SQS event sources": keep the reservation at least the maximum), and throttled
    batches count toward the queue's redrive to the DLQ.
    """
    problems: list[str] = []
    reserved_key = f"{function}_reserved_concurrency"
    maximum_key = f"{function}_max_concurrency"
    if reserved is not None:
        check_int(problems, reserved_key, reserved, minimum=1, maximum=1_000)
    if maximum is not None:
        check_int(problems, maximum_key, maximum, minimum=MIN_MAX_CONCURRENCY, maximum=1_000)
    if problems or not isinstance(reserved, int) or not isinstance(maximum, int):
        return problems
    if reserved < MIN_MAX_CONCURRENCY:
        problems.append(
            f"{maximum_key}: must be null when {reserved_key} is {reserved}: an SQS event "
            f"source's maximum concurrency is at least {MIN_MAX_CONCURRENCY}, so the "
            f"reservation alone limits the poller (got {maximum})"
        )
    elif maximum > reserved:
        problems.append(
            f"{maximum_key}: must be at most {reserved_key} ({reserved}): Lambda throttles "
            f"what the poller invokes beyond the reservation (got {maximum})"
        )
    return problems
