"""The DLC image URI the stack resolves, per region, equals the SageMaker SDK catalog's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.dlc_image import DlcVersion, catalog, is_gpu_instance, supported_versions
from tests.conftest import only

REGIONS = [
    "us-east-1",
    "eu-west-1",
    "af-south-1",
    "ap-northeast-3",
    "il-central-1",
    "ca-west-1",
    "cn-north-1",
    "us-gov-west-1",
]


def evaluate(node: Any, region: str, mappings: dict[str, Any]) -> str:
    """Evaluate the few intrinsics an image URI uses, as CloudFormation would in ``region``."""
    if isinstance(node, str):
        return node
    ((function, args),) = node.items()
    if function == "Fn::Join":
        separator, parts = args
        return str(separator).join(evaluate(part, region, mappings) for part in parts)
    if function == "Ref":
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return {"AWS::Region": region, "AWS::URLSuffix": suffix}[args]
    if function == "Fn::FindInMap":
        name, key, attribute = (evaluate(a, region, mappings) for a in args)
        return str(mappings[name][key][attribute])
    raise AssertionError(f"unexpected intrinsic {function}")


@pytest.fixture(scope="module")
def image_and_mappings(dev: Any) -> tuple[Any, dict[str, Any]]:
    _, model = only(dev, "AWS::SageMaker::Model")
    return model["Properties"]["PrimaryContainer"]["Image"], dev.to_json()["Mappings"]


@pytest.mark.parametrize("region", REGIONS)
def test_stack_image_uri_matches_the_sdk_catalog(
    region: str, image_and_mappings: tuple[Any, dict[str, Any]]
) -> None:
    from sagemaker.core import image_uris

    image, mappings = image_and_mappings
    expected = image_uris.retrieve(
        framework="huggingface",
        region=region,
        version="4.51.3",
        base_framework_version="pytorch2.6.0",
        py_version="py312",
        instance_type="ml.g5.xlarge",
        image_scope="inference",
    )
    assert evaluate(image, region, mappings) == expected


@pytest.mark.parametrize("key", supported_versions())
@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.m5.xlarge"])
def test_every_supported_version_matches_the_sdk_catalog(key: str, instance_type: str) -> None:
    from sagemaker.core import image_uris

    transformers, pytorch = key.split("/")
    entry = catalog()["versions"][key]
    version = DlcVersion(transformers=transformers, pytorch=pytorch)
    expected = image_uris.retrieve(
        framework="huggingface",
        region="us-east-1",
        version=transformers,
        base_framework_version=f"pytorch{pytorch}",
        py_version=entry["python"],
        instance_type=instance_type,
        image_scope="inference",
    )
    assert expected.endswith(
        f"/{version.repository}:{version.tag(gpu=is_gpu_instance(instance_type))}"
    )


def test_committed_registry_table_is_the_sdk_catalog() -> None:
    from sagemaker.core import image_uris

    sdk = image_uris.config_for_framework("huggingface")["inference"]["versions"]
    for key, entry in catalog()["versions"].items():
        transformers, pytorch = key.split("/")
        assert sdk[transformers][f"pytorch{pytorch}"]["registries"] == catalog()["registries"]
        assert sdk[transformers][f"pytorch{pytorch}"]["container_version"] == {
            "gpu": entry["gpu_suffix"],
            "cpu": entry["cpu_suffix"],
        }


def test_environment_agnostic_stack_maps_every_catalog_region(dev: Any) -> None:
    mappings = dev.to_json()["Mappings"]
    (table,) = [m for m in mappings.values() if "af-south-1" in m]
    assert {region: row["account"] for region, row in table.items()} == catalog()["registries"]
    _, model = only(dev, "AWS::SageMaker::Model")
    # No account is hard-coded into the image: it comes from the mapping by AWS::Region.
    assert "763104351884" not in json.dumps(model["Properties"]["PrimaryContainer"]["Image"])


def check_rules(rules: dict[str, Any], region: str) -> str | None:
    """What CloudFormation says when it checks ``rules`` in ``region``: the first failed
    assertion's description, or None when every assertion holds."""

    def truth(node: Any) -> Any:
        if isinstance(node, str | bool):
            return node
        if isinstance(node, list):
            return [truth(item) for item in node]
        ((function, args),) = node.items()
        if function == "Ref":
            assert args == "AWS::Region", args
            return region
        values = truth(args)
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Contains":
            return values[1] in values[0]
        raise AssertionError(f"unexpected rule function {function}")

    for rule in rules.values():
        if "RuleCondition" in rule and not truth(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not truth(assertion["Assert"]):
                return str(assertion["AssertDescription"])
    return None


def dlc_rules(template: Any) -> dict[str, Any]:
    rules: dict[str, Any] = template.to_json()["Rules"]
    # CDK's own bootstrap check reads a parameter, not the region: not ours to evaluate.
    return {name: rule for name, rule in rules.items() if name != "CheckBootstrapVersion"}


def test_an_agnostic_stack_refuses_a_region_without_registry_before_creating_anything(
    dev: Any,
) -> None:
    from constructs_lib.dlc_catalog import regions_without_registry

    rules = dlc_rules(dev)
    supported = sorted(catalog()["registries"])
    listed = f"Deploy to one of the regions with one: {', '.join(supported)}."
    for region in supported:
        assert check_rules(rules, region) is None, region
    assert regions_without_registry()  # the SDK's SageMaker regions without this image
    for region in regions_without_registry():
        assert check_rules(rules, region) == (
            f"Region {region} has no Hugging Face inference DLC registry in the image catalog, "
            f"so this stack cannot pull its model image there. {listed}"
        )
    # A region newer than the committed catalog: not nameable, but still refused clearly.
    assert check_rules(rules, "xx-newest-1") == (
        "This stack's region has no Hugging Face inference DLC registry in the image catalog "
        "committed with it (constructs_lib/huggingface_dlc.json; scripts/refresh_dlc_catalog.py "
        f"updates it). {listed}"
    )


def test_the_committed_catalog_is_what_the_refresh_script_writes_today() -> None:
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "refresh_dlc_catalog", ROOT / "scripts" / "refresh_dlc_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = script.build_table()
    committed = catalog()
    # Named first, so a region the SDK gained reads as such, not as a wall of JSON.
    assert sorted(set(fresh["registries"]) - set(committed["registries"])) == []
    assert (
        sorted(set(script.sagemaker_image_regions()) - set(committed["registries"]))
        == (committed["regions_without_registry"])
    )
    assert script.render(fresh) == (ROOT / "constructs_lib" / "huggingface_dlc.json").read_text()


def test_cpu_instance_gets_the_cpu_image() -> None:
    version = DlcVersion(transformers="4.51.3", pytorch="2.6.0")
    assert version.tag(gpu=False) == "2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
    assert version.tag(gpu=True) == "2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04"
    assert is_gpu_instance("ml.g5.xlarge") and is_gpu_instance("ml.p4d.24xlarge")
    assert not is_gpu_instance("ml.m5.xlarge") and not is_gpu_instance("ml.c6i.2xlarge")


@pytest.mark.parametrize("region", ["xx-fake-1", "ap-southeast-5"])
def test_a_stack_in_a_region_without_registry_gets_a_configuration_error(
    region: str, code_dir: Any
) -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from tests.conftest import construct_app, endpoint_in

    stack = cdk.Stack(construct_app(), "Unlisted", env=cdk.Environment(region=region))
    with pytest.raises(ConfigurationError) as raised:
        endpoint_in(stack, code_dir)
    assert raised.value.subject == "Hugging Face DLC image"
    (problem,) = raised.value.problems
    assert problem == (
        f"region: {region!r} has no Hugging Face inference DLC registry in the image catalog "
        f"(regions with one: {', '.join(sorted(catalog()['registries']))})"
    )


def test_cuda_version_is_read_from_the_gpu_tag() -> None:
    assert {
        key: DlcVersion(**dict(zip(("transformers", "pytorch"), key.split("/"), strict=True))).cuda
        for key in supported_versions()
    } == {
        "4.37.0/2.1.0": (11, 8),
        "4.48.0/2.3.0": (12, 1),
        "4.49.0/2.6.0": (12, 4),
        "4.51.3/2.6.0": (12, 4),
    }
