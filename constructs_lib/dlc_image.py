"""The Hugging Face PyTorch inference DLC image URI, resolved per region without any SDK call.

The registry account differs by region, and aws-cdk-lib's ``FactName.DLC_REPOSITORY_ACCOUNT`` does
not know several regions the image catalog serves (af-south-1, ap-northeast-3, ca-west-1,
il-central-1, GovCloud), so the table comes from the SageMaker SDK's own catalog, committed as
``huggingface_dlc.json`` (``scripts/refresh_dlc_catalog.py`` regenerates it). In an
environment-agnostic stack the account becomes a ``Fn::FindInMap`` on ``AWS::Region``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, Stack, Token
from constructs import IConstruct

_CATALOG_FILE = Path(__file__).with_name("huggingface_dlc.json")
_MAPPING_ID = "HuggingFaceDlcRegistry"

# Instance families that run the GPU image; everything else gets the CPU image.
GPU_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "p3", "p3dn", "p4d", "p4de", "p5", "p5e"})


@cache
def catalog() -> dict[str, Any]:
    """The committed image catalog: ``registries`` (region -> account) and ``versions``."""
    data: dict[str, Any] = json.loads(_CATALOG_FILE.read_text())
    return data


def supported_versions() -> list[str]:
    """The ``transformers/pytorch`` version pairs this library can deploy."""
    return sorted(catalog()["versions"])


def instance_family(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5``."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else ""


def is_gpu_instance(instance_type: str) -> bool:
    """True when ``instance_type`` belongs to a family with NVIDIA GPUs."""
    return instance_family(instance_type) in GPU_FAMILIES


@dataclass(frozen=True, kw_only=True)
class DlcVersion:
    """One Hugging Face inference DLC release, as the SageMaker SDK catalog names it."""

    transformers: str
    pytorch: str

    @property
    def key(self) -> str:
        return f"{self.transformers}/{self.pytorch}"

    def problems(self, prefix: str = "dlc") -> list[str]:
        if self.key not in catalog()["versions"]:
            known = ", ".join(supported_versions())
            return [
                f"{prefix}: transformers {self.transformers} with pytorch {self.pytorch} is not a "
                f"known Hugging Face inference DLC (known transformers/pytorch pairs: {known})"
            ]
        return []

    def tag(self, *, gpu: bool) -> str:
        """The image tag, e.g. ``2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04``."""
        entry = catalog()["versions"][self.key]
        device, suffix = ("gpu", entry["gpu_suffix"]) if gpu else ("cpu", entry["cpu_suffix"])
        return f"{self.pytorch}-transformers{self.transformers}-{device}-{entry['python']}-{suffix}"

    @property
    def repository(self) -> str:
        return str(catalog()["versions"][self.key]["repository"])


def registry_account(scope: IConstruct) -> str:
    """The DLC registry account for the stack's region: a literal or a ``Fn::FindInMap``."""
    stack = Stack.of(scope)
    registries: dict[str, str] = catalog()["registries"]
    if not Token.is_unresolved(stack.region):
        if stack.region not in registries:
            raise ValueError(
                f"region {stack.region!r} has no Hugging Face inference DLC registry "
                f"(known regions: {', '.join(sorted(registries))})"
            )
        return registries[stack.region]
    mapping = stack.node.try_find_child(_MAPPING_ID)
    if mapping is None:
        mapping = CfnMapping(
            stack,
            _MAPPING_ID,
            mapping={region: {"account": account} for region, account in registries.items()},
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
