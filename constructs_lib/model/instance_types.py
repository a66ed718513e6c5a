"""SageMaker hosting instance families: GPU or not, local storage or not, CPU architecture.

One table, ``instance_types.json``, knows every family of CloudFormation's list of hosting
instance types (``AWS::SageMaker::EndpointConfig`` ``ProductionVariant.InstanceType``; a test
compares the two), so the image choice (GPU or CPU), the volume key (refused on instance store)
and the refusals (Graviton, Neuron, Gaudi, GPUs the image's CUDA cannot drive) all read the same
facts. Pure Python: the configuration loader imports it without starting the CDK.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from constructs_lib._validation import is_token

_TABLE_FILE = Path(__file__).with_name("instance_types.json")

# ml.<family>.<size>; families may carry a hyphenated suffix (ml.p6-b200.48xlarge).
INSTANCE_TYPE = re.compile(r"^ml\.([a-z0-9]+(?:-[a-z0-9]+)*)\.([a-z0-9]+)$")

_ACCELERATOR_NAMES = {
    "inferentia": "AWS Inferentia",
    "trainium": "AWS Trainium",
    "gaudi": "Habana Gaudi",
}


@dataclass(frozen=True, kw_only=True)
class InstanceFamily:
    """One row of the table: what an instance family is, as far as hosting the DLC goes."""

    #: The family, e.g. ``"g5"`` or ``"p6-b200"``.
    name: str
    #: ``"none"``, ``"nvidia"``, ``"inferentia"``, ``"trainium"`` or ``"gaudi"``.
    accelerator: str
    #: The CPU's architecture: ``"x86_64"`` or ``"arm64"`` (Graviton).
    architecture: str
    #: NVMe instance store, for which CreateEndpointConfig refuses a volume ``KmsKeyId``.
    local_storage: bool
    #: The sizes SageMaker hosts, e.g. ``("xlarge", "2xlarge")``.
    sizes: tuple[str, ...]
    #: The accelerator's device, for messages. Default: ``None``.
    device: str | None = None
    #: The lowest CUDA version with kernels for the GPU. Default: ``None`` (not a GPU).
    min_cuda: tuple[int, int] | None = None
    #: Why the DLC cannot run on the family. Default: ``None`` (it can).
    unsupported: str | None = None

    @property
    def gpu(self) -> bool:
        """True for NVIDIA GPU families, which run the DLC's GPU image."""
        return self.accelerator == "nvidia"


def _cuda(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    major, minor = text.split(".")
    return int(major), int(minor)


@cache
def families() -> dict[str, InstanceFamily]:
    """Every known family by name (``g5``, ``p6-b200``...)."""
    data = json.loads(_TABLE_FILE.read_text())["families"]
    return {
        name: InstanceFamily(
            name=name,
            accelerator=row["accelerator"],
            architecture=row["architecture"],
            local_storage=row["local_storage"],
            sizes=tuple(row["sizes"]),
            device=row.get("device"),
            min_cuda=_cuda(row.get("min_cuda")),
            unsupported=row.get("unsupported"),
        )
        for name, row in data.items()
    }


def known_instance_types() -> frozenset[str]:
    """Every ``ml.<family>.<size>`` of the table."""
    return frozenset(
        f"ml.{family.name}.{size}" for family in families().values() for size in family.sizes
    )


GPU_FAMILIES = frozenset(name for name, family in families().items() if family.gpu)
LOCAL_STORAGE_FAMILIES = frozenset(
    name for name, family in families().items() if family.local_storage
)


def instance_family(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5``, ``ml.p6-b200.48xlarge`` -> ``p6-b200``; ``""`` if malformed."""
    match = INSTANCE_TYPE.match(instance_type) if isinstance(instance_type, str) else None
    return match.group(1) if match else ""


def family_of(instance_type: str) -> InstanceFamily | None:
    """The table's row for ``instance_type``'s family, or None when the family is unknown."""
    return families().get(instance_family(instance_type))


def is_gpu_instance(instance_type: str) -> bool:
    """True when ``instance_type`` belongs to a family with NVIDIA GPUs."""
    family = family_of(instance_type)
    return family is not None and family.gpu


def has_local_storage(instance_type: str) -> bool:
    """True when ``instance_type`` has NVMe instance store (no volume KMS key allowed)."""
    family = family_of(instance_type)
    return family is not None and family.local_storage


def instance_type_problems(
    name: str,
    instance_type: str,
    *,
    image: str | None = None,
    image_architectures: frozenset[str] = frozenset({"x86_64"}),
    image_cuda: tuple[int, int] | None = None,
) -> list[str]:
    """Problems with a hosting instance type, and, given an ``image``, with running it there.

    Without ``image`` only the name is checked (a known family and size). With it, the family
    must also suit the image: an architecture in ``image_architectures``, no accelerator the
    image cannot use, and GPUs that ``image_cuda`` (the GPU image's CUDA version) can drive.
    """
    if is_token(instance_type):
        return []
    if not isinstance(instance_type, str) or not INSTANCE_TYPE.match(instance_type):
        return [
            f"{name}: must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' "
            f"(got {instance_type!r})"
        ]
    family = family_of(instance_type)
    if family is None:
        return [
            f"{name}: unknown SageMaker hosting instance family "
            f"{instance_family(instance_type)!r} (known families: {', '.join(families())}) "
            f"(got {instance_type!r})"
        ]
    size = instance_type.rsplit(".", 1)[1]
    if size not in family.sizes:
        return [
            f"{name}: ml.{family.name} has no size {size!r} for hosting (sizes: "
            f"{', '.join(family.sizes)}) (got {instance_type!r})"
        ]
    if image is None:
        return []
    return _suitability_problems(
        name, instance_type, family, image, image_architectures, image_cuda
    )


def _suitability_problems(
    name: str,
    instance_type: str,
    family: InstanceFamily,
    image: str,
    image_architectures: frozenset[str],
    image_cuda: tuple[int, int] | None,
) -> list[str]:
    got = f"(got {instance_type!r})"
    if family.unsupported:
        return [f"{name}: ml.{family.name} cannot run {image}: {family.unsupported} {got}"]
    if family.architecture not in image_architectures:
        return [
            f"{name}: ml.{family.name} has {family.architecture} CPUs (Graviton or Grace) and "
            f"{image} has no {family.architecture} image; choose an x86_64 family, e.g. ml.c6i "
            f"or ml.m5 (CPU) or ml.g5 (GPU) {got}"
        ]
    if family.accelerator in _ACCELERATOR_NAMES:
        return [
            f"{name}: ml.{family.name} has {_ACCELERATOR_NAMES[family.accelerator]} "
            f"accelerators, which {image} cannot use (it needs a Neuron or Habana image that "
            f"this library does not deploy); choose an NVIDIA GPU family such as ml.g5 or a CPU "
            f"family such as ml.c6i {got}"
        ]
    if family.gpu and family.min_cuda and image_cuda and image_cuda < family.min_cuda:
        need = ".".join(map(str, family.min_cuda))
        have = ".".join(map(str, image_cuda))
        return [
            f"{name}: ml.{family.name} ({family.device}) needs CUDA {need} or later, and the GPU "
            f"image of {image} is built for CUDA {have}; choose another GPU family (e.g. ml.g6e, "
            f"ml.p5) or a DLC built for CUDA {need}+ {got}"
        ]
    return []
