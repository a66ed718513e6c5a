"""CDK values made once per process.

Every ``Duration.days(n)`` or ``Aws.REGION`` from Python is a round trip to the CDK's Node process,
and one synthesis asks for the same few values dozens of times (lifecycle rules, metric periods,
cooldowns, ARNs). A ``Duration`` is an immutable value and a pseudo parameter's token is the same
string every time, so one of each serves every construct that asks. So does a principal: it holds
no state of its own (``with_conditions`` returns a new one), whichever role or policy names it.
"""

from __future__ import annotations

from functools import cache

from aws_cdk import Aws, Duration, Fn
from aws_cdk import aws_iam as iam

ACCOUNT_ID: str = Aws.ACCOUNT_ID
PARTITION: str = Aws.PARTITION
REGION: str = Aws.REGION
URL_SUFFIX: str = Aws.URL_SUFFIX


@cache
def seconds(amount: int) -> Duration:
    return Duration.seconds(amount)


@cache
def minutes(amount: int) -> Duration:
    return Duration.minutes(amount)


@cache
def hours(amount: int) -> Duration:
    return Duration.hours(amount)


@cache
def days(amount: int) -> Duration:
    return Duration.days(amount)


@cache
def stack_uuid() -> str:
    """The uuid at the end of ``AWS::StackId`` (``arn:...:stack/<name>/<uuid>``): an intrinsic
    of a pseudo parameter, valid in every stack. A stack deleted and created again under the
    same name gets a new one."""
    return Fn.select(2, Fn.split("/", Aws.STACK_ID))


@cache
def service_principal(service: str) -> iam.ServicePrincipal:
    return iam.ServicePrincipal(service)


@cache
def any_principal() -> iam.AnyPrincipal:
    return iam.AnyPrincipal()
