"""The committed Hugging Face inference DLC catalog: versions, tags and registry regions.

Pure Python (``dlc_image`` adds the CDK side), so the configuration loader can check a DLC
version, a region and an instance type without starting the CDK. ``huggingface_dlc.json`` is
generated from the SageMaker SDK's catalog by ``scripts/refresh_dlc_catalog.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from constructs_lib.model.instance_types import instance_type_problems

_CATALOG_FILE = Path(__file__).with_name("huggingface_dlc.json")
_CUDA_SUFFIX = re.compile(r"^cu(\d+)(\d)-")


@cache
def catalog() -> dict[str, Any]:
    """The committed image catalog: ``registries`` (region -> account) and ``versions``."""
    data: dict[str, Any] = json.loads(_CATALOG_FILE.read_text())
    return data


def supported_versions() -> list[str]:
    """The ``transformers/pytorch`` version pairs this library can deploy."""
    return sorted(catalog()["versions"])


def registries() -> dict[str, str]:
    """Region -> account of the DLC registry, for every region the catalog serves."""
    table: dict[str, str] = catalog()["registries"]
    return table


def regions_without_registry() -> list[str]:
    """Regions where the SDK's catalog has SageMaker images, but no Hugging Face inference DLC."""
    regions: list[str] = catalog()["regions_without_registry"]
    return regions


def region_problems(name: str, region: str) -> list[str]:
    """A problem when ``region`` has no Hugging Face inference DLC registry in the catalog."""
    if region in registries():
        return []
    return [
        f"{name}: {region!r} has no Hugging Face inference DLC registry in the image catalog "
        f"(regions with one: {', '.join(sorted(registries()))})"
    ]


@dataclass(frozen=True, kw_only=True)
class DlcVersion:
    """One Hugging Face inference DLC release, as the SageMaker SDK catalog names it."""

    #: The transformers version of the release, e.g. ``"4.51.3"``.
    transformers: str
    #: The PyTorch version of the release, e.g. ``"2.6.0"``.
    pytorch: str

    @property
    def key(self) -> str:
        """``transformers/pytorch``, the catalog's key for this release."""
        return f"{self.transformers}/{self.pytorch}"

    @property
    def label(self) -> str:
        """How messages name this release."""
        return f"the Hugging Face DLC (transformers {self.transformers}, pytorch {self.pytorch})"

    def problems(self, prefix: str = "dlc") -> list[str]:
        """A problem when the catalog does not list this release."""
        if self.key not in catalog()["versions"]:
            known = ", ".join(supported_versions())
            return [
                f"{prefix}: transformers {self.transformers} with pytorch {self.pytorch} is not a "
                f"known Hugging Face inference DLC (known transformers/pytorch pairs: {known})"
            ]
        return []

    def _entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = catalog()["versions"][self.key]
        return entry

    @property
    def architectures(self) -> frozenset[str]:
        """CPU architectures the catalog has images for (x86_64 unless it lists others)."""
        return frozenset(self._entry().get("architectures", ["x86_64"]))

    @property
    def cuda(self) -> tuple[int, int] | None:
        """CUDA version of the GPU image, read from its tag suffix (``cu124-...`` -> 12.4)."""
        match = _CUDA_SUFFIX.match(self._entry()["gpu_suffix"])
        return (int(match.group(1)), int(match.group(2))) if match else None

    def instance_type_problems(self, name: str, instance_type: str) -> list[str]:
        """Problems with ``instance_type`` itself and with running this release on it."""
        if self.problems():
            # Unknown release: only the name can be checked.
            return instance_type_problems(name, instance_type)
        return instance_type_problems(
            name,
            instance_type,
            image=self.label,
            image_architectures=self.architectures,
            image_cuda=self.cuda,
        )

    def tag(self, *, gpu: bool) -> str:
        """The image tag, e.g. ``2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04``."""
        entry = self._entry()
        device, suffix = ("gpu", entry["gpu_suffix"]) if gpu else ("cpu", entry["cpu_suffix"])
        return f"{self.pytorch}-transformers{self.transformers}-{device}-{entry['python']}-{suffix}"

    @property
    def repository(self) -> str:
        """The ECR repository name of the image."""
        return str(self._entry()["repository"])
