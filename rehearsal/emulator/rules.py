"""A template's ``Rules``, checked before CloudFormation creates or updates anything.

moto ignores the section; CloudFormation evaluates each rule against the stack's parameter
values and pseudo parameters, and refuses the operation with the assertion's description when
one fails (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).
Our templates carry CDK's ``CheckBootstrapVersion`` and the ``HuggingFaceDlcRegion`` rule; a
rule function this module does not know fails the deployment instead of passing unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.cloudformation.exceptions import ValidationError


class RuleNotEmulated(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message)


def check(template: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Raise CloudFormation's ValidationError for the first failed assertion.

    ``values`` holds the pseudo parameters (``AWS::Region``...) and each parameter's resolved
    value.
    """
    for name, rule in (template.get("Rules") or {}).items():
        condition = rule.get("RuleCondition")
        if condition is not None and not _truth(_evaluate(condition, values, name), name):
            continue
        for assertion in rule.get("Assertions") or []:
            if not _truth(_evaluate(assertion["Assert"], values, name), name):
                raise ValidationError(
                    message=assertion.get("AssertDescription")
                    or f"Template rule {name} failed: an assertion does not hold"
                )


def _truth(value: Any, rule: str) -> bool:
    if not isinstance(value, bool):
        raise RuleNotEmulated(f"Template rule {rule}: an assertion gave {value!r}, not a boolean")
    return value


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return str(value)


def _evaluate(node: Any, values: Mapping[str, Any], rule: str) -> Any:
    if isinstance(node, list):
        return [_evaluate(item, values, rule) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        raise RuleNotEmulated(f"Template rule {rule}: cannot read {node!r}")
    ((function, argument),) = node.items()
    if function == "Ref":
        if argument not in values:
            raise ValidationError(message=f"Template rule {rule}: unknown reference {argument}")
        return values[argument]
    arguments = _evaluate(argument, values, rule)
    if function == "Fn::Not":
        (operand,) = arguments
        return not _truth(operand, rule)
    if function == "Fn::And":
        return all(_truth(operand, rule) for operand in arguments)
    if function == "Fn::Or":
        return any(_truth(operand, rule) for operand in arguments)
    if function == "Fn::Equals":
        left, right = arguments
        return bool(_as_text(left) == _as_text(right))
    if function == "Fn::Contains":
        candidates, value = arguments
        return _as_text(value) in _as_text(candidates)
    if function == "Fn::EachMemberEquals":
        members, value = arguments
        return all(member == _as_text(value) for member in _as_text(members))
    if function == "Fn::EachMemberIn":
        members, allowed = arguments
        return all(member in _as_text(allowed) for member in _as_text(members))
    raise RuleNotEmulated(
        f"Template rule {rule}: {function} is not emulated (add it to rehearsal/emulator/rules.py)"
    )
