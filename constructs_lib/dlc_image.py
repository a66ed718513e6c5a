"""The Hugging Face PyTorch inference DLC image URI, resolved per region without any SDK call.

The registry account differs by region, and aws-cdk-lib's ``FactName.DLC_REPOSITORY_ACCOUNT`` does
not know several regions the image catalog serves (af-south-1, ap-northeast-3, ca-west-1,
il-central-1, GovCloud), so the table comes from the SageMaker SDK's own catalog, committed as
``huggingface_dlc.json`` (``scripts/refresh_dlc_catalog.py`` regenerates it). In an
environment-agnostic stack the account becomes a ``Fn::FindInMap`` on ``AWS::Region``, and a
CloudFormation rule refuses a region without a registry by name, with the supported list, before
anything is created (instead of a mapping error deep in the model's creation).

The catalog itself (versions, tags, regions) is pure Python in ``dlc_catalog``; instance facts
(GPU or not) come from the one table in ``instance_types``. Both are re-exported here.
"""

from __future__ import annotations

from functools import cache
from weakref import WeakKeyDictionary

from aws_cdk import CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import IConstruct

from . import _values as cdk_values
from ._validation import raise_if_problems
from .dlc_catalog import (
    DlcVersion,
    catalog,
    region_problems,
    regions_without_registry,
    registries,
    supported_versions,
)
from .instance_types import GPU_FAMILIES, instance_family, is_gpu_instance

__all__ = [
    "GPU_FAMILIES",
    "DlcVersion",
    "catalog",
    "image_uri",
    "instance_family",
    "is_gpu_instance",
    "registry_account",
    "repository_arn",
    "supported_versions",
]

_MAPPING_ID = "HuggingFaceDlcRegistry"
_RULE_ID = "HuggingFaceDlcRegion"


# The account per stack, worked out once: each model and repository ARN asks for it.
_ACCOUNTS: WeakKeyDictionary[Stack, str] = WeakKeyDictionary()


def registry_account(scope: IConstruct) -> str:
    """The DLC registry account for the stack's region: a literal or a ``Fn::FindInMap``.

    A concrete region without a registry raises ``ConfigurationError`` naming the region.
    """
    # A stack is its own Stack.of: given one, no round trip to ask.
    stack = scope if isinstance(scope, Stack) else Stack.of(scope)
    account = _ACCOUNTS.get(stack)
    if account is None:
        account = _ACCOUNTS[stack] = _registry_account(stack)
    return account


def _registry_account(stack: Stack) -> str:
    table = registries()
    region = stack.region
    if not Token.is_unresolved(region):
        raise_if_problems("Hugging Face DLC image", region_problems("region", region))
        return table[region]
    mapping = stack.node.try_find_child(_MAPPING_ID)
    if mapping is None:
        mapping = CfnMapping(
            stack,
            _MAPPING_ID,
            mapping={region: {"account": account} for region, account in table.items()},
        )
        # Rules run when a change set is created, before any resource: a region missing from
        # the mapping fails there with this message, not at the model with "Unable to get
        # mapping". (Rules may test pseudo parameters: CloudFormation template Rules syntax,
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html)
        CfnRule(stack, _RULE_ID, assertions=list(_region_assertions()))
    if not isinstance(mapping, CfnMapping):
        raise TypeError(f"{stack.node.path}/{_MAPPING_ID} is not the DLC registry mapping")
    return mapping.find_in_map(cdk_values.REGION, "account")


@cache
def _region_assertions() -> tuple[CfnRuleAssertion, ...]:
    """One assertion per region known to lack a registry (it names it), then any other region.

    Made once per process: the expressions are plain intrinsics, valid in every stack.
    """
    supported = sorted(registries())
    deploy_to = f"Deploy to one of the regions with one: {', '.join(supported)}."
    assertions = [
        CfnRuleAssertion(
            assert_=Fn.condition_not(Fn.condition_equals(cdk_values.REGION, region)),
            assert_description=(
                f"Region {region} has no Hugging Face inference DLC registry in the image "
                f"catalog, so this stack cannot pull its model image there. {deploy_to}"
            ),
        )
        for region in regions_without_registry()
    ]
    assertions.append(
        CfnRuleAssertion(
            assert_=Fn.condition_contains(supported, cdk_values.REGION),
            assert_description=(
                "This stack's region has no Hugging Face inference DLC registry in the image "
                "catalog committed with it (constructs_lib/huggingface_dlc.json; "
                f"scripts/refresh_dlc_catalog.py updates it). {deploy_to}"
            ),
        )
    )
    return tuple(assertions)


def image_uri(scope: IConstruct, *, version: DlcVersion, instance_type: str) -> str:
    """The full image URI for ``version`` on ``instance_type`` in the stack's region."""
    account = registry_account(scope)
    tag = version.tag(gpu=is_gpu_instance(instance_type))
    return (
        f"{account}.dkr.ecr.{cdk_values.REGION}.{cdk_values.URL_SUFFIX}/{version.repository}:{tag}"
    )


def repository_arn(scope: IConstruct, *, version: DlcVersion) -> str:
    """ARN of the DLC's ECR repository, for a pull permission scoped to that one repository."""
    account = registry_account(scope)
    region = cdk_values.REGION
    return f"arn:{cdk_values.PARTITION}:ecr:{region}:{account}:repository/{version.repository}"
