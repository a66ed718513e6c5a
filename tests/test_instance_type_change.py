"""Changing the instance type of a scaled endpoint: CloudFormation's plan, read from two templates.

SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered with
Application Auto Scaling, or removes such a variant ("Update endpoints that use auto scaling",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html), and CloudFormation
only deletes a replaced scalable target in its clean-up phase, after the update. So the change
must *replace* the endpoint (a new one, with a scalable target registered on it afresh) rather
than update it in place. These tests compute what CloudFormation would replace from the
resource types' create-only properties (the schemas cfn-lint ships) and check exactly that,
for the async endpoint of the app and for the real-time hosting option.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cdk_json_context, synthesize

BEFORE, AFTER = "ml.g5.xlarge", "ml.g5.2xlarge"
STATEFUL = (
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
)
ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def create_only(resource_type: str) -> list[str]:
    """The properties whose change makes CloudFormation replace a resource of this type."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return [p.removeprefix("/properties/") for p in schema.get("createOnlyProperties", [])]


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` reads with Ref or Fn::GetAtt (pseudo parameters excluded)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def plan(before: dict[str, Any], after: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(replaced, updated in place): what an update from ``before`` to ``after`` does.

    A resource is replaced when one of its create-only properties changes, or reads a resource
    that is replaced (its new name or id changes the value). Updated in place: any other
    property change.
    """
    replaced: set[str] = set()
    while True:
        grew = False
        for logical_id, resource in after.items():
            if logical_id in replaced:
                continue
            old = before[logical_id].get("Properties", {})
            new = resource.get("Properties", {})
            for name in create_only(resource["Type"]):
                if old.get(name) != new.get(name) or references(new.get(name)) & replaced:
                    replaced.add(logical_id)
                    grew = True
                    break
        if not grew:
            break
    updated = {
        logical_id
        for logical_id, resource in after.items()
        if logical_id not in replaced
        and resource.get("Properties") != before[logical_id].get("Properties")
    }
    return replaced, updated


def of_type(resources: dict[str, Any], resource_type: str) -> set[str]:
    return {lid for lid, r in resources.items() if r["Type"] == resource_type}


# --- the app's async endpoint -----------------------------------------------------------------


@pytest.fixture(scope="module")
def async_templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    found = []
    for instance_type in (BEFORE, AFTER):
        context = cdk_json_context()
        context["summarizer.environment"] = "prod"
        context["summarizer.instance_type"] = instance_type
        assembly = synthesize(context, tmp_path_factory.mktemp("instance-type"))
        found.append(assembly.get_stack_by_name("PegasusSummarizer-prod").template["Resources"])
    return found[0], found[1]


def test_a_new_instance_type_replaces_the_endpoint_and_registers_scaling_on_the_new_one(
    async_templates: tuple[Any, Any],
) -> None:
    before, after = async_templates
    # Nothing is added or removed: every logical id stays (stable identities).
    assert set(before) == set(after)
    replaced, _ = plan(before, after)
    (endpoint,) = of_type(after, "AWS::SageMaker::Endpoint")
    (target,) = of_type(after, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = of_type(after, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policies
    # Not UpdateEndpoint on a registered variant (refused): a new endpoint, and the scalable
    # target and its policies registered on it; the old ones go in the clean-up phase.
    assert endpoint in replaced
    assert of_type(after, "AWS::SageMaker::EndpointConfig") <= replaced
    assert {target, *policies} <= replaced
    # The target follows the endpoint's name (GetAtt), so it cannot be registered before it.
    assert endpoint in references(after[target]["Properties"]["ResourceId"])
    # Data and keys stay.
    stateful = {lid for kind in STATEFUL for lid in of_type(after, kind)}
    assert stateful
    assert not stateful & replaced
    # Only the endpoint's name told it apart, and the name says the instance type.
    old_name = before[endpoint]["Properties"]["EndpointName"]
    new_name = after[endpoint]["Properties"]["EndpointName"]
    assert old_name.endswith("-g5-xlarge")
    assert new_name.endswith("-g5-2xlarge")
    assert old_name.removesuffix("g5-xlarge") == new_name.removesuffix("g5-2xlarge")
    assert ENDPOINT_NAME.match(new_name)
    # The variant keeps its name: metrics, dashboards and alarms keep their dimensions.
    (config,) = of_type(after, "AWS::SageMaker::EndpointConfig")
    variants = after[config]["Properties"]["ProductionVariants"]
    assert [(v["VariantName"], v["InstanceType"]) for v in variants] == [("AllTraffic", AFTER)]


def test_every_reference_reads_the_endpoint_name_so_it_follows_the_replacement(dev: Any) -> None:
    resources = dev.to_json()["Resources"]
    (endpoint,) = of_type(resources, "AWS::SageMaker::Endpoint")
    name = resources[endpoint]["Properties"]["EndpointName"]
    # The endpoint's deployment rollback alarms: the endpoint lists them, so they must read the
    # name as a literal (a GetAtt would be a cycle). On a replacement they watch the new name
    # before the new endpoint exists, which costs nothing: the old one is not being deployed.
    rollback = {
        alarm["AlarmName"]["Ref"]
        for alarm in resources[endpoint]["Properties"]["DeploymentConfig"][
            "AutoRollbackConfiguration"
        ]["Alarms"]
    }
    literal = [
        logical_id
        for logical_id, resource in resources.items()
        if logical_id != endpoint and json.dumps(name) in json.dumps(resource)
    ]
    assert literal and set(literal) <= rollback
    # Everything else reads it with GetAtt, so CloudFormation updates it after the new endpoint
    # exists.
    others = {k: v for k, v in resources.items() if k != endpoint and k not in rollback}
    assert json.dumps(name) not in json.dumps(others)


def test_the_endpoint_name_fits_sagemaker_for_the_longest_instance_types() -> None:
    import aws_cdk as cdk

    from constructs_lib.endpoint.construct import instance_endpoint_name
    from constructs_lib.model.instance_types import INSTANCE_TYPE

    stack = cdk.Stack(cdk.App(), "A-stack-name-as-long-as-CloudFormation-allows-" + "x" * 80)
    construct = cdk.CfnResource(stack, "Endpoint" * 8, type="Custom::Endpoint")
    for instance_type in ("ml.p5en.48xlarge", "ml.c5d.18xlarge", "ml.g6e.48xlarge"):
        assert INSTANCE_TYPE.match(instance_type)
        name = instance_endpoint_name(construct, instance_type)
        assert name is not None
        assert ENDPOINT_NAME.match(name), name
        assert name.endswith("-" + instance_type.removeprefix("ml.").replace(".", "-"))
    # An instance type only known at deploy time cannot be in the name: CloudFormation names it.
    assert instance_endpoint_name(construct, cdk.Aws.NO_VALUE) is None


# --- the real-time hosting option ---------------------------------------------------------------


def realtime_resources(outdir: Path, code_dir: Path, instance_type: str, *, guarded: bool) -> Any:
    import aws_cdk as cdk

    from constructs_lib import DlcVersion, HuggingFaceModel, ModelSource
    from constructs_lib.hosting import (
        BlueGreenDeployment,
        RealtimeEndpoint,
        RealtimeScaling,
        RealtimeScalingSettings,
    )

    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    stack = cdk.Stack(app, "Realtime")
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type=instance_type,
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    endpoint = RealtimeEndpoint(
        stack,
        "Endpoint",
        model=model,
        instance_type=instance_type,
        deployment=BlueGreenDeployment() if guarded else None,
    )
    RealtimeScaling(
        stack,
        "Scaling",
        endpoint=endpoint,
        settings=RealtimeScalingSettings(
            min_capacity=1, max_capacity=4, invocations_per_instance_target=100
        ),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Realtime").template
    return template["Resources"]


@pytest.mark.parametrize("guarded", [False, True], ids=["plain", "blue-green"])
def test_a_realtime_endpoint_is_replaced_too(tmp_path: Path, code_dir: Path, guarded: bool) -> None:
    before = realtime_resources(tmp_path / "before", code_dir, BEFORE, guarded=guarded)
    after = realtime_resources(tmp_path / "after", code_dir, AFTER, guarded=guarded)
    assert set(before) == set(after)
    replaced, _ = plan(before, after)
    (endpoint,) = of_type(after, "AWS::SageMaker::Endpoint")
    (target,) = of_type(after, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert {endpoint, target} <= replaced
    assert after[endpoint]["Properties"]["EndpointName"].endswith("-g5-2xlarge")
