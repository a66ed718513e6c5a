"""A template's Rules as CloudFormation checks them before it creates or updates anything."""

from __future__ import annotations

import pytest
from moto.cloudformation.exceptions import ValidationError

from rehearsal.emulator.rules import RuleNotEmulated, check

VALUES = {"AWS::Region": "us-east-1", "BootstrapVersion": "30"}


def rule(assertion: object, condition: object = None) -> dict[str, object]:
    body: dict[str, object] = {
        "Assertions": [{"Assert": assertion, "AssertDescription": "the region is not served"}]
    }
    if condition is not None:
        body["RuleCondition"] = condition
    return {"Rules": {"Region": body}}


def in_regions(*regions: str) -> dict[str, object]:
    return {"Fn::Contains": [list(regions), {"Ref": "AWS::Region"}]}


def test_a_failed_assertion_refuses_with_its_description() -> None:
    with pytest.raises(ValidationError, match="the region is not served"):
        check(rule(in_regions("eu-west-1", "us-west-2")), VALUES)


def test_a_holding_assertion_passes() -> None:
    check(rule(in_regions("eu-west-1", "us-east-1")), VALUES)


def test_cdk_bootstrap_version_check_reads_the_parameter() -> None:
    """CDK's CheckBootstrapVersion: a number parameter compared with strings."""
    old = {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]}
    check(rule(old), VALUES)
    with pytest.raises(ValidationError, match="the region is not served"):
        check(rule(old), {**VALUES, "BootstrapVersion": 5})


def test_a_false_rule_condition_skips_the_assertions() -> None:
    condition = {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    check(rule(in_regions("eu-west-1"), condition=condition), VALUES)
    with pytest.raises(ValidationError):
        check(rule(in_regions("eu-west-1"), condition={"Fn::Not": [condition]}), VALUES)


def test_and_or_not_combine() -> None:
    east = {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    west = {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-west-2"]}
    check(rule({"Fn::Or": [west, east]}), VALUES)
    check(rule({"Fn::And": [east, {"Fn::Not": [west]}]}), VALUES)
    with pytest.raises(ValidationError):
        check(rule({"Fn::And": [east, west]}), VALUES)


def test_a_rule_function_not_emulated_fails_instead_of_passing() -> None:
    with pytest.raises(RuleNotEmulated, match="Fn::ValueOf is not emulated"):
        check(rule({"Fn::ValueOf": ["Subnet", "VpcId"]}), VALUES)


def test_an_unknown_reference_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown reference Missing"):
        check(rule({"Fn::Equals": [{"Ref": "Missing"}, "x"]}), VALUES)
