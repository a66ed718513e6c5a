"""The one instance-family table: checked against CloudFormation's list, and what it decides."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from constructs_lib._validation import ConfigurationError
from constructs_lib.endpoint import construct as endpoint
from constructs_lib.model import dlc_catalog, dlc_image, instance_types
from constructs_lib.model.dlc_catalog import DlcVersion
from constructs_lib.model.instance_types import (
    families,
    instance_type_problems,
    known_instance_types,
)
from tests.conftest import construct_app, endpoint_in, only

DLC = DlcVersion(transformers="4.51.3", pytorch="2.6.0")


def cloudformation_instance_types() -> set[str]:
    """The ProductionVariant InstanceType enum of the EndpointConfig schema cfn-lint ships."""
    for schema_file in files("cfnlint.data.schemas.resources").iterdir():
        if not schema_file.name.endswith(".json"):
            continue
        text = schema_file.read_text()
        if '"AWS::SageMaker::EndpointConfig"' not in text:
            continue
        schema = json.loads(text)
        if schema.get("typeName") == "AWS::SageMaker::EndpointConfig":
            variant = schema["definitions"]["ProductionVariant"]["properties"]
            return set(variant["InstanceType"]["enum"])
    raise AssertionError("cfn-lint ships no AWS::SageMaker::EndpointConfig schema")


def test_the_table_is_cloudformations_list_of_hosting_instance_types() -> None:
    # A cfn-lint upgrade that adds or drops a type fails here: describe the new family in
    # constructs_lib/model/instance_types.json (GPU? instance store? architecture?).
    assert known_instance_types() == cloudformation_instance_types()


def test_every_row_is_complete_and_consistent() -> None:
    for family in families().values():
        assert family.accelerator in {"none", "nvidia", "inferentia", "trainium", "gaudi"}
        assert family.architecture in {"x86_64", "arm64"}
        assert family.gpu == (family.device is not None), family.name
        assert family.min_cuda is None or family.gpu, family.name


def test_image_and_volume_key_decisions_come_from_the_table() -> None:
    rows = families().values()
    assert {f.name for f in rows if f.gpu} == dlc_image.GPU_FAMILIES
    assert {f.name for f in rows if f.local_storage} == endpoint.LOCAL_STORAGE_FAMILIES
    assert dlc_image.GPU_FAMILIES is instance_types.GPU_FAMILIES
    assert endpoint.LOCAL_STORAGE_FAMILIES is instance_types.LOCAL_STORAGE_FAMILIES
    assert {"p5en", "p6-b200", "g6e"} <= dlc_image.GPU_FAMILIES
    assert {"p5en", "c6gd", "c5d", "g5"} <= endpoint.LOCAL_STORAGE_FAMILIES
    assert not {"m5", "p3", "inf2"} & endpoint.LOCAL_STORAGE_FAMILIES


@pytest.mark.parametrize(
    ("instance_type", "message"),
    [
        ("ml.g5", "must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' (got 'ml.g5')"),
        (
            "ml.g5.3xlarge",
            "ml.g5 has no size '3xlarge' for hosting (sizes: xlarge, 2xlarge, 4xlarge, 8xlarge, "
            "12xlarge, 16xlarge, 24xlarge, 48xlarge) (got 'ml.g5.3xlarge')",
        ),
    ],
)
def test_malformed_or_unknown_types_are_refused(instance_type: str, message: str) -> None:
    assert instance_type_problems("instance_type", instance_type) == [f"instance_type: {message}"]


def test_an_unknown_family_lists_the_known_ones() -> None:
    (problem,) = instance_type_problems("instance_type", "ml.foo.bar")
    known = ", ".join(families())
    assert problem == (
        f"instance_type: unknown SageMaker hosting instance family 'foo' (known families: "
        f"{known}) (got 'ml.foo.bar')"
    )


def test_a_hyphenated_family_is_a_valid_name() -> None:
    assert instance_type_problems("instance_type", "ml.p6-b200.48xlarge") == []


@pytest.mark.parametrize(
    ("instance_type", "message"),
    [
        (
            "ml.inf2.xlarge",
            "ml.inf2 has AWS Inferentia accelerators, which the Hugging Face DLC (transformers "
            "4.51.3, pytorch 2.6.0) cannot use (it needs a Neuron or Habana image that this "
            "library does not deploy); choose an NVIDIA GPU family such as ml.g5 or a CPU family "
            "such as ml.c6i (got 'ml.inf2.xlarge')",
        ),
        (
            "ml.p2.xlarge",
            "ml.p2 cannot run the Hugging Face DLC (transformers 4.51.3, pytorch 2.6.0): its "
            "NVIDIA K80 GPUs (Kepler) are not supported by the CUDA 11.8+ builds of PyTorch in "
            "every Hugging Face inference DLC (got 'ml.p2.xlarge')",
        ),
        (
            "ml.p6e-gb200.36xlarge",
            "ml.p6e-gb200 has arm64 CPUs (Graviton or Grace) and the Hugging Face DLC "
            "(transformers 4.51.3, pytorch 2.6.0) has no arm64 image; choose an x86_64 family, "
            "e.g. ml.c6i or ml.m5 (CPU) or ml.g5 (GPU) (got 'ml.p6e-gb200.36xlarge')",
        ),
    ],
)
def test_families_the_dlc_cannot_run_are_refused(instance_type: str, message: str) -> None:
    assert DLC.instance_type_problems("instance_type", instance_type) == [
        f"instance_type: {message}"
    ]


@pytest.mark.parametrize(
    "instance_type", ["ml.g5.xlarge", "ml.p5en.48xlarge", "ml.m5.xlarge", "ml.c5d.xlarge"]
)
def test_x86_gpu_and_cpu_families_run_the_dlc(instance_type: str) -> None:
    assert DLC.instance_type_problems("instance_type", instance_type) == []


def test_an_older_dlc_refuses_what_its_cuda_cannot_drive() -> None:
    old = DlcVersion(transformers="4.37.0", pytorch="2.1.0")
    assert old.cuda == (11, 8)
    (problem,) = old.instance_type_problems("instance_type", "ml.g7e.2xlarge")
    assert "needs CUDA 12.8 or later" in problem and "built for CUDA 11.8" in problem


def test_graviton_runs_once_the_catalog_has_an_arm64_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patched = copy.deepcopy(dlc_catalog.catalog())
    patched["versions"][DLC.key]["architectures"] = ["x86_64", "arm64"]
    monkeypatch.setattr(dlc_catalog, "catalog", lambda: patched)
    assert DLC.instance_type_problems("instance_type", "ml.c6gd.xlarge") == []


# --- what the constructs make of it --------------------------------------------------------------

TYPES = {"P5en": "ml.p5en.48xlarge", "C5d": "ml.c5d.xlarge", "M5": "ml.m5.xlarge"}


@pytest.fixture(scope="module")
def templates(code_dir: Path) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    app = construct_app()
    stacks = {}
    for name, instance_type in TYPES.items():
        stacks[instance_type] = stack = cdk.Stack(app, name)
        endpoint_in(stack, code_dir, instance_type=instance_type)
    # Every stack is built before the first one is synthesized.
    return {instance_type: Template.from_stack(stack) for instance_type, stack in stacks.items()}


@pytest.mark.parametrize(
    ("instance_type", "device", "volume_key"),
    [
        ("ml.p5en.48xlarge", "gpu", False),
        ("ml.c5d.xlarge", "cpu", False),
        ("ml.m5.xlarge", "cpu", True),
    ],
)
def test_image_and_volume_key_follow_the_family(
    templates: dict[str, Any], instance_type: str, device: str, volume_key: bool
) -> None:
    template = templates[instance_type]
    _, model = only(template, "AWS::SageMaker::Model")
    image = model["Properties"]["PrimaryContainer"]["Image"]["Fn::Join"][1][-1]
    assert f"-transformers4.51.3-{device}-py312-" in image
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    assert ("KmsKeyId" in config["Properties"]) is volume_key


@pytest.mark.parametrize("instance_type", ["ml.foo.bar", "ml.c6gd.xlarge"])
def test_the_constructs_refuse_what_the_table_refuses(code_dir: Path, instance_type: str) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(construct_app(), "Refused")
    with pytest.raises(ConfigurationError) as raised:
        endpoint_in(stack, code_dir, instance_type=instance_type)
    assert raised.value.subject == "HuggingFaceModel"
    (problem,) = raised.value.problems
    assert problem.startswith("instance_type: ") and problem.endswith(f"(got {instance_type!r})")


def test_an_endpoint_embeds_no_result_in_notifications_by_default(
    templates: dict[str, Any],
) -> None:
    _, config = only(templates["ml.m5.xlarge"], "AWS::SageMaker::EndpointConfig")
    notification = config["Properties"]["AsyncInferenceConfig"]["OutputConfig"][
        "NotificationConfig"
    ]
    assert "IncludeInferenceResponseIn" not in notification
