"""The Hugging Face PyTorch inference DLC image URI, resolved per region without any SDK call.

The registry account differs by region, and aws-cdk-lib's ``FactName.DLC_REPOSITORY_ACCOUNT`` does
not know several regions the image catalog serves (af-south-1, ap-northeast-3, ca-west-1,
il-central-1, GovCloud), so the table comes from the SageMaker SDK's own catalog, committed as
``huggingface_dlc.json`` (``scripts/refresh_dlc_catalog.py`` regenerates it). In an
environment-agnostic stack the account becomes a ``Fn::FindInMap`` on ``AWS::Region``.

The catalog itself (versions, tags, regions) is pure Python in ``dlc_catalog``; instance facts
(GPU or not) come from the one table in ``instance_types``. Both are re-exported here.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack, Token
from constructs import IConstruct

from ._validation import raise_if_problems
from .dlc_catalog import DlcVersion, catalog, region_problems, registries, supported_versions
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


def registry_account(scope: IConstruct) -> str:
    """The DLC registry account for the stack's region: a literal or a ``Fn::FindInMap``.

    A concrete region without a registry raises ``ConfigurationError`` naming the region.
    """
    stack = Stack.of(scope)
    table = registries()
    if not Token.is_unresolved(stack.region):
        raise_if_problems("Hugging Face DLC image", region_problems("region", stack.region))
        return table[stack.region]
    mapping = stack.node.try_find_child(_MAPPING_ID)
    if mapping is None:
        mapping = CfnMapping(
            stack,
            _MAPPING_ID,
            mapping={region: {"account": account} for region, account in table.items()},
        )
    assert isinstance(mapping, CfnMapping)
    return mapping.find_in_map(Aws.REGION, "account")


def image_uri(scope: IConstruct, *, version: DlcVersion, instance_type: str) -> str:
    """The full image URI for ``version`` on ``instance_type`` in the stack's region."""
    account = registry_account(scope)
    tag = version.tag(gpu=is_gpu_instance(instance_type))
    return f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{version.repository}:{tag}"


def repository_arn(scope: IConstruct, *, version: DlcVersion) -> str:
    """ARN of the DLC's ECR repository, for a pull permission scoped to that one repository."""
    account = registry_account(scope)
    return f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{version.repository}"
